"""The `parity` stage: the custom layers measured against Keras's own; no files when parity is lost."""

from __future__ import annotations

import argparse
from pathlib import Path

from fashionlab.common.backend import notices_filtered
from fashionlab.common.errors import ParityError
from fashionlab.common.outputs import json_bytes
from fashionlab.common.params import Params
from fashionlab.model.parity import headline, parity_failures, run_parity
from fashionlab.pipeline import layout

# The cases' seed: fixed, since parity measures the code, not a run. A new `seed` does not rerun the stage, and a
# group of seeds measures parity once; 42 keeps the cases the default run always had.
CASES_SEED = 42


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", default=layout.PARITY_METRICS, help="pass/fail and the worst deviations")
    parser.add_argument("--details", default=layout.PARITY_DETAILS, help="every case, every quantity")


def parity(args: argparse.Namespace, params: Params) -> tuple[dict[Path, bytes], dict]:
    """The report's files and the report; `ParityError` naming every failed check instead of files."""
    with notices_filtered():  # the half-precision cases make oneDNN log a notice as an ERROR
        report = run_parity(params.model.epsilon, CASES_SEED)
    failures = parity_failures(report, params.parity.tolerance, params.parity.half_tolerance)
    if failures:
        raise ParityError(f"parity lost in {len(failures)} check(s): " + "; ".join(failures))
    summary = headline(report, params.parity.tolerance, params.parity.half_tolerance)
    return {Path(args.details): json_bytes(report), Path(args.metrics): json_bytes(summary)}, report
