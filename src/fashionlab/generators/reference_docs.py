"""The generated parts of the reference pages, so that they cannot drift from the code they describe.

Each part sits between `<!-- NAME: generated … -->` and `<!-- end of NAME -->` in its page: the parameter
table from the declarations in `common/params.py`, the command reference from the `fashionlab` parser. `make docs`
writes them (and `params.schema.json`); `tests/test_docs.py` fails while a page differs from what this
module generates.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from fashionlab.common import params
from fashionlab.experiments import cli


def shipped_params(root: Path) -> dict:
    return params.parse_yaml((root / "params.yaml").read_text(encoding="utf-8"), root / "params.yaml")


def parameter_table(root: Path) -> str:
    return params.parameter_table(shipped_params(root))


def command_reference(root: Path) -> str:
    """Every `fashionlab` subcommand: its usage line, what it does, and a row per argument and option."""
    parts = []
    for name, sub in _subcommands(cli.parser()).items():
        usage = " ".join(sub.format_usage().split())  # argparse wraps long usage lines
        rows = ["| argument | default | meaning |", "|---|---|---|"]
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            rows.append(f"| {_flags(action)} | {_cell(_default(action))} | {_cell(_meaning(action))} |")
        parts.append(f"### `fashionlab {name}`\n\n```text\n{usage.removeprefix('usage: ')}\n```\n\n")
        parts.append(f"{sub.description}\n\n" + "\n".join(rows) + "\n\n")
    return "".join(parts).rstrip("\n") + "\n"


# page, part name, generator: what `make docs` writes and the test compares
GENERATED: list[tuple[str, str, Callable[[Path], str]]] = [
    ("docs/reference/parameters.md", "parameter table", parameter_table),
    ("docs/reference/commands.md", "command reference", command_reference),
]


def fill(text: str, name: str, content: str) -> str:
    """`text` with the part called `name` replaced by `content`; a page without the markers is an error."""
    marked = re.compile(rf"(?s)(<!-- {re.escape(name)}: generated [^\n]*-->\n).*?(<!-- end of {re.escape(name)} -->)")
    if not marked.search(text):
        raise ValueError(f"no <!-- {name}: generated … --> … <!-- end of {name} --> markers")
    return marked.sub(lambda m: m.group(1) + "\n" + content + "\n" + m.group(2), text)


def regenerated(root: Path) -> dict[Path, str]:
    """Every page with generated parts, as `make docs` would write it."""
    pages: dict[Path, str] = {}
    for page, name, generate in GENERATED:
        path = root / page
        pages[path] = fill(pages.get(path) or path.read_text(encoding="utf-8"), name, generate(root))
    return pages


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest.upper()}`"
    value = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
    if action.choices:
        value = " {" + ",".join(action.choices) + "}"
    return ", ".join(f"`{flag}{value}`" for flag in action.option_strings)


def _default(action: argparse.Action) -> str:
    """What the option's help says it defaults to, else its value; "—" for what has none."""
    said = re.search(r"\(default: ([^)]*)\)$", (action.help or "").replace("%%", "%"))
    if said:
        return said.group(1)
    if action.nargs == 0 or action.default is None:
        return "—"
    return f"`{action.default}`"


def _meaning(action: argparse.Action) -> str:
    return re.sub(r" \(default: [^)]*\)$", "", (action.help or "").replace("%%", "%"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(root: Path = Path()) -> None:  # `make docs`
    (root / params.SCHEMA_FILE).write_text(params.schema_text(shipped_params(root)), encoding="utf-8")
    for path, text in regenerated(root).items():
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
