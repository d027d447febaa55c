"""The `fashionlab` command: is B really better than A, or is it noise?

fashionlab compare [A] [B]   two configurations by their groups of seeds, and the two named trained models
fashionlab decide [A] [B]    add seeds to both sides in rounds until the paired comparison is decided
fashionlab race [REV ...]    of several configurations (a sweep), find the best, dropping the losers early
fashionlab seeds N [REV]     give a configuration N seeds: train, together, only the seeds its group lacks
fashionlab replicates        runs of the same code that differ only in seed, grouped: the spread one run hides
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from fashionlab.common.errors import FashionlabError, RevisionError
from fashionlab.common.interrupts import EXIT_CODES
from fashionlab.experiments import comparison, replicates
from fashionlab.experiments.predictions import (
    Predictions,
    check_same_test_set,
    load_predictions,
    load_seed_group,
    project_root,
)
from fashionlab.experiments.workspace import check_current
from fashionlab.statistics import sequential

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
    _cluster(decide)
    race = commands.add_parser(
        "race",
        help="find the best of several configurations, dropping the losers early",
        description="Race configurations on paired seeds: every round gives each configuration still in the same "
        "new seed numbers, trained together as `fashionlab seeds` does, each saved as a DVC experiment; at the planned "
        "looks (3, 5, 8, 12, 16, 20, … shared seeds) each is compared with the leader, and one shown worse beyond "
        "the ROPE is dropped and trains no more. It ends with a winner, with the configurations equivalent within "
        "the ROPE (the cheapest to train named), or at --max-seeds with the ones left ranked. Over all looks and "
        "comparisons the true best is dropped with probability at most --alpha (Bonferroni over the comparisons "
        "with the leader, Hwang-Shih-DeCani spending over the looks). The configurations: revisions and experiment "
        "names (`workspace` for the workspace), --all-of a commit's runs and experiments, --queued for DVC's "
        "queue, -S for a sweep on the workspace's params.yaml, as `dvc exp run -S` makes its grid; any mix of "
        "them. Writes a picture of every configuration against the leader into --report (a PNG, and a chart that "
        "`dvc plots show` draws). Ctrl-C keeps every finished seed; the same command goes on where it stopped.",
    )
    race.add_argument(
        "revisions", metavar="REV", nargs="*", help="revisions and DVC experiment names (`workspace`: the workspace)"
    )
    race.add_argument("--all-of", metavar="REV", help="every configuration among REV's run and its experiments")
    race.add_argument("--queued", action="store_true", help="every configuration waiting in DVC's queue")
    race.add_argument(
        "-S",
        "--set-param",
        dest="sweep",
        action="append",
        default=[],
        metavar="KEY=A,B",
        help="a sweep as `dvc exp run -S` takes it (1e-4,3e-4); several -S make the grid of all their values",
    )
    race.add_argument(
        "--max-seeds",
        type=_integer(2),
        default=sequential.MAX_SEEDS,
        help=f"the most shared seeds before the ones left are ranked undecided (default: {sequential.MAX_SEEDS})",
    )
    race.add_argument(
        "--alpha",
        type=_probability,
        default=sequential.ALPHA,
        help=f"the chance, over the whole race, of dropping the true best (default: {sequential.ALPHA})",
    )
    race.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=Path("race"),
        help="where the picture goes: DIR/intervals.png, DIR/intervals.json and DIR/dvc.yaml (default: race)",
    )
    _judgement(race)
    _cluster(race)
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
    _cluster(seeds)
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
    _judgement(command)


def _cluster(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="train the seeds on this Ray cluster (HOST:PORT, as `ray start --head` prints it; `local` starts one "
        "here): a warm group per node, each seed still a DVC experiment (default: RAY_ADDRESS when set, else "
        "this machine)",
    )


def _judgement(command: argparse.ArgumentParser) -> None:
    """What `compare`, `decide` and `race` share: the ROPE, the bootstrap and the format."""
    command.add_argument(
        "--rope",
        type=_share(strictly_positive=False),
        default=comparison.ROPE,
        help=f"differences within ± this much test accuracy count as none (default: {comparison.ROPE})",
    )
    command.add_argument("--resamples", type=_integer(1), default=10_000, help="bootstrap resamples (default: 10000)")
    command.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default: 0)")
    command.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)


def address_from(flag: str | None) -> str | None:
    """The cluster a command trains on: `--cluster`, else `RAY_ADDRESS` as Ray reads it, else none (this machine)."""
    return flag or os.environ.get("RAY_ADDRESS") or None


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


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (0.05 is 5%), got {text}")
    return value


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
            cluster=address_from(args.cluster),
        )
        render = {"text": decide.as_text, "markdown": decide.as_markdown}.get(args.format)
        return render(result) if render else json.dumps(result, indent=2) + "\n"
    if args.command == "race":
        return _race(root, args)
    if args.command == "seeds":
        from fashionlab.experiments.seeds import add_seeds

        add_seeds(root, args.count, args.rev, lambda line: print(line, flush=True), address_from(args.cluster))
        return ""
    found, skipped = replicates.runs(replicates.experiments_table(root, args.all_commits))
    summary = replicates.groups(found)
    if args.format == "json":
        return json.dumps({"groups": summary, "skipped": skipped}, indent=2) + "\n"
    render = replicates.as_markdown if args.format == "markdown" else replicates.as_text
    return render(summary, skipped)


def _race(root: Path, args: argparse.Namespace) -> str:
    from fashionlab.common.outputs import write_files
    from fashionlab.experiments import race, race_report

    lineup = race.Lineup(tuple(args.revisions), args.all_of, args.queued, tuple(args.sweep))
    result = race.race(
        root,
        lineup,
        max_seeds=args.max_seeds,
        rope=args.rope,
        alpha=args.alpha,
        resamples=args.resamples,
        seed=args.seed,
        say=lambda line: print(line, file=sys.stderr, flush=True),
        command=_race_command(args),
        cluster=address_from(args.cluster),
    )
    folder = args.report if args.report.is_absolute() else Path.cwd() / args.report
    write_files(race_report.report_files(root, result, folder))
    result["report"] = {"folder": str(args.report), "png": str(args.report / race_report.PICTURE)}
    return race.rendered(result, args.format)


def _race_command(args: argparse.Namespace) -> str:
    """The command that runs this race again, or goes on with it."""
    words = ["fashionlab", "race", *args.revisions]
    words += ["--all-of", args.all_of] if args.all_of else []
    words += ["--queued"] if args.queued else []
    words += [word for value in args.sweep for word in ("-S", value)]
    words += ["--max-seeds", str(args.max_seeds)]
    words += [] if args.alpha == sequential.ALPHA else ["--alpha", str(args.alpha)]
    words += [] if args.rope == comparison.ROPE else ["--rope", str(args.rope)]
    return shlex.join(words)


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
