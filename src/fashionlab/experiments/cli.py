"""The `fashionlab` command: is B really better than A, or is it noise?

fashionlab compare [A] [B]   two configurations by their groups of seeds, and the two named trained models
fashionlab decide [A] [B]    add seeds to both sides in rounds until the paired comparison is decided
fashionlab race [REV ...]    of several configurations (a sweep), name the one to use, dropping the losers early
fashionlab seeds N [REV]     give a configuration N seeds in all: train, together, only the seeds its group lacks
fashionlab replicates        runs of the same code that differ only in seed, grouped: the spread one run hides

A and B, REV: a commit, branch, tag or DVC experiment name, or `workspace` for the workspace. The seeds of a
configuration count from every commit whose code is the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fashionlab.common.errors import FashionlabError
from fashionlab.common.interrupts import EXIT_CODES
from fashionlab.experiments.commands import compare, decide, race, replicates, seeds
from fashionlab.experiments.records.dvc import project_root
from fashionlab.experiments.reports import compare as compare_report
from fashionlab.experiments.reports import decide as decide_report
from fashionlab.experiments.reports import race as race_report
from fashionlab.experiments.reports import replicates as replicates_report
from fashionlab.experiments.reports.formats import FORMAT_HELP, FORMATS, rendered
from fashionlab.experiments.rounds.lineup import Lineup
from fashionlab.experiments.seeding.cluster_access import cluster_address
from fashionlab.experiments.terms.judgement import RESAMPLES, Judgement
from fashionlab.experiments.terms.wording import percent
from fashionlab.statistics import sequential
from fashionlab.statistics.significance import DELTA, ROPE


def parser() -> argparse.ArgumentParser:
    main = _Parser(prog="fashionlab", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_compare, _decide, _race, _seeds, _replicates):
        add(commands)
    return main


def _compare(commands) -> None:
    compare_ = commands.add_parser(
        "compare",
        help="compare two configurations (groups of seeds) and two trained models",
        description="Compare two revisions (commits, branches, tags or DVC experiment names; `workspace` for the "
        "workspace). Where each has two seeds or more (runs of the same code whose parameters differ only in seed), "
        "as configurations, paired by seed where both ran the same seed numbers: each group's seeds and spread, "
        "whether its runs come from more than one machine, the difference of mean test accuracy with an interval "
        "from a bootstrap of seeds (or seed pairs) and test images together, P(B > A), how much of the spread is "
        "the test set, the seeds per side a difference of --delta needs, and a verdict: better or worse (the "
        "interval excludes 0), slightly better or slightly worse (it excludes 0 but lies within ±--rope), "
        "equivalent (it holds 0 and lies within ±--rope) or undecided; where `decide` would read the same seeds "
        "otherwise at its planned looks, one line says so. Always, the two named trained models image by image: "
        "McNemar's exact test, the images fixed and broken, recall per class. Nothing is retrained or checked out. "
        "A and B must be two configurations. The workspace, as B, must be up to date (`dvc status`): results its "
        "params.yaml or code would not produce are refused.",
    )
    _two_revisions(compare_)
    compare_.add_argument(
        "--delta",
        type=_share(strictly_positive=True),
        default=DELTA,
        help=f"the difference to size the seeds for, at 80%% power (default: {DELTA})",
    )
    compare_.add_argument(
        "--images",
        metavar="DIR",
        type=Path,
        help="also draw the test images B fixed and broke, per true class, into DIR (fixed-CLASS.png, "
        "broken-CLASS.png; linked from --format markdown); needs the workspace's data/prepared/test.npz",
    )


def _decide(commands) -> None:
    decide_ = commands.add_parser(
        "decide",
        help="add seeds to both sides until the comparison is decided",
        description="Give A and B the same new seed numbers in rounds, trained together as `fashionlab seeds` "
        "does, and look at the paired comparison at planned numbers of shared seeds (3, 5, 8, 12, 16, 20, …), "
        "each look's interval at the level a group-sequential design allows, so that the looks together keep "
        "the false-alarm rate at --alpha. Stops at the first look that decides (better, slightly better, "
        "equivalent, slightly worse, worse), or at --max-seeds, undecided. A and B are revisions or experiment "
        "names of any commit whose code is the workspace's (`workspace` for the workspace); as B, the workspace "
        "must be up to date. Ctrl-C keeps every finished seed; running it again goes on where it stopped.",
    )
    _two_revisions(decide_)
    _max_seeds(decide_, "the most shared seeds a side may get before the answer is undecided")
    _alpha(decide_, "the chance, over all looks, of calling B better or worse when it is neither")
    _cluster(decide_)


def _race(commands) -> None:
    race_ = commands.add_parser(
        "race",
        help="name the configuration to use of several, dropping the losers early",
        description="Race configurations on paired seeds: every round gives each configuration still in the same "
        "new seed numbers, trained together as `fashionlab seeds` does, each saved as a DVC experiment; at the planned "
        "looks (3, 5, 8, 12, 16, 20, … shared seeds) each is compared with the leader, and one shown worse beyond "
        "the ROPE is dropped and trains no more. It ends with a winner (every other dropped), with a choice (a "
        "configuration that no other is better than by more than the ROPE; of several, the cheapest to train), or "
        "at --max-seeds with the ones left ranked, undecided, and the command that goes on. Over all looks and "
        "comparisons, the true best is dropped, or a configuration more than the ROPE below it named, with "
        "probability at most --alpha, whatever the true means (Bonferroni over the comparisons, on the upper end of "
        "each interval, which is all that this needs; Hwang-Shih-DeCani spending over the looks). The configurations: "
        "revisions "
        "and experiment names (`workspace` for the workspace), --all-of a commit's runs and experiments, --queued "
        "for DVC's queue, -S for a sweep on the workspace's params.yaml, as `dvc exp run -S` makes its grid; any "
        "mix of them. Writes a picture of every configuration against the choice (or the leader) into --report (a "
        "PNG, and a chart that `dvc plots show` draws). Ctrl-C keeps every finished seed; the same command goes on "
        "where it stopped.",
    )
    race_.add_argument(
        "revisions", metavar="REV", nargs="*", help="revisions and DVC experiment names (`workspace`: the workspace)"
    )
    race_.add_argument("--all-of", metavar="REV", help="every configuration among REV's run and its experiments")
    race_.add_argument("--queued", action="store_true", help="every configuration waiting in DVC's queue")
    race_.add_argument(
        "-S",
        "--set-param",
        dest="sweep",
        action="append",
        default=[],
        metavar="KEY=A,B",
        help="a sweep as `dvc exp run -S` takes it (1e-4,3e-4); several -S make the grid of all their values",
    )
    _max_seeds(race_, "the most shared seeds before the ones left are ranked, undecided")
    _alpha(race_, "the chance, over the whole race, of dropping the true best or naming one worse by the ROPE")
    race_.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=Path("race"),
        help="where the picture goes: DIR/intervals.png, DIR/intervals.json and DIR/dvc.yaml (default: race)",
    )
    _judgement(race_)
    _cluster(race_)


def _seeds(commands) -> None:
    seeds_ = commands.add_parser(
        "seeds",
        help="give a configuration N seeds in all",
        description="Train the seeds REV's group lacks to have N in all (seeds 1, 2, … not yet taken), with REV's "
        "parameters, together in one process, and report each as it ends; each becomes a DVC experiment of HEAD, "
        "as `dvc exp run -S seed=…` would make it. Seeds already finished count, from every commit whose code is "
        "the same: running it twice trains nothing twice, a group that has N seeds already trains nothing and starts "
        "nothing, and Ctrl-C keeps every seed that finished. REV is a revision or experiment name of any commit "
        "whose code is the workspace's, or `workspace` (the default); as REV, the workspace must be up to date "
        "(`dvc status`).",
    )
    seeds_.add_argument(
        "count",
        metavar="N",
        type=_integer(2),
        help="how many seeds the configuration should have in all, those it has counted (2 or more)",
    )
    seeds_.add_argument("rev", metavar="REV", nargs="?", default=None, help="the revision (default: the workspace)")
    _cluster(seeds_)


def _replicates(commands) -> None:
    group = commands.add_parser(
        "replicates",
        help="group runs that differ only in seed",
        description="Group the runs of `dvc exp show` (HEAD and its experiments) that differ only in `seed`, and "
        "print each group's mean, standard deviation and range of test accuracy and macro F1.",
    )
    group.add_argument("-A", "--all-commits", action="store_true", help="every commit's runs, not only HEAD's")
    group.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)


def _two_revisions(command: argparse.ArgumentParser) -> None:
    """What `compare` and `decide` share: A and B, the ROPE, the bootstrap and the format."""
    command.add_argument("a", metavar="A", nargs="?", default="HEAD", help="the baseline revision (default: HEAD)")
    command.add_argument(
        "b", metavar="B", nargs="?", default=None, help="the revision to judge (default: workspace, the workspace)"
    )
    _judgement(command)


def _max_seeds(command: argparse.ArgumentParser, meaning: str) -> None:
    default = sequential.MAX_SEEDS
    command.add_argument("--max-seeds", type=_integer(2), default=default, help=f"{meaning} (default: {default})")


def _alpha(command: argparse.ArgumentParser, meaning: str) -> None:
    default = sequential.ALPHA
    command.add_argument(
        "--alpha", type=_probability, default=default, help=f"{meaning} (default: {default}, {percent(default)}%)"
    )


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
        default=ROPE,
        help=f"differences within ± this much test accuracy count as none (default: {ROPE})",
    )
    command.add_argument(
        "--resamples", type=_integer(1), default=RESAMPLES, help=f"bootstrap resamples (default: {RESAMPLES})"
    )
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


def _bounded(holds, expected: str):
    """A number that `holds`: NaN fails every bound, and infinity is refused too."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not holds(value) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_probability = _bounded(lambda value: 0 < value < 1, "a number between 0 and 1 (0.05 is 5%)")
