"""Save and restore the whole training state in one file, so an interrupted run resumes bit for bit."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from fashionlab.common.errors import DataError, WriteError
from fashionlab.common.outputs import npz_bytes, read_npz
from fashionlab.training.loop import EpochRecord, Position
from fashionlab.training.steps import Trainer

STATE_FILE = "state.npz"
META = "meta"


def fingerprint(*parts: object) -> str:
    """A hash of everything a checkpoint depends on (parameters, data hashes): JSON-able parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def checkpoint_file(
    folder: Path, trainer: Trainer, position: Position, history: list[EpochRecord], key: str, complete: bool
) -> dict[Path, bytes]:
    """The whole state as one `.npz`, {path: bytes}, for `outputs.write_files` to write with other outputs."""
    meta = {
        "fingerprint": key,
        "position": {"epoch": position.epoch, "step": position.step},
        "history": [record.__dict__ for record in history],
        "complete": complete,
    }
    arrays = trainer.state()
    arrays[META] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    return {folder / STATE_FILE: npz_bytes(arrays)}


def resume_checkpoint(
    folder: Path, trainer: Trainer, key: str, set_aside: bool = True
) -> tuple[Position, list[EpochRecord]] | None:
    """Restore `trainer` from an unfinished checkpoint made with the same `key`; None to start afresh.

    A checkpoint from other parameters or data, or one that cannot be read, is renamed aside with a
    message rather than silently reused or deleted (`set_aside=False`: left alone, for a process that
    only reads the checkpoint while another one owns it).
    """
    path = folder / STATE_FILE
    if not path.exists():
        return None
    try:
        arrays = read_npz(path)
        meta = json.loads(arrays.pop(META).tobytes())
    except (DataError, KeyError, ValueError) as err:
        if set_aside:
            _set_aside(path, f"cannot be read ({err})")
        return None
    if meta["complete"]:
        return None  # a finished run: a new run starts from scratch, so a rerun really retrains
    if meta["fingerprint"] != key:
        if set_aside:
            _set_aside(path, "was made with different training parameters or data (fingerprint mismatch)")
        return None
    trainer.restore(arrays)
    history = [EpochRecord(**record) for record in meta["history"]]
    position = Position(**meta["position"])
    print(f"resuming from {path}: epoch {position.epoch + 1}, step {position.step}", file=sys.stderr)
    return position, history


def _set_aside(path: Path, reason: str) -> None:
    aside = path.with_name(path.stem + ".stale" + path.suffix)
    try:
        path.replace(aside)
    except OSError as err:
        raise WriteError(aside, err) from None
    print(f"checkpoint {path} {reason}: moved to {aside}; training from scratch", file=sys.stderr)
