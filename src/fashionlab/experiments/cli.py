"""The `fashionlab` command: is B really better than A, or is it noise?

fashionlab compare [A] [B]   two configurations by their groups of seeds, and the two named trained models
fashionlab decide [A] [B]    add seeds to both sides in rounds until the paired comparison is decided
fashionlab seeds N [REV]     give a configuration N seeds: train, together, only the seeds its group lacks
fashionlab replicates        runs of the same code that differ only in seed, grouped: the spread one run hides
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fashionlab.common.errors import FashionlabError, RevisionError
from fashionlab.common.interrupts import EXIT_CODES
from fashionlab.experiments import comparison, replicates, sequential
from fashionlab.experiments.predictions import (
    Predictions,
    check_same_test_set,
    load_predictions,
    load_seed_group,
    project_root,
)
from fashionlab.experiments.workspace import check_current

FORMATS = ("text", "markdown", "json")
FORMAT_HELP = "text to read, markdown to paste into a pull request, json for scripts (default: text)"


def parser() -> argparse.ArgumentParser:
    main = _Parser(prog="fashionlab", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True, parser_class=_Parser)
    compare = commands.add_parser(
        "compare",
        help="compare two configurations (groups of seeds) and two trained models",
        description="Compare two revisions (commits, branches, tags or DVC experiment names). Where each has "
        "two seeds or more (runs of the same code whose parameters differ only in seed), as configurations, paired "
        "by seed where both ran the same seed numbers: each group's seeds and spread, whether its runs come from "
        "more than one machine, the difference of mean test accuracy with an interval from a bootstrap of seeds "
        "(or seed pairs) and test images together, P(B > A), how much of the spread is the test set, the seeds "
        "per side a difference of --delta needs, and a verdict: better or worse (the interval excludes 0), "
        "slightly better or slightly worse (it excludes 0 but lies within ±--rope), equivalent (it holds 0 and "
        "lies within ±--rope) or undecided. Always, the two named trained models image by image: McNemar's "
        "exact test, the images fixed and broken, recall per class. Nothing is retrained or checked out. The "
        "workspace, as B, must be up to date (`dvc status`): results its params.yaml or code would not produce "
        "are refused.",
    )
    _two_revisions(compare)
    compare.add_argument(
        "--delta",
        type=_share(strictly_positive=True),
        default=comparison.DELTA,
        help=f"the difference to size the seeds for, at 80%% power (default: {comparison.DELTA})",
    )
    compare.add_argument(
        "--images",
        metavar="DIR",
        type=Path,
        help="also draw the test images B fixed and broke, per true class, into DIR (fixed-CLASS.png, "
        "broken-CLASS.png; linked from --format markdown); needs the workspace's data/prepared/test.npz",
    )
    decide = commands.add_parser(
        "decide",
        help="add seeds to both sides until the comparison is decided",
        description="Give A and B the same new seed numbers in rounds, trained together as `fashionlab seeds` "
        "does, and look at the paired comparison at planned numbers of shared seeds (3, 5, 8, 12, 16, 20, …), "
        "each look's interval at the level a group-sequential design allows, so that the looks together keep "
        "the false-alarm rate at 5%. Stops at the first look that decides (better, slightly better, "
        "equivalent, slightly worse, worse), or at --max-seeds, undecided. A and B must be HEAD, one of its "
        "experiments or the workspace, of the workspace's code; as B, the workspace must be up to date. Ctrl-C "
        "keeps every finished seed; running it again goes on where it stopped.",
    )
    _two_revisions(decide)
    decide.add_argument(
        "--max-seeds",
        type=_integer(2),
        default=sequential.MAX_SEEDS,
        help=f"the most shared seeds a side may get before the answer is undecided (default: {sequential.MAX_SEEDS})",
    )
    seeds = commands.add_parser(
        "seeds",
        help="give a configuration N seeds",
        description="Train the seeds REV's group lacks to have N (seeds 1, 2, … not yet taken), with REV's "
        "parameters, together in one process, and report each as it ends; each becomes a DVC experiment of HEAD, "
        "as `dvc exp run -S seed=…` would make it. Seeds already finished count: running it twice trains nothing "
        "twice, and Ctrl-C keeps every seed that finished. REV is the workspace (default), HEAD or one of its "
        "experiments, and the workspace's code must be REV's; as REV, the workspace must be up to date "
        "(`dvc status`).",
    )
    seeds.add_argument(
        "count", metavar="N", type=_integer(2), help="how many seeds the configuration should have (2 or more)"
    )
    seeds.add_argument("rev", metavar="REV", nargs="?", default=None, help="the revision (default: the workspace)")
    group = commands.add_parser(
        "replicates",
        help="group runs that differ only in seed",
        description="Group the runs of `dvc exp show` (HEAD and its experiments) that differ only in `seed`, and "
        "print each group's mean, standard deviation and range of test accuracy and macro F1.",
    )
    group.add_argument("-A", "--all-commits", action="store_true", help="every commit's runs, not only HEAD's")
    group.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    return main


def _two_revisions(command: argparse.ArgumentParser) -> None:
    """What `compare` and `decide` share: A and B, the ROPE, the bootstrap and the format."""
    command.add_argument("a", metavar="A", nargs="?", default="HEAD", help="the baseline revision (default: HEAD)")
    command.add_argument(
        "b", metavar="B", nargs="?", default=None, help="the revision to judge (default: the workspace)"
    )
    command.add_argument(
        "--rope",
        type=_share(strictly_positive=False),
        default=comparison.ROPE,
        help=f"differences within ± this much test accuracy count as none (default: {comparison.ROPE})",
    )
    command.add_argument("--resamples", type=_integer(1), default=10_000, help="bootstrap resamples (default: 10000)")
    command.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default: 0)")
    command.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)


class _Parser(argparse.ArgumentParser):
    """Bad usage in one line and exit status 2, like every other error: no usage block before it."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(smallest: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = smallest - 1
        if value < smallest:
            raise argparse.ArgumentTypeError(f"expected an integer >= {smallest}, got {text}")
        return value

    return parse


