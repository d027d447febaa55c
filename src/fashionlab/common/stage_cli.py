"""What every stage shares: named options, typed params, and errors as one line with an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from fashionlab.common.errors import FashionlabError
from fashionlab.common.interrupts import StageInterrupted
from fashionlab.common.params import Params, load_params


def stage_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
    return parser


def run_stage(main: Callable[[argparse.Namespace, Params], None], parser: argparse.ArgumentParser) -> None:
    """Parse the options, load the params, run `main`; turn a `FashionlabError` or a signal into one line on
    stderr."""
    args = parser.parse_args()
    try:
        main(args, load_params(args.params))
    except (FashionlabError, StageInterrupted) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
