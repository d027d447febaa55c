"""One dispatch by format for every command: text to read, markdown to paste, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable

FORMATS = ("text", "markdown", "json")
FORMAT_HELP = "text to read, markdown to paste into a pull request, json for scripts (default: text)"

Render = Callable[[dict], str]


def joined(lines: list[str]) -> str:
    """A report's lines as the text it prints: each line ended."""
    return "\n".join(lines) + "\n"


def rendered(result: dict, form: str, text: Render, markdown: Render) -> str:
    """The result in `form`: JSON prints the data as it is, the same numbers the other two show."""
    if form == "json":
        return json.dumps(result, indent=2) + "\n"
    return (text if form == "text" else markdown)(result)
