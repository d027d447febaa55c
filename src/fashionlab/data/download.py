"""Find the dataset's four archives: a local folder, or a verified download from the official mirrors."""

from __future__ import annotations

import hashlib
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from fashionlab.common.errors import DataError
from fashionlab.common.outputs import write_files
from fashionlab.data.catalog import DatasetSpec, IdxFile
from fashionlab.data.idx import md5_of

CHUNK = 1 << 16


def locate_archives(spec: DatasetSpec, source: str, cache_dir: Path, **download_options) -> dict[str, Path]:
    """Map each file name to a local path, downloading into `cache_dir` where the source asks for it.

    `source` is "auto" (the system package's folder when present, else download), "download", or a
    folder that holds the four `.gz` files.
    """
    if source == "auto":
        if spec.system_dir is not None and spec.system_dir.is_dir():
            return _in_folder(spec, spec.system_dir)
        source = "download"
    if source == "download":
        return {f.name: fetch(spec, f, cache_dir, **download_options) for f in spec.files}
    folder = Path(source)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found (data.source: expected auto, download or a folder)")
    return _in_folder(spec, folder)


def _in_folder(spec: DatasetSpec, folder: Path) -> dict[str, Path]:
    paths = {f.name: folder / f.name for f in spec.files}
    for path in paths.values():
        if not path.is_file():
            raise DataError(f"{path}: file not found (expected the four {spec.name} IDX archives in {folder})")
    return paths


def fetch(
    spec: DatasetSpec,
    file: IdxFile,
    cache_dir: Path,
    *,
    timeout: float = 30.0,
    attempts: int = 3,
    backoff: float = 1.0,
    progress: bool | None = None,
) -> Path:
    """Return `cache_dir/<file>`, downloading it first unless a copy with the published MD5 is there.

    Each mirror is tried `attempts` times with exponential backoff. The archive is checked in memory,
    then written by `write_files`, so an interrupted download never leaves a partial archive, and a cache
    folder that is full or read-only is a `WriteError`, not a failed download tried again.
    """
    target = cache_dir / file.name
    if target.is_file() and md5_of(target) == file.gz_md5:
        return target
    failures = []
    for mirror in spec.mirrors:
        url = mirror + file.name
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            print(f"downloading {url}", file=sys.stderr)
            try:
                archive = _download(url, target.name, file.gz_md5, timeout, progress)
            except (urllib.error.URLError, OSError, _ChecksumMismatch) as err:
                failures.append(f"{url}: {_describe(err)}")
                continue
            write_files({target: archive})
            return target
    raise DataError(f"{target}: download failed from every mirror ({attempts} attempts each); last: {failures[-1]}")


class _ChecksumMismatch(Exception):
    pass


def _describe(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return str(err)


def _download(url: str, name: str, md5: str, timeout: float, progress: bool | None) -> bytes:
    digest, blocks = hashlib.md5(usedforsecurity=False), []
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        disable = (not sys.stderr.isatty()) if progress is None else not progress
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=disable) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                blocks.append(block)
                digest.update(block)
                bar.update(len(block))
    if digest.hexdigest() != md5:
        raise _ChecksumMismatch(f"MD5 mismatch: expected {md5}, got {digest.hexdigest()}")
    return b"".join(blocks)
