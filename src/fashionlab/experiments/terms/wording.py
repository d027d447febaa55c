"""How every report words what it counts: runs and seeds, each side of a comparison, a spread, a level."""

from __future__ import annotations


def counted(number: int, noun: str) -> str:
    """ "1 run", "3 runs"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def seed_word(count: int) -> str:
    return "seed" if count == 1 else "seeds"


def listed(seeds: list) -> str:
    """ "seed 3", "seeds 1, 2, 42", "no seed"."""
    return f"{seed_word(len(seeds))} {', '.join(map(str, seeds))}" if seeds else "no seed"


def having(seeds: list[int]) -> str:
    """ "1 seed (42)", "3 seeds (1, 2, 42)", "no seed yet"."""
    return f"{counted(len(seeds), 'seed')} ({', '.join(map(str, seeds))})" if seeds else "no seed yet"


def side_label(side: dict) -> str:
    """A side as the user named it, with the commit it resolved to: `HEAD (1a2b3c4)`, `workspace`."""
    return side["revision"] if side["commit"] is None else f"{side['revision']} ({side['commit'][:7]})"


def figure(spread: dict, one_run: str | None = None) -> str:
    """`0.8890 ± 0.0021 (0.8861–0.8913)`; a single run's missing deviation written `one_run`, or left out."""
    sd = spread["sd"]
    deviation = f" ± {sd:.4f}" if sd is not None else (f" ± {one_run}" if one_run else "")
    return f"{spread['mean']:.4f}{deviation} ({spread['min']:.4f}–{spread['max']:.4f})"


def percent(level: float) -> str:
    """A level or a rate as it is: 95%, 5%, 99.73%."""
    digits = 0 if round(level * 100, 6) == round(level * 100) else 2
    return f"{level:.{digits}%}"