_difference = "(0.002 is 0.2 points of accuracy)"  # of test accuracy


def _share(strictly_positive: bool):
    if strictly_positive:
        return _bounded(lambda value: value > 0, f"a number > 0 {_difference}")
    return _bounded(lambda value: value >= 0, f"a number >= 0 {_difference}")


def judgement_from(args: argparse.Namespace) -> Judgement:
    """The settings a command's verdict is read with, as its options give them (the defaults where it has none)."""
    given = {key: getattr(args, key) for key in ("rope", "resamples", "seed", "alpha", "max_seeds") if key in args}
    return Judgement(**given)


def run(args: argparse.Namespace) -> str:
    """The command's result, rendered in its --format (`seeds` prints as it goes and returns nothing)."""
    root, judgement = project_root(), judgement_from(args)
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.command == "compare":
        result = compare.compare(root, args.a, args.b, judgement, args.delta, args.images)
        return rendered(result, args.format, compare_report.as_text, compare_report.as_markdown)
    if args.command == "decide":
        result = decide.decide(root, args.a, args.b, judgement, say, cluster_address(args.cluster))
        return rendered(result, args.format, decide_report.as_text, decide_report.as_markdown)
    if args.command == "race":
        lineup = Lineup(tuple(args.revisions), args.all_of, args.queued, tuple(args.sweep))
        result = race.race(root, lineup, judgement, say, cluster_address(args.cluster))
        result["report"] = race.write_report(root, result, args.report)
        return rendered(result, args.format, race_report.as_text, race_report.as_markdown)
    if args.command == "seeds":
        seeds.add_seeds(root, args.count, args.rev, lambda line: print(line, flush=True), cluster_address(args.cluster))
        return ""
    result = replicates.replicates(root, args.all_commits)
    return rendered(result, args.format, replicates_report.as_text, replicates_report.as_markdown)


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
