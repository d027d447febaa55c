"""What a person reads: each command's result as text, as markdown, and the race's picture. Reports read result
data only; they never run git or DVC (an import-linter contract holds it)."""
