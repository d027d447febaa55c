"""The documentation cannot rot: its commands run, its generated parts are current, its links resolve.

Every `$ ` line of a `console` block in the README and in `docs/` is run, page by page, in a fresh shell
(no environment active) in a copy of a small project that `dvc repro` has run and committed, as a reader
who pastes them after `make repro` would. The README's walkthrough is the tutorial's path cut short: its
commands run, in their order, within the tutorial's. A command that cannot run there says so in its page,
with a trailing `# not run by the test suite: <reason>`, and is listed in NOT_RUN below with the same reason.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fashionlab.generators.reference_docs import regenerated
from tests.conftest import BIN, ENV, ROOT, ray_on_this_machine, requires_debian_data, run_project

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MARK = "  # not run by the test suite: "
TWO_HOSTS = (
    """TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": %d}}'"""
    " python stages/train.py"
)
# Every command a page shows but the suite cannot run, with the reason its page gives.
NOT_RUN = {
    "make repro": ".ci/run runs it in a clean clone",
    "make TF=gpu repro": "it needs an NVIDIA GPU",
    "make TF=gpu test": "it needs an NVIDIA GPU",
    "make bench": "minutes of measurement, whose figures no test may assert",
    TWO_HOSTS % 0: "it needs two hosts",
    TWO_HOSTS % 1: "it needs two hosts",
    "fashionlab compare HEAD lr2x": "it needs 41 seeds a side, 20 minutes of training",
}
# What a page's commands must print, beyond succeeding: each page's point.
EXPECTED = {
    "docs/tutorial.md": ["two configurations, each a group of seeds", "Ran experiment(s)", "metrics/eval.json"],
    "docs/how-to/add-seeds.md": ["3 runs, seeds 1, 2, 42"],
    "docs/how-to/share-experiments.md": ["2 runs, seeds 1, 42"],
    "docs/how-to/run-a-sweep.md": ["Ran experiment(s)", "Success"],  # both run when --run-all returns
    "docs/how-to/race-a-sweep.md": ["look at 3 shared seeds: 3 configurations", "verdict: "],
    "docs/how-to/train-seeds-on-a-cluster.md": [
        "training on 1 node of local",
        "seed 2: test accuracy",
        "training on 1 node of 127.0.0.1:6391",
        "seed 4: test accuracy",
    ],
    "docs/how-to/train-on-several-machines.md": ["Ran experiment(s)"],
    "docs/how-to/view-plots-offline.md": ["dvc_plots/index.html"],
    "docs/how-to/recover-from-an-interruption.md": ["Data and pipelines are up to date."],
    "docs/explanation/reproducibility.md": ["Running stage 'parity'"],
}


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


FENCED = re.compile(r"(?ms)^```([^\n]*)\n(.*?)^```$")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    return FENCED.findall(text)


def commands(page: Path) -> list[tuple[str, str | None]]:
    """Every `$ ` line of the page's console blocks, in order: (command, why it is not run, or None)."""
    found = []
    for info, body in fenced_blocks(page.read_text(encoding="utf-8")):
        for line in body.splitlines():
            if info == "console" and line.startswith("$ "):
                command, _, reason = line[2:].partition(MARK)
                found.append((command.rstrip(), reason or None))
    return found


def prose(text: str) -> str:
    """The page without its code blocks, where a `#` or a `](` means something else."""
    return FENCED.sub("", text)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of the page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"(?m)^#+ (.+)$", prose(page.read_text(encoding="utf-8")))
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def links(page: Path) -> list[tuple[Path, str, str]]:
    """(the file, the anchor or "", as written) of every link to a file of this repository; web addresses
    are left out (CI has no network)."""
    found = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page.read_text(encoding="utf-8"))):
        if not re.match(r"[a-z]+:", target):
            path, _, anchor = target.partition("#")
            found.append(((page.parent / path).resolve() if path else page, anchor, target))
    return found


def test_every_shell_command_is_in_a_console_block():
    """Commands in another kind of block would escape the runner; the README's first block is the two
    commands `.ci/run` runs on a clean clone (`test_setup.py` checks that it does)."""
    readme = ROOT / "README.md"
    first_info, first_body = fenced_blocks(readme.read_text(encoding="utf-8"))[0]
    assert first_info == "sh"
    assert [line.split("#")[0].strip() for line in first_body.splitlines()] == ["make repro", "make test"]
    for page in PAGES:
        blocks = fenced_blocks(page.read_text(encoding="utf-8"))[1 if page == readme else 0 :]
        assert {info for info, _ in blocks} <= {"console", "text", "python", "mermaid"}, name(page)
        for info, body in blocks:
            if info == "console":
                assert all(line.startswith("$ ") for line in body.splitlines()), (name(page), body)


def test_the_readme_walkthrough_runs_within_the_tutorial():
    """Each README command, in its order, is one of the tutorial's: running the tutorial runs them in the
    state the README describes. What the tutorial adds between them only reads the results or writes files
    of its own (`dvc metrics show`, `dvc plots diff`, the pictures of `compare --images`)."""
    readme = [command for command, _ in commands(ROOT / "README.md")]
    tutorial = iter(command for command, _ in commands(ROOT / "docs" / "tutorial.md"))
    assert readme and all(command in tutorial for command in readme), readme  # a subsequence, in order


def test_commands_not_run_are_marked_in_their_page_and_listed_here():
    marked = {command: reason for page in PAGES for command, reason in commands(page) if reason}
    assert marked == NOT_RUN


