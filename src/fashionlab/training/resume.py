"""Run the training loop so that Ctrl-C, SIGTERM or a crash costs at most the work since the last save."""

from __future__ import annotations

import contextlib
import hashlib
import signal
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionlab.common.errors import FashionlabError
from fashionlab.common.interrupts import EXIT_CODES
from fashionlab.common.outputs import Content, write_files
from fashionlab.common.params import Params
from fashionlab.training.checkpoint import checkpoint_file, fingerprint, resume_checkpoint
from fashionlab.training.display import TrainingDisplay
from fashionlab.training.loop import EpochRecord, Interrupted, Position, fit
from fashionlab.training.steps import Trainer


class TrainingInterrupted(FashionlabError):
    """Training stopped on a signal after saving a checkpoint."""

    def __init__(self, message: str, signal_name: str):
        super().__init__(message)
        self.exit_code = EXIT_CODES[signal_name]


@dataclass
class TrainingResult:
    history: list[EpochRecord]
    epoch_seconds: list[float] = field(default_factory=list)  # epochs run by this process only

    def timing(self, samples: int) -> dict:
        """Wall-clock figures: `seconds_per_epoch` is the median without the first epoch, which traces and compiles.

        `dvc metrics show` leaves lists out, so the per-epoch seconds stay here without widening its table.
        """
        steady = self.epoch_seconds[1:] or self.epoch_seconds
        median = statistics.median(steady) if steady else None
        return {
            "epoch_seconds": [round(s, 3) for s in self.epoch_seconds],
            "seconds_per_epoch": round(median, 3) if median else None,
            "samples_per_second": round(samples / median, 1) if median else None,
        }


@contextlib.contextmanager
def stop_on_signals() -> Iterator[Callable[[], str | None]]:
    """Turn SIGINT and SIGTERM into a flag the loop polls between steps, instead of an exception mid-step.

    A signal that came after the last poll (during the last validation or the final save) is raised again
    once the previous handlers are back, so it is acted on rather than lost: a stage would have ended as if
    none had come, and a group of seeds gone on to wait for its next one.
    """
    requested: list[str] = []

    def handler(signum, _frame):
        requested.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested[0] if requested else None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if requested:  # not reached when the block raised: the loop acted on it, or something else stopped it
        signal.raise_signal(signal.Signals[requested[0]])


def run_key(params: Params, *arrays: np.ndarray) -> str:
    """What a checkpoint must match to be resumed: the seed, model and train params, and the data."""
    digests = [hashlib.sha256(np.ascontiguousarray(a).data).hexdigest() for a in arrays]
    return fingerprint(params.seed, params.model.model_dump(), params.train.model_dump(), digests)


def train_resumable(
    trainer: Trainer,
    params: Params,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    checkpoint_dir: Path,
    display: TrainingDisplay,
    outputs: Callable[[TrainingResult, bool], dict[Path, Content]] | None,
    checkpoints: bool = True,
) -> TrainingResult:
    """Resume from `checkpoint_dir` when it holds this run's unfinished state, checkpoint every epoch.

    `outputs(result, finished)` gives the files to write with each checkpoint, in the same all-or-none
    write: after every epoch the live metrics (so they always agree with the checkpoint, and a second
    terminal's `dvc exp show` follows the run), and at the end all of them. It is None on the workers of
    a multi-worker cluster other than the chief: every worker reads the checkpoint and gathers the state
    to save (reading the metrics is a collective operation), but only the chief writes its outputs and
    into `checkpoint_dir`; the others write into a temporary folder that is deleted at the end.

    With `checkpoints=False` (a seed of a group, which starts afresh if interrupted), nothing is resumed
    and nothing is written but the finished checkpoint and outputs.
    """
    chief = outputs is not None
    key = run_key(params, *train, *val)
    resumed = resume_checkpoint(checkpoint_dir, trainer, key, set_aside=chief) if checkpoints else None
    start, history = resumed if resumed else (Position(), [])
    result = TrainingResult(history)
    clock = [time.perf_counter()]
    with contextlib.ExitStack() as stack:
        save_dir = checkpoint_dir if chief else Path(stack.enter_context(tempfile.TemporaryDirectory()))

        def save(position: Position, finished: bool = False, with_outputs: bool = True) -> None:
            files = checkpoint_file(save_dir, trainer, position, history, key, complete=finished)
            if chief and with_outputs:
                files.update(outputs(result, finished))
            write_files(files)

        def on_epoch_end(position: Position, record: EpochRecord) -> None:
            now = time.perf_counter()
            result.epoch_seconds.append(now - clock[0])
            display.epoch_end(record, now - clock[0])
            if checkpoints:
                save(position)
            clock[0] = time.perf_counter()  # the checkpoint's write is not the next epoch's time

        stop_requested = stack.enter_context(stop_on_signals())
        try:
            fit(
                trainer,
                train,
                val,
                epochs=params.train.epochs,
                batch_size=params.train.batch_size,
                seed=params.seed,
                start=start,
                history=history,
                on_step=display.step,
                on_epoch_end=on_epoch_end,
                stop_requested=stop_requested,
            )
        except Interrupted as stop:
            display.close()
            where = f"{stop.signal_name} at epoch {stop.position.epoch + 1}, step {stop.position.step}"
            if not checkpoints:
                raise TrainingInterrupted(where, stop.signal_name) from None
            save(stop.position, with_outputs=False)  # the live metrics already hold the finished epochs
            raise TrainingInterrupted(
                f"{where}: checkpoint saved in {checkpoint_dir}; run `dvc repro` again to resume", stop.signal_name
            ) from None
        finally:
            display.close()
        save(Position(params.train.epochs, 0), finished=True)
    return result
