"""Write outputs atomically and byte-reproducibly: a crash never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from fashionlab.errors import DataError

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry timestamps, so the same arrays give the same bytes


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    The temporary name keeps the suffix of `path`, for writers that insist on one (`.keras`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_directory(path: str | Path, files: dict[str, bytes]) -> None:
    """Replace the folder `path` by exactly `files`: built beside it, then swapped in by two renames.

    A crash leaves either the old folder or the new one whole, never a mix (or, between the renames, the
    old one under a temporary name); a file of the old set that the new one lacks does not linger.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    retired = staging.with_suffix(".old")
    try:
        os.chmod(staging, 0o777 & ~_umask())
        for name, data in files.items():
            write_bytes(staging / name, data)
        if path.exists():
            os.replace(path, retired)
        try:
            os.replace(staging, path)
        except OSError:
            if retired.exists():
                os.replace(retired, path)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: str | Path, payload: object) -> None:
    """Sorted, indented JSON: stable bytes for `dvc metrics diff` and for byte-for-byte rerun checks."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_csv(path: str | Path, rows: list[dict]) -> None:
    """Rows of equal keys as CSV, floats with 6 significant digits: readable in `dvc plots`, stable bytes."""
    write_text(path, pd.DataFrame(rows).to_csv(index=False, float_format="%.6g", lineterminator="\n"))


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed `.npz` that, unlike `np.savez_compressed`, carries no wall-clock timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(entry, "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    write_bytes(path, npz_bytes(arrays))


def read_npz(path: str | Path, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Load the named arrays, or all (never pickles); a missing file or array is a one-line `DataError`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = tuple(archive.files) if names is None else names
            missing = [name for name in names if name not in archive.files]
            if missing:
                raise DataError(f"{path}: expected arrays {', '.join(names)}, got {', '.join(archive.files) or 'none'}")
            return {name: archive[name] for name in names}
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the prepare stage: dvc repro prepare)") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz archive: {err}") from None
