"""Run every example in docs/notes.md, so an answer that goes stale with a new release fails CI."""

import re
import runpy
from pathlib import Path

import pytest

NOTES = Path(__file__).resolve().parents[1] / "docs" / "notes.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _sections() -> dict[str, str]:
    text = NOTES.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {"preamble": parts[0], **{part.split(".", 1)[0]: part for part in parts[1:]}}


SECTIONS = _sections()


def test_nine_questions_each_with_an_example():
    questions = [name for name in SECTIONS if name != "preamble"]
    assert questions == [str(n) for n in range(1, 10)]
    assert all(BLOCK.search(SECTIONS[name]) for name in questions)


@pytest.mark.parametrize("question", [str(n) for n in range(1, 10)])
def test_examples_run(question, tmp_path):
    # A real file, not exec(): AutoGraph reads a function's source to convert its loops.
    script = tmp_path / f"notes_question_{question}.py"
    script.write_text("\n".join(BLOCK.findall(SECTIONS["preamble"]) + BLOCK.findall(SECTIONS[question])))
    runpy.run_path(str(script))


def test_links_point_to_existing_files():
    for target in re.findall(r"\]\((\.\./[^)]+)\)", NOTES.read_text(encoding="utf-8")):
        assert (NOTES.parent / target).resolve().is_file(), target
