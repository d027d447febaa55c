"""DVC stage `parity`: prove the custom layers compute what Keras computes, or stop the pipeline."""

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.backend import notices_filtered
from fashionlab.common.errors import ParityError
from fashionlab.common.outputs import json_bytes, write_files
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.model.parity import headline, parity_failures, run_parity


def main(args, params):
    with notices_filtered():  # the half-precision cases make oneDNN log a notice as an ERROR
        report = run_parity(params.model.epsilon, params.seed)
    failures = parity_failures(report, params.parity.tolerance, params.parity.half_tolerance)
    if failures:
        # Nothing is written: the last passing report stays, and the exit status stops `train`.
        raise ParityError(f"parity lost in {len(failures)} check(s): " + "; ".join(failures))
    summary = headline(report, params.parity.tolerance, params.parity.half_tolerance)
    write_files({args.details: json_bytes(report), args.metrics: json_bytes(summary)})
    float32 = report["summary"]["float32"]
    print(
        f"parity holds: variance vs Keras {float32['variance_vs_keras_max_abs']:.2g}, "
        f"std vs float64 {float32['std_vs_float64_max_abs']:.2g}, "
        f"std within the derived bound (excess {float32['std_excess_over_bound']:.2g}) in float32"
    )


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--metrics", default="metrics/parity.json", help="pass/fail and the worst deviations")
    parser.add_argument("--details", default="metrics/parity_cases.json", help="every case, every quantity")
    run_stage(main, parser)
