"""DVC stage `parity`: prove the custom layers compute what Keras computes, or stop the pipeline."""

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.outputs import write_files
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.pipeline import parity


def main(args, params):
    # On a failure nothing is written: the last passing report stays, and the exit status stops `train`.
    files, report = parity.parity(args, params)
    write_files(files)
    float32 = report["summary"]["float32"]
    print(
        f"parity holds: variance vs Keras {float32['variance_vs_keras_max_abs']:.2g}, "
        f"std vs float64 {float32['std_vs_float64_max_abs']:.2g}, "
        f"std within the derived bound (excess {float32['std_excess_over_bound']:.2g}) in float32"
    )


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parity.add_options(parser)
    run_stage(main, parser)