def _share(strictly_positive: bool):
    """A difference of test accuracy: 0.002 is 0.2 points. NaN and infinity fail both bounds."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 if strictly_positive else value >= 0) or value == float("inf"):
            bound = "> 0" if strictly_positive else ">= 0"
            raise argparse.ArgumentTypeError(f"expected a number {bound} (0.002 is 0.2 points of accuracy), got {text}")
        return value

    return parse


def run(args: argparse.Namespace) -> str:
    root = project_root()
    if args.command == "compare":
        with replicates.DvcCommand(root, "exp", "show", "--json", "--all-commits") as show:  # meanwhile, A and B
            if args.b is None:
                check_current(root)
            a, b = load_predictions(root, args.a), load_predictions(root, args.b)
            check_same_test_set(a, b)
            result = comparison.compare(a, b, resamples=args.resamples, seed=args.seed)
            shown = json.loads(show.output())
        found, _ = replicates.runs(shown)
        group_a, group_b = (load_seed_group(root, shown, found, p) for p in (a, b))
        result["configuration"] = comparison.compare_configurations(
            group_a, group_b, rope=args.rope, delta=args.delta, resamples=args.resamples, seed=args.seed
        )
        if args.images is not None:
            result["images"] = _draw_changes(root, a, b, args.images)
        render = {"text": comparison.as_text, "markdown": comparison.as_markdown}.get(args.format)
        return render(result) if render else json.dumps(result, indent=2) + "\n"
    if args.command == "decide":
        from fashionlab.experiments import decide

        result = decide.decide(
            root,
            args.a,
            args.b,
            max_seeds=args.max_seeds,
            rope=args.rope,
            resamples=args.resamples,
            seed=args.seed,
            say=lambda line: print(line, file=sys.stderr, flush=True),
        )
        render = {"text": decide.as_text, "markdown": decide.as_markdown}.get(args.format)
        return render(result) if render else json.dumps(result, indent=2) + "\n"
    if args.command == "seeds":
        from fashionlab.experiments.seeds import add_seeds

        add_seeds(root, args.count, args.rev, lambda line: print(line, flush=True))
        return ""
    found, skipped = replicates.runs(replicates.experiments_table(root, args.all_commits))
    summary = replicates.groups(found)
    if args.format == "json":
        return json.dumps({"groups": summary, "skipped": skipped}, indent=2) + "\n"
    render = replicates.as_markdown if args.format == "markdown" else replicates.as_text
    return render(summary, skipped)


def _draw_changes(root: Path, a: Predictions, b: Predictions, folder: Path) -> dict:
    """Write the pictures of what B fixed and broke into `folder`; {"folder", "files"} for the report."""
    from fashionlab.common.outputs import write_files  # here: Pillow is for --images only
    from fashionlab.data.splits import load_split
    from fashionlab.evaluation.mistakes import change_grids

    test = root / "data" / "prepared" / "test.npz"
    images, labels = load_split(test)
    if len(labels) != len(a.actual) or np.any(labels != a.actual):
        raise RevisionError(f"{test}: not the test images the revisions scored (run `dvc repro prepare` first)")
    grids = change_grids(images, a.actual, a.predicted, b.predicted, a.class_names)
    write_files({folder / name: data for name, data in grids.items()})
    return {"folder": str(folder), "files": sorted(grids)}


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        sys.stdout.write(run(args))
    except FashionlabError as err:
        print(f"fashionlab {args.command}: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print(f"fashionlab {args.command}: error: interrupted by SIGINT", file=sys.stderr)
        sys.exit(EXIT_CODES["SIGINT"])
