"""What the training loop shows: a live line per iteration on a terminal, a line per epoch elsewhere."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from fashionlab.training.loop import EpochRecord, Position


def _format_validation(record: EpochRecord) -> str:
    if record.val_loss is None:
        return "no validation split"
    return f"val_loss {record.val_loss:.4f}, val_acc {record.val_accuracy:.4f}"


class TrainingDisplay:
    """Epoch k/N and iteration i/S with the epoch's running mean loss and accuracy, then validation.

    On a terminal the bar is redrawn at every iteration; when the output is a file or a pipe (CI, DVC's
    queue logs) each epoch prints one line instead, so logs stay readable.
    """

    def __init__(self, epochs: int, live: bool | None = None, stream: TextIO | None = None):
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.bar: tqdm | None = None

    def step(self, position: Position, steps: int, loss: float, accuracy: float) -> None:
        if not self.live:
            return
        if self.bar is None:
            self.bar = tqdm(
                total=steps,
                initial=position.step - 1,
                desc=f"epoch {position.epoch + 1}/{self.epochs}",
                unit="it",
                file=self.stream,
                mininterval=0,
                dynamic_ncols=True,
            )
        self.bar.set_postfix_str(f"loss {loss:.4f}, acc {accuracy:.4f}", refresh=False)
        self.bar.update(1)

    def epoch_end(self, record: EpochRecord, seconds: float) -> None:
        summary = f"loss {record.train_loss:.4f}, acc {record.train_accuracy:.4f}, {_format_validation(record)}"
        if self.bar is not None:
            self.bar.set_postfix_str(summary)
            self.bar.close()
            self.bar = None
        else:
            line = f"epoch {record.epoch}/{self.epochs}: {summary} ({seconds:.1f} s)"
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
