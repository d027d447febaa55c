"""The `train` stage: the hand-written loop on the prepared splits, resumable, and its outputs as files."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fashionlab.common import numerics
from fashionlab.common.backend import onednn_enabled, tf
from fashionlab.common.machine import describe_machine, run_record
from fashionlab.common.outputs import Content, csv_bytes, json_bytes
from fashionlab.common.params import Params
from fashionlab.model.mlp import saved_bytes
from fashionlab.pipeline import layout
from fashionlab.training.display import TrainingDisplay
from fashionlab.training.loop import summarize
from fashionlab.training.resume import TrainingResult, train_resumable
from fashionlab.training.steps import Trainer

Split = tuple[np.ndarray, np.ndarray]


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=layout.PREPARED, help="folder with train.npz and val.npz")
    parser.add_argument("--checkpoint", default=layout.CHECKPOINT, help="folder for the resumable state")
    parser.add_argument("--model", default=layout.MODEL)
    parser.add_argument("--history", default=layout.HISTORY)
    parser.add_argument("--summary", default=layout.SUMMARY)
    parser.add_argument("--timing", default=layout.TIMING, help="wall-clock figures (vary by run)")
    parser.add_argument("--machine", default=layout.MACHINE, help="the CPU and TensorFlow that trained the model")


def train(
    args: argparse.Namespace,
    params: Params,
    trainer: Trainer,
    train_split: Split,
    val_split: Split,
    display: TrainingDisplay,
    *,
    chief: bool = True,
    checkpoints: bool = True,
) -> TrainingResult:
    """Train from the checkpoint in `args.checkpoint` when it holds this run's unfinished state, writing the
    outputs of `outputs` with every checkpoint (`checkpoints=False`: only once, at the end, as a seed of a
    group does); in a cluster, only the chief writes."""

    def outputs(result: TrainingResult, finished: bool) -> dict[Path, Content]:
        # After every epoch, written with the checkpoint: history and summary so far, for a live view.
        files = {
            Path(args.history): csv_bytes([record.as_row() for record in result.history]),
            Path(args.summary): json_bytes(summarize(result.history)),
        }
        if finished:
            machine = run_record(describe_machine(), onednn_enabled(), tf.__version__, numerics.record())
            files[Path(args.model)] = saved_bytes(trainer.model)
            files[Path(args.timing)] = json_bytes(result.timing(len(train_split[1])))
            files[Path(args.machine)] = json_bytes(machine)
        return files

    return train_resumable(
        trainer,
        params,
        train_split,
        val_split,
        Path(args.checkpoint),
        display,
        outputs if chief else None,
        checkpoints=checkpoints,
    )
