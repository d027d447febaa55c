import pytest

from fashionlab import outputs
from fashionlab.outputs import write_directory


def test_write_directory_replaces_the_whole_folder(tmp_path):
    folder = tmp_path / "pictures"
    write_directory(folder, {"a.png": b"1", "stale.png": b"2"})
    write_directory(folder, {"a.png": b"3", "b.png": b"4"})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"a.png": b"3", "b.png": b"4"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures"]  # no staging folder left behind


def test_write_directory_failing_midway_keeps_the_old_folder(tmp_path, monkeypatch):
    folder = tmp_path / "pictures"
    write_directory(folder, {"a.png": b"old"})
    written = []

    def failing_write(path, data):
        if written:
            raise OSError("disk full")
        written.append(path)
        path.write_bytes(data)

    monkeypatch.setattr(outputs, "write_bytes", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_directory(folder, {"a.png": b"new", "b.png": b"new"})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"a.png": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures"]
