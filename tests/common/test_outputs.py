"""fashionlab.common.outputs: every output written all or none, and one line when a write fails."""

import errno
import os

import pytest

from fashionlab.common import interrupts, outputs
from fashionlab.common.errors import WriteError
from fashionlab.common.outputs import write_files


def listing(folder):
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def test_write_files_replaces_files_and_whole_folders(tmp_path):
    write_files({tmp_path / "a.json": b"1", tmp_path / "pictures": {"a.png": b"1", "stale.png": b"2"}})
    write_files({tmp_path / "a.json": b"2", tmp_path / "pictures": {"a.png": b"3", "b.png": b"4"}})
    assert listing(tmp_path) == {"a.json": b"2", "pictures": None, "pictures/a.png": b"3", "pictures/b.png": b"4"}


def test_written_files_get_the_usual_permissions(tmp_path):
    write_files({tmp_path / "a.json": b"1", tmp_path / "pictures": {"a.png": b"1"}})
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "pictures").stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.parametrize("failing", [1, 2, 3], ids=["first", "second", "third"])
def test_a_failed_rename_undoes_the_earlier_ones(tmp_path, monkeypatch, failing):
    """All or none: when the n-th rename into place fails, every output is as it was, nothing is left over."""
    old = {tmp_path / "a.json": b"old a", tmp_path / "pictures": {"a.png": b"old"}, tmp_path / "c.csv": b"old c"}
    write_files(old)
    before = listing(tmp_path)
    replace, calls = os.replace, []

    def failing_replace(source, target):
        if str(source).endswith(".tmp"):  # a rename into place, not a set-aside or an undo
            calls.append(target)
            if len(calls) == failing:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    new = {tmp_path / "a.json": b"new a", tmp_path / "pictures": {"b.png": b"new"}, tmp_path / "c.csv": b"new c"}
    with pytest.raises(WriteError) as error:
        write_files(new)
    assert str(error.value) == f"{calls[-1]}: cannot write: No space left on device; no output was replaced"
    assert listing(tmp_path) == before


def test_a_failed_temporary_write_renames_nothing(tmp_path, monkeypatch):
    (tmp_path / "b.json").write_bytes(b"old")
    monkeypatch.setattr(outputs, "_stage", _fail_on("b.json", outputs._stage))
    with pytest.raises(WriteError, match=r"b\.json: cannot write: Read-only file system; no output was replaced"):
        write_files({tmp_path / "a.json": b"new", tmp_path / "b.json": b"new"})
    assert listing(tmp_path) == {"b.json": b"old"}


def _fail_on(name, stage):
    def failing(destination, content):
        if destination.name == name:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return stage(destination, content)

    return failing


def test_a_crashs_leftovers_are_removed_by_the_next_write(tmp_path):
    (tmp_path / ".eval.json.k2j3.tmp").write_bytes(b"half")
    (tmp_path / ".eval.json.k2j3.tmp.old").write_bytes(b"old")
    (tmp_path / ".mistakes.abcd.tmp").mkdir()
    (tmp_path / ".other.json.x.tmp").write_bytes(b"another output's")
    write_files({tmp_path / "eval.json": b"new", tmp_path / "mistakes": {"a.png": b"new"}})
    assert listing(tmp_path) == {
        ".other.json.x.tmp": b"another output's",
        "eval.json": b"new",
        "mistakes": None,
        "mistakes/a.png": b"new",
    }


def test_a_signal_during_the_renames_waits_for_them(tmp_path, monkeypatch):
    """SIGINT between two renames would leave a mix: it is held back, then raised with every output new."""
    replace = os.replace

    def interrupted_replace(source, target):
        replace(source, target)
        if str(target).endswith("a.json"):
            interrupts._interrupt(2, None)  # as the handler that `interrupts.install` sets would run

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(interrupts.StageInterrupted, match="interrupted by SIGINT: its outputs were written") as stop:
        write_files({tmp_path / "a.json": b"new", tmp_path / "b.json": b"new"})
    assert stop.value.exit_code == 130
    assert listing(tmp_path) == {"a.json": b"new", "b.json": b"new"}