def test_every_link_between_pages_resolves():
    for page in PAGES:
        for resolved, anchor, target in links(page):
            assert resolved.exists(), f"{name(page)}: {target}: no such file"
            if anchor:
                assert anchor in anchors(resolved), f"{name(page)}: {target}: no such heading"


def test_every_page_is_reachable_from_the_readme():
    seen, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        seen.add(page)
        todo.extend(path for path, _, _ in links(page) if path.suffix == ".md" and path not in seen)
    assert set(PAGES) <= seen, sorted(name(p) for p in set(PAGES) - seen)


# A page names a test by its path under tests/, which may be written with `tests/` before it.
TEST_NAME = re.compile(r"(?:tests/)?((?:\w+/)*test_\w+\.py)(?:::(test_\w+))?")


def test_every_test_a_page_names_exists():
    defined = {
        path.relative_to(ROOT / "tests").as_posix(): {
            node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)
        }
        for path in (ROOT / "tests").rglob("test_*.py")
    }
    every = set().union(*defined.values())
    named = 0
    for page in PAGES:
        for file, function in TEST_NAME.findall(page.read_text(encoding="utf-8")):
            assert file in defined, f"{name(page)}: {file}"
            assert not function or function in defined[file], f"{name(page)}: {file}::{function}"
            named += 1
        for function in re.findall(r"…::(test_\w+)", page.read_text(encoding="utf-8")):
            assert function in every, f"{name(page)}: …::{function}"
    assert named > 10


def test_generated_parts_are_what_make_docs_writes():
    """Stale after a change to params.py, params.yaml or the fashionlab parser: run `make docs`."""
    for path, text in regenerated(ROOT).items():
        assert path.read_text(encoding="utf-8") == text, f"{name(path)} is stale: run `make docs`"


def test_the_command_reference_lists_every_make_target():
    targets = re.findall(r"(?m)^([a-z-]+):", (ROOT / "Makefile").read_text())
    phony = re.search(r"(?m)^\.PHONY: (.*)$", (ROOT / "Makefile").read_text()).group(1).split()
    listed = re.findall(r"(?m)^\| `make ([a-z-]+)` \|", (ROOT / "docs" / "reference" / "commands.md").read_text())
    assert sorted(listed) == sorted(targets) == sorted(phony)


def documented(column: str) -> dict[str, list[str]]:
    """{file: its keys or columns} from the tables of docs/reference/pipeline.md whose header has `column`."""
    found: dict[str, list[str]] = {}
    current = None
    for table in re.split(r"\n\n", (ROOT / "docs" / "reference" / "pipeline.md").read_text(encoding="utf-8")):
        rows = [row.split(" | ") for row in table.splitlines() if row.startswith("| ")]
        if not rows or rows[0][1].strip() != column:
            continue
        for cells in rows[1:]:  # the |---| line is not a row: it does not start with "| "
            current = cells[0].strip("| `") or current
            found.setdefault(current, []).extend(re.findall(r"`([\w.]+)`", cells[1]))
    return found


def flat_keys(value: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, inner in value.items():
        keys |= flat_keys(inner, f"{prefix}{key}.") if isinstance(inner, dict) else {prefix + key}
    return keys


def test_the_output_reference_names_every_key_and_column_of_the_committed_run():
    """docs/reference/pipeline.md against `metrics/` as committed: a renamed column fails here."""
    metrics = documented("key")
    assert set(metrics) == {f"metrics/{n}.json" for n in ("prepare", "parity", "train", "timing", "eval")}
    for file, keys in metrics.items():
        assert sorted(keys) == sorted(flat_keys(json.loads((ROOT / file).read_text()))), file
    columns = documented("column")
    assert set(columns) == {f"metrics/{n}.csv" for n in ("history", "per_class", "confusion")}
    for file, names in columns.items():
        with open(ROOT / file, newline="") as handle:
            assert names == next(csv.reader(handle)), file


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The reader's starting point: a clone where `make repro` has run, its results committed."""
    return run_project(tmp_path_factory.mktemp("docs") / "fashionlab")


@pytest.mark.slow
@requires_debian_data
@pytest.mark.parametrize(
    "page",
    [p for p in PAGES[1:] if any(not why for _, why in commands(p))],
    ids=name,  # PAGES[0]: the README
)
def test_console_commands_work_pasted_into_a_fresh_shell(page, project, tmp_path):
    """No environment active, as in a new terminal after `make repro`: each page says when to activate."""
    clone = tmp_path / "fashionlab"
    shutil.copytree(project, clone, symlinks=True)
    (clone / ".venv").symlink_to(sys.prefix)  # where `make repro` puts the environment in a clone
    fresh = {key: value for key, value in ENV.items() if key != "VIRTUAL_ENV"}
    fresh["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != BIN)
    script = "set -euo pipefail\n" + "\n".join(command for command, why in commands(page) if not why)
    starts_ray = "ray start" in script  # its token in a HOME of its own; its `ray stop` stops no other test's Ray
    home = tmp_path / "home"
    home.mkdir()
    with ray_on_this_machine() if starts_ray else contextlib.nullcontext():
        run = {**fresh, "HOME": str(home)} if starts_ray else fresh
        result = subprocess.run(["bash", "-c", script], cwd=clone, env=run, capture_output=True, text=True)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    for expected in EXPECTED[name(page)]:
        assert expected in result.stdout + result.stderr, expected
