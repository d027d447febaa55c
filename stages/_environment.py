"""Imported first by every stage: one line instead of a traceback when `python` lacks the project's packages,
and from then on when the stage is interrupted (SIGINT, SIGTERM), even while it imports TensorFlow; and the
numerics its params file names (`numerics`), which must be chosen before TensorFlow loads (common/numerics.py).

DVC runs each stage's `python` from PATH, which is the system's interpreter unless `.venv` is activated.
"""

import importlib.util
import sys
from pathlib import Path

REQUIRED = ("fashionlab", "tensorflow", "keras", "yaml", "pandas", "numpy")

missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
if missing:
    print(
        f"{Path(sys.argv[0]).name}: error: {sys.executable} cannot import {', '.join(missing)}: "
        "activate the project's environment first (source .venv/bin/activate; `make repro` creates it)",
        file=sys.stderr,
    )
    sys.exit(2)

import argparse  # noqa: E402

from fashionlab.common import interrupts, numerics  # noqa: E402 - only once the package is known to be there

interrupts.install()
_options = argparse.ArgumentParser(add_help=False)
_options.add_argument("--params", default="params.yaml")  # as every stage names it (common/stage_cli.py)
numerics.request(_options.parse_known_args()[0].params)
