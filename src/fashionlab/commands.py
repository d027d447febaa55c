"""The `fashionlab` command: is B really better than A, or is it noise?

fashionlab compare [A] [B]   two revisions' test predictions, paired image by image
fashionlab replicates        runs that differ only in seed, grouped: the spread one run hides
"""

from __future__ import annotations

import argparse
import json
import sys

from fashionlab import comparison, replicates
from fashionlab.errors import FashionlabError
from fashionlab.predictions import check_same_test_set, load_predictions, project_root

FORMATS = ("text", "markdown", "json")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="fashionlab", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = main.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare",
        help="compare two revisions' test predictions",
        description="Compare the test predictions of two revisions (commits, branches, tags or DVC experiment "
        "names) image by image: accuracy, the difference with a paired-bootstrap interval, McNemar's exact "
        "test, the images fixed and broken, recall per class, and a verdict. Nothing is retrained or checked out.",
    )
    compare.add_argument("a", nargs="?", default="HEAD", help="the baseline revision (default: HEAD)")
    compare.add_argument("b", nargs="?", default=None, help="the revision to judge (default: the workspace)")
    compare.add_argument("--resamples", type=_positive, default=10_000, help="bootstrap resamples (default: 10000)")
    compare.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default: 0)")
    compare.add_argument("--format", choices=FORMATS, default="text")
    group = commands.add_parser(
        "replicates",
        help="group runs that differ only in seed",
        description="Group the runs of `dvc exp show` (HEAD and its experiments) that differ only in `seed`, and "
        "print each group's mean, standard deviation and range of test accuracy and macro F1.",
    )
    group.add_argument("-A", "--all-commits", action="store_true", help="every commit's runs, not only HEAD's")
    group.add_argument("--format", choices=FORMATS, default="text")
    return main


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def run(args: argparse.Namespace) -> str:
    root = project_root()
    if args.command == "compare":
        a, b = load_predictions(root, args.a), load_predictions(root, args.b)
        check_same_test_set(a, b)
        result = comparison.compare(a, b, resamples=args.resamples, seed=args.seed)
        render = {"text": comparison.as_text, "markdown": comparison.as_markdown}.get(args.format)
        return render(result) if render else json.dumps(result, indent=2) + "\n"
    found, skipped = replicates.runs(replicates.experiments_table(root, args.all_commits))
    summary = replicates.groups(found)
    if args.format == "json":
        return json.dumps({"groups": summary, "skipped": skipped}, indent=2) + "\n"
    render = replicates.as_markdown if args.format == "markdown" else replicates.as_text
    return render(summary, skipped)


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        sys.stdout.write(run(args))
    except FashionlabError as err:
        print(f"fashionlab {args.command}: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
