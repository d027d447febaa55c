"""The architecture as the code has it: each stage in dvc.yaml depends on exactly the code it imports, and the
picture in docs/development.md shows every module of the package and every import between its parts.

The layers themselves (which part may import which) are import-linter's contracts in pyproject.toml, checked
by `lint-imports` in `make test`; these tests read the same import graph, built by grimp, import-linter's own.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT, read_yaml

PACKAGE = "fashionlab"
SRC = ROOT / "src"
STAGES = ROOT / "stages"


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(PACKAGE, cache_dir=None)


def module_file(module: str) -> Path:
    path = SRC.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def stage_imports(script: Path, graph) -> tuple[set[Path], set[str]]:
    """The scripts a stage runs (itself and the local modules it imports) and the package modules they import."""
    scripts, modules, todo = set(), set(), [script]
    while todo:
        path = todo.pop()
        scripts.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from fashionlab.model import layers` imports the module fashionlab.model.layers
                names = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in graph.modules]
                names = names or [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == PACKAGE:
                    modules.add(name)
                elif (STAGES / f"{name}.py").exists():
                    todo.append(STAGES / f"{name}.py")
    return scripts, modules


def code_run_by(script: Path, graph) -> set[Path]:
    """Every file of code the stage runs: its scripts, and each module imported directly or not, with the
    `__init__.py` of every package on the way (importing fashionlab.data.splits runs fashionlab/data/__init__)."""
    scripts, modules = stage_imports(script, graph)
    closure = set()
    for module in modules:
        closure |= {module} | graph.find_upstream_modules(module)
    packages = {".".join(m.split(".")[:i]) for m in closure for i in range(1, m.count(".") + 1)}
    return scripts | {module_file(m) for m in closure | packages}


def code_deps(stage: dict) -> set[Path]:
    """The code a stage lists in dvc.yaml: Python files one by one, never a folder, since `fashionlab` tells
    runs of other code apart by the hashes of the `.py` dependencies `dvc exp show` reports."""
    code = [ROOT / dep for dep in stage["deps"] if dep.startswith(("src/", "stages/"))]
    assert all(path.suffix == ".py" for path in code), "a code dependency is a .py file, not a folder"
    return set(code)


STAGE_NAMES = list(read_yaml((ROOT / "dvc.yaml").read_text())["stages"])


@pytest.mark.parametrize("name", STAGE_NAMES)
def test_a_stage_depends_on_exactly_the_code_it_imports(name, graph):
    stage = read_yaml((ROOT / "dvc.yaml").read_text())["stages"][name]
    script = ROOT / re.search(r"python (stages/\w+\.py)", stage["cmd"]).group(1)
    imported, listed = code_run_by(script, graph), code_deps(stage)

    def relative(paths):
        return sorted(str(p.relative_to(ROOT)) for p in paths)

    assert relative(imported - listed) == [], f"{name} imports these, and dvc.yaml does not list them"
    assert relative(listed - imported) == [], f"{name} lists these in dvc.yaml, and does not import them"


def diagram(which: int = 0) -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """docs/development.md's Mermaid pictures (0: the package's parts, 1: the parts of `experiments/`): a node per
    part, `part["<b>part/</b>: its job<br/>a, b, c"]` listing its modules (the stages' scripts for `stages`; a
    module that is a part of its own, `<b>cli.py</b>`, lists itself), and the arrows between parts."""
    page = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    blocks = re.findall(r"(?ms)^```mermaid\n(.*?)^```$", page)
    assert len(blocks) == 2, "two pictures: the package's parts, and the parts of experiments/"
    parts, arrows = {}, set()
    for line in blocks[which].splitlines()[1:]:
        if found := re.fullmatch(r'\s*(\w+)\["<b>(\w+)(?:/|\.py)</b>: [^"<]+<br/>([^"]+)"\]', line):
            part, folder, modules = found.groups()
            assert part == folder, f"{line}: the node of a part is named after its folder"
            parts[part] = set(modules.split(", "))
        elif found := re.fullmatch(r"\s*(\w+) --> (\w+)", line):
            arrows.add(found.groups())
        else:
            raise AssertionError(f"{line}: neither a part nor an arrow")
    return parts, arrows


def parts_of(folder: Path) -> dict[str, set[str]]:
    """Each part of `folder` (a subfolder, or a module of its own) and what it holds: its modules, and the
    folders of its own parts, by name."""
    parts = {}
    for path in folder.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            parts[path.name] = {p.stem for p in path.glob("*.py") if p.name != "__init__.py"}
            parts[path.name] |= {p.name for p in path.iterdir() if (p / "__init__.py").exists()}
            assert not any(path.glob("*/*/__init__.py")), f"{path}: parts within parts go one level deep"
        elif path.suffix == ".py" and path.name != "__init__.py":
            assert folder != SRC / PACKAGE, f"{path.relative_to(ROOT)}: every module is in the folder of its part"
            parts[path.stem] = {path.stem}
    return parts


def test_the_picture_shows_every_module_in_its_part():
    drawn, _ = diagram()
    modules = parts_of(SRC / PACKAGE)
    modules["stages"] = {script.name for script in STAGES.glob("[!_]*.py")}
    assert drawn == modules


def test_the_picture_of_experiments_shows_every_module_in_its_part():
    drawn, _ = diagram(1)
    assert drawn == parts_of(SRC / PACKAGE / "experiments")


def test_the_pictures_arrows_are_the_imports_between_parts_of_experiments(graph):
    _, drawn = diagram(1)
    imports = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = module.split(".")[1:3], imported.split(".")[1:3]
            if source[:1] == target[:1] == ["experiments"] and len(source) == len(target) == 2 and source != target:
                imports.add((source[1], target[1]))
    assert drawn == imports


def test_the_pictures_arrows_are_the_imports_between_parts(graph):
    _, drawn = diagram()
    imports = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = module.split(".")[1:2], imported.split(".")[1:2]
            if source and target and source != target:
                imports.add((source[0], target[0]))
    for script in STAGES.glob("[!_]*.py"):
        _, modules = stage_imports(script, graph)
        imports |= {("stages", module.split(".")[1]) for module in modules}
    assert drawn == imports
