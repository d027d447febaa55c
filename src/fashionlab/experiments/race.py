"""`fashionlab race`: of several configurations, find the best with paired seeds, dropping the losers early.

Every round gives every configuration still in the same new seed numbers, trained together as `fashionlab
seeds` trains them, each saved as a DVC experiment; then the race looks at the seeds they share at the planned
sizes (`statistics.sequential.race_looks`): each configuration against the leader, one shown worse beyond the
ROPE is dropped and trains no more. It ends with one winner, a set equivalent within the ROPE (the cheapest to
train named), or at `--max-seeds` with the ones left ranked. `decide` is a race of two, through `contest`.

A look uses the seeds in a fixed order, so running the same race again replays every look made and goes on
where it stopped: Ctrl-C keeps every finished seed. A configuration whose runs fail (a NaN loss) is named and
leaves the race, not counted as worse.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from fashionlab.common.errors import ParamsError, RevisionError
from fashionlab.common.params import parse_params, parse_yaml
from fashionlab.experiments.predictions import (
    Predictions,
    check_same_test_set,
    load_configuration_group,
    load_predictions,
    load_seed_group,
    resolve,
)
from fashionlab.experiments.replicates import (
    WORKSPACE,
    Run,
    SeedGroup,
    assignment,
    differing,
    experiments_table,
    flatten,
    pending,
    runs,
    workspace_run,
)
from fashionlab.experiments.seeds import GroupTraining, Job, check_code, fresh_seeds, job_for, listed, target_run
from fashionlab.experiments.workspace import PARAMS, check_current
from fashionlab.statistics.sequential import (
    ALPHA,
    WITHIN,
    RaceLook,
    Standing,
    boundaries,
    look_order,
    looks,
    race_looks,
    seeds_to_decide,
)

Say = Callable[[str], None]


@dataclass
class Entrant:
    """A configuration in a race: how the user named it, the run that stands for it, its seeds so far."""

    label: str  # the revision as named, or the parameters a sweep sets
    target: Run  # a run of the configuration, or one it would have (a sweep's point: no run yet)
    named: Predictions | None = None  # the revision's own run, when a revision was named
    group: SeedGroup | None = None  # read again after every round

    @property
    def described(self) -> str:
        """The label, and the revision behind it where that is not the label: `B (fails)`."""
        named = self.named.revision if self.named else None
        return self.label if named in (None, self.label) else f"{self.label} ({named})"

    @property
    def first_seed(self) -> int | None:
        """The named run's seed, which the looks take first."""
        if self.named is None or self.group is None or self.named.revision not in self.group.names:
            return None
        return self.group.seeds[self.group.names.index(self.named.revision)]

    def rows(self) -> dict[int, np.ndarray]:
        return {s: row for s, row in zip(self.group.seeds, self.group.correct, strict=True) if s is not None}

    @property
    def seconds(self) -> float | None:
        """What training a seed takes, about: the mean over its runs that recorded it."""
        known = [s for s in self.group.seconds if s is not None]
        return float(np.mean(known)) if known else None


@dataclass
class Contest:
    """What a race has done: its looks, the seeds it trained by entrant, and the entrants whose runs failed."""

    made: list[RaceLook]
    trained: dict[int, list[int]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


def contest(
    root: Path,
    training: GroupTraining,
    entrants: list[Entrant],
    *,
    max_seeds: int,
    rope: float,
    resamples: int,
    seed: int,
    alpha: float = ALPHA,
    on_look: Callable[[RaceLook, list[Entrant]], None] = lambda look, entrants: None,
    on_round: Callable[[list[RaceLook], list[int], int, list[Job]], None] = lambda made, order, wanted, jobs: None,
    allow_failures: bool = True,
) -> Contest:
    """Rounds of seeds and looks until a look ends the race (`race_looks`)."""
    result = Contest([], {i: [] for i in range(len(entrants))})
    plan, told = looks(max_seeds), 0
    while True:
        _load_groups(root, entrants)
        runs_by_entrant, first = [e.rows() for e in entrants], [e.first_seed for e in entrants]
        result.made = race_looks(
            runs_by_entrant,
            max_seeds,
            rope=rope,
            first=first,
            failed=set(result.failed),
            resamples=resamples,
            seed=seed,
            alpha=alpha,
        )
        for look in result.made[told:]:
            on_look(look, entrants)
        told = len(result.made)
        if result.made and result.made[-1].outcome:
            return result
        racing = [
            i for i in (result.made[-1].remaining if result.made else range(len(entrants))) if i not in result.failed
        ]
        order = look_order(runs_by_entrant, racing, first)
        wanted = next(size for size in plan if size > len(order))
        fresh = next_seeds([runs_by_entrant[i] for i in racing], order, wanted - len(order))
        jobs = [
            job_for(root, entrants[i].target, entrants[i].label, s)
            for s in fresh
            for i in racing
            if s not in runs_by_entrant[i]
        ]
        on_round(result.made, order, wanted, jobs)
        index_of = {entrant.label: i for i, entrant in enumerate(entrants)}
        for outcome in training.run(jobs):
            index = index_of[outcome.job.label]
            if outcome.accuracy is None:
                if not allow_failures:
                    raise RevisionError(
                        f"{entrants[index].described}: seed {outcome.job.seed} failed: {outcome.error}; a paired "
                        "decision needs every seed of both sides"
                    )
                result.failed.setdefault(index, f"seed {outcome.job.seed}: {outcome.error}")
            else:
                result.trained[index].append(outcome.job.seed)


def next_seeds(racing: list[dict[int, np.ndarray]], order: list[int], count: int) -> list[int]:
    """The `count` seeds to share next: first those some configurations ran already (the most widely run first,
    so the fewest are trained), then the smallest seeds from 1 that none ran."""
    held = Counter(seed for runs in racing for seed in runs if seed not in order)
    reused = sorted(held, key=lambda seed: (-held[seed], seed))[:count]
    return reused + fresh_seeds({*order, *held}, count - len(reused))


def _load_groups(root: Path, entrants: list[Entrant]) -> None:
    table = experiments_table(root, all_commits=True)
    found, _ = runs(table)
    for entrant in entrants:
        if entrant.named is not None:
            entrant.group = load_seed_group(root, table, found, entrant.named)
        else:
            entrant.group = load_configuration_group(root, found, entrant.target, entrant.label)


# --- the configurations, as users have them ------------------------------------------------------------


@dataclass(frozen=True)
class Lineup:
    """What the user named: revisions, the runs of a commit, DVC's queue, a sweep written as `-S` takes it."""

    revisions: tuple[str, ...] = ()
    all_of: str | None = None
    queued: bool = False
    sweep: tuple[str, ...] = ()  # each a `-S` value: key=a,b,c


def entrants(root: Path, lineup: Lineup) -> list[Entrant]:
    """Every configuration the lineup names, once each, checked: at least two, none twice, all scoring the same test
    set, each of the code the workspace would train its seeds with."""
    table = experiments_table(root, all_commits=True)
    found, _ = runs(table)
    if lineup.sweep or WORKSPACE in lineup.revisions:
        check_current(root)
    chosen = [_revision(root, table, found, revision) for revision in lineup.revisions]
    if lineup.all_of is not None:
        chosen += _runs_of(root, table, found, lineup.all_of)
    if lineup.queued:
        chosen += _queued(table)
    if lineup.sweep:
        chosen += _sweep(root, table, lineup.sweep)
    if len(chosen) < 2:
        named = ", ".join(e.label for e in labelled(chosen) if e.label)
        raise RevisionError(
            f"a race needs two configurations or more, got {len(chosen)}" + (f" ({named})" if named else "")
        )
    labelled(chosen)
    seen: dict[str, Entrant] = {}
    for entrant in chosen:
        twin = seen.setdefault(entrant.target.configuration, entrant)
        if twin is not entrant:
            raise RevisionError(
                f"{twin.label} and {entrant.label} are the same configuration (the same code and parameters but the "
                "seed): name each once"
            )
    datasets = {e.label: e.target.params.get("data.dataset") for e in chosen}
    if len(set(datasets.values())) > 1:
        raise RevisionError(f"the configurations score different test sets (data.dataset: {datasets})")
    named = [e.named for e in chosen if e.named is not None]
    for other in named[1:]:
        check_same_test_set(named[0], other)
    for entrant in chosen:
        check_code(root, entrant.target, entrant.label)
    (label, times), *_ = Counter(e.label for e in chosen).most_common(1)
    if times > 1:  # the progress and the report tell configurations apart by their labels
        raise RevisionError(f"{times} configurations would be called {label!r}: name them as revisions")
    return chosen


def _revision(root: Path, table: list[dict], found: list[Run], revision: str) -> Entrant:
    if revision == WORKSPACE:
        return Entrant(WORKSPACE, target_run(root, table, found, None), load_predictions(root, None))
    named = load_predictions(root, revision)
    return Entrant(revision, target_run(root, table, found, revision), named)


def _runs_of(root: Path, table: list[dict], found: list[Run], revision: str) -> list[Entrant]:
    """Each configuration among `revision`'s own run and its finished experiments, by its newest run."""
    commit = resolve(root, revision)
    entry = next((row for row in table if row.get("rev") == commit), None)
    if entry is None:
        raise RevisionError(f"{revision}: not a commit `dvc exp show --all-commits` lists")
    members = {exp.get("rev") for group in entry.get("experiments") or [] for exp in group.get("revs", [])}
    by_configuration: dict[str, Run] = {}
    for run in found:
        if run.rev == commit or run.rev in members:
            by_configuration.setdefault(run.configuration, run)
    if not by_configuration:
        raise RevisionError(f"{revision}: no finished run with test scores, nor experiments of it")
    return [Entrant("", run) for run in by_configuration.values()]


def _queued(table: list[dict]) -> list[Entrant]:
    """Each configuration waiting in DVC's queue: the race trains its seeds instead of the queue."""
    waiting = pending(table)
    if not waiting:
        raise RevisionError("DVC's queue holds no experiment (`dvc queue status`)")
    workspace = _workspace(table)
    return [Entrant("", replace(workspace, name=run.name, params=run.params, rev="")) for run in waiting]


def _sweep(root: Path, table: list[dict], sweep: tuple[str, ...]) -> list[Entrant]:
    """The grid `dvc exp run -S` would make of `sweep`, each point checked as a stage would check it."""
    from dvc.exceptions import DvcException
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import apply_overrides, get_hydra_sweeps

    typed = " ".join(f"-S {value}" for value in sweep)
    by_file = to_path_overrides(sweep)
    if set(by_file) != {PARAMS}:
        raise ParamsError(f"{typed}: a race sweeps {PARAMS} only, got {', '.join(sorted(set(by_file) - {PARAMS}))}")
    workspace = _workspace(table)
    text = (root / PARAMS).read_text(encoding="utf-8")
    found = []
    try:
        points = get_hydra_sweeps(by_file)
    except Exception as err:  # Hydra's parser errors share no base class with DVC's
        raise ParamsError(f"{typed}: not a value DVC's -S reads: {_reason(err)}") from None
    with tempfile.TemporaryDirectory() as folder:
        for point in points:
            path = Path(folder) / PARAMS
            path.write_text(text, encoding="utf-8")
            try:
                apply_overrides(path, point[PARAMS])
            except DvcException as err:
                raise ParamsError(f"{' '.join(point[PARAMS])}: DVC cannot set it: {_reason(err)}") from None
            written = path.read_text(encoding="utf-8")
            raw = parse_yaml(written, path)
            parse_params(raw, f"{PARAMS} with {typed}", written)
            found.append(Entrant("", replace(workspace, name="", params=flatten(raw), rev="")))
    return found


def _reason(err: BaseException) -> str:
    """The innermost message of a chain of errors, on one line."""
    while err.__cause__ is not None:
        err = err.__cause__
    return " ".join(str(err).split()) or type(err).__name__


def _workspace(table: list[dict]) -> Run:
    run = workspace_run(table)
    if run is None:
        raise RevisionError("workspace: no test scores yet (run `dvc repro` first)")
    return run


def labelled(chosen: list[Entrant]) -> list[Entrant]:
    """Each entrant named by what sets it apart: the revision as named, else the parameters that differ between
    the configurations, as DVC shows them."""
    keys = [key for key in differing([e.target.params for e in chosen]) if key != "seed"]
    for entrant in chosen:
        if not entrant.label:
            entrant.label = ", ".join(assignment(key, entrant.target.params.get(key)) for key in keys)
    return chosen


# --- the race itself ------------------------------------------------------------------------------------


def race(
    root: Path,
    lineup: Lineup,
    *,
    max_seeds: int,
    rope: float,
    alpha: float,
    resamples: int,
    seed: int,
    say: Say,
    command: str,
    cluster: str | None = None,
) -> dict:
    """Run the race of the lineup; the result as data (every format prints it)."""
    with GroupTraining(root, sys.stderr, sides=True, cluster=cluster) as training:
        training.start()  # TensorFlow's imports meanwhile
        chosen = entrants(root, lineup)
        say(
            f"racing {len(chosen)} configurations on paired seeds, looks at {', '.join(map(str, looks(max_seeds)))} "
            f"shared seeds, each against the leader at the level {alpha:g}/{len(chosen) - 1} allows "
            "(Ctrl-C keeps every finished seed; the same command goes on)"
        )
        done = contest(
            root,
            training,
            chosen,
            max_seeds=max_seeds,
            rope=rope,
            resamples=resamples,
            seed=seed,
            alpha=alpha,
            on_look=lambda look, entrants: say(look_line(look, entrants)),
            on_round=lambda made, order, wanted, jobs: say(round_line(wanted, jobs, chosen)),
        )
    return result(chosen, done, max_seeds=max_seeds, rope=rope, alpha=alpha, resamples=resamples, seed=seed) | {
        "reproduce": command
    }


def look_line(look: RaceLook, chosen: list[Entrant]) -> str:
    """One line per look: how many are in, who leads, who was dropped and why, who left because runs failed."""
    parts = [f"look at {look.seeds} shared seeds: {len(look.accuracy)} configurations"]
    if look.failed:
        parts.append("out, their runs failed: " + ", ".join(chosen[i].label for i in look.failed))
    if look.outcome == "alone":
        return "; ".join([*parts, "nothing left to race"])
    parts.append(f"leader {chosen[look.leader].label} ({look.accuracy[look.leader]:.4f})")
    for standing in look.standings:
        if standing.configuration in look.dropped:
            low, high = standing.interval
            parts.append(
                f"dropped {chosen[standing.configuration].label}: worse than the leader beyond the ROPE, "
                f"{standing.difference:+.4f}, {look.level:.2%} interval [{low:+.4f}, {high:+.4f}]"
            )
    if look.leader in look.dropped:
        parts.append(f"dropped the leader {chosen[look.leader].label}: another was shown better beyond the ROPE")
    open_ = sum(s.verdict == "undecided" and s.configuration not in look.dropped for s in look.standings)
    within = sum(s.verdict in WITHIN and s.configuration not in look.dropped for s in look.standings)
    if within:
        parts.append(f"{within} within the ROPE of the leader")
    if open_:
        parts.append(f"{open_} not separated yet")
    return "; ".join(parts)


def round_line(wanted: int, jobs: list[Job], chosen: list[Entrant]) -> str:
    seeds = sorted({job.seed for job in jobs})
    who = {job.label for job in jobs}
    return (
        f"next look at {wanted} shared seeds: training {listed(seeds)} for {len(who)} of {len(chosen)} configurations"
    )


STATUS = {
    "winner": "winner",
    "leader": "leader",
    "within": "within the ROPE of the leader",
    "dropped": "dropped",
    "failed": "failed",
    "open": "not separated",
}


def result(
    chosen: list[Entrant], done: Contest, *, max_seeds: int, rope: float, alpha: float, resamples: int, seed: int
) -> dict:
    """The race as plain data: each configuration at its last look (its accuracy over that look's seeds, its
    interval against the leader, how it left or stands), the looks, and how the race ended."""
    made = done.made
    final = made[-1] if made else None
    outcome = final.outcome if final and final.outcome else "undecided"
    leader = final.leader if final and final.leader >= 0 else None
    keys = [key for key in differing([e.target.params for e in chosen]) if key != "seed"]
    configurations = []
    for i, entrant in enumerate(chosen):
        seen = [look for look in made if i in look.accuracy]
        last = seen[-1] if seen else None
        standing = next((s for s in last.standings if s.configuration == i), None) if last else None
        configurations.append(
            {
                "label": entrant.label,
                "revision": entrant.named.revision if entrant.named else None,
                "commit": entrant.named.commit if entrant.named else None,
                "parameters": {key: entrant.target.params.get(key) for key in keys},
                "seeds": [s for s in entrant.group.seeds if s is not None],
                "accuracy": last.accuracy[i] if last else None,
                "accuracy_seeds": last.seeds if last else 0,
                "against_leader": _standing(standing, last) if standing else None,
                "status": _status(i, made, done.failed, leader, outcome, standing),
                "failed": done.failed.get(i),
                "seconds_per_seed": entrant.seconds,
                "trained": done.trained.get(i, []),
            }
        )
    plan = looks(max_seeds)
    return {
        "configurations": configurations,
        "outcome": outcome,
        "leader": leader,
        "looks": [
            {
                "seeds": look.seeds,
                "level": look.level,
                "leader": look.leader,
                "order": list(look.order),
                "standings": [{"configuration": s.configuration, **_standing(s, look)} for s in look.standings],
                "dropped": list(look.dropped),
                "failed": list(look.failed),
                "outcome": look.outcome,
            }
            for look in made
        ],
        "alpha": alpha,
        "rope": rope,
        "max_seeds": max_seeds,
        "resamples": resamples,
        "seed": seed,
        "plan": {"looks": list(plan), "boundaries": list(boundaries(plan, alpha / (len(chosen) - 1)))},
        "more_seeds": _more_seeds(chosen, final, rope) if outcome in ("budget", "undecided") and final else None,
    }


def _standing(standing: Standing, look: RaceLook) -> dict:
    low, high = standing.interval
    return {
        "seeds": look.seeds,
        "level": look.level,
        "difference": standing.difference,
        "low": low,
        "high": high,
        "verdict": standing.verdict,
    }


def _status(
    i: int, made: list[RaceLook], failed: dict[int, str], leader: int | None, outcome: str, standing: Standing | None
) -> str:
    if any(i in look.dropped for look in made):
        return "dropped"
    if i in failed or any(i in look.failed for look in made):
        return "failed"
    if i == leader:
        return "winner" if outcome == "winner" else "leader"
    return "within" if standing is not None and standing.verdict in WITHIN else "open"


def _more_seeds(chosen: list[Entrant], final: RaceLook, rope: float) -> dict[str, int]:
    """For each configuration not yet separated from the leader: about how many shared seeds would decide it."""
    return {
        chosen[s.configuration].label: seeds_to_decide(final.seeds, *s.interval, rope)
        for s in final.standings
        if s.verdict == "undecided" and s.configuration not in final.dropped
    }


# --- what a person reads ----------------------------------------------------------------------------------


def verdict_line(result: dict) -> str:
    configurations, outcome = result["configurations"], result["outcome"]
    last = result["looks"][-1] if result["looks"] else None
    spent = f"after {last['seeds']} shared seeds" if last else "before any look"
    leader = (
        configurations[result["leader"]]["label"] if result["leader"] is not None and result["leader"] >= 0 else None
    )
    rope = f"ROPE ±{result['rope']:.4f}"
    if outcome == "winner":
        return f"winner: {leader}: every other configuration was shown worse than it beyond the {rope} ({spent})"
    if outcome == "equivalent":
        within = [c for c in configurations if c["status"] in ("leader", "within")]
        timed = [c for c in within if c["seconds_per_seed"] is not None]
        cheapest = min(timed, key=lambda c: c["seconds_per_seed"]) if timed else None
        cheap = (
            f"; the cheapest to train: {cheapest['label']} ({cheapest['seconds_per_seed']:.1f} s a seed)"
            if cheapest
            else ""
        )
        names = ", ".join(c["label"] for c in within)
        return f"equivalent within the {rope}: {names}, led by {leader} ({spent}){cheap}"
    if outcome == "alone":
        failed = ", ".join(f"{c['label']} ({c['failed']})" for c in configurations if c["status"] == "failed")
        return f"only {leader} is left, not shown better: the others' runs failed: {failed}"
    more = result.get("more_seeds") or {}
    hint = ", ".join(f"{label} about {n}" for label, n in more.items())
    return f"not separated at --max-seeds {result['max_seeds']}: {leader} leads" + (
        f"; the shared seeds that would decide each against it, from this look: {hint}" if hint else ""
    )


def as_text(result: dict) -> str:
    configurations = result["configurations"]
    width = max(len("configuration"), *(len(c["label"]) for c in configurations))
    lines = [
        f"{len(configurations)} configurations raced on paired seeds; looks planned at "
        f"{', '.join(map(str, result['plan']['looks']))} shared seeds, each against the leader at its share of "
        f"{result['alpha']:g}/{len(configurations) - 1} (Bonferroni over the comparisons with the leader, "
        "Hwang-Shih-DeCani spending over the looks)",
        f"{'configuration':<{width}}  seeds  accuracy  against the leader, at its last look         status",
    ]
    for c in sorted(configurations, key=_rank):
        versus = c["against_leader"]
        if c["status"] in ("leader", "winner"):
            against = "—"
        elif versus:
            against = (
                f"{versus['difference']:+.4f} [{versus['low']:+.4f}, {versus['high']:+.4f}], {versus['seeds']} seeds"
            )
        else:
            against = "—"
        accuracy = "—" if c["accuracy"] is None else f"{c['accuracy']:.4f}"
        status = STATUS[c["status"]] + (f": {c['failed']}" if c["failed"] else "")
        lines.append(f"{c['label']:<{width}}  {len(c['seeds']):>5}  {accuracy:>8}  {against:<43} {status}")
    named = [c for c in configurations if c["revision"] and c["parameters"]]
    if named:
        lines.append("what sets the named ones apart:")
        lines += [
            f"  {c['label']}: " + ", ".join(assignment(key, value) for key, value in c["parameters"].items())
            for c in named
        ]
    lines += [f"verdict: {verdict_line(result)}", f"reproduce: {result['reproduce']}"]
    if result.get("report"):
        lines.append(f"picture: {result['report']['png']} (and in `dvc plots show`)")
    return "\n".join(lines) + "\n"


def as_markdown(result: dict) -> str:
    lines = [
        f"**{verdict_line(result)}.**",
        "",
        "| configuration | seeds | accuracy | against the leader | status |",
        "|---|---:|---:|---|---|",
    ]
    for c in sorted(result["configurations"], key=_rank):
        versus = c["against_leader"]
        against = (
            f"{versus['difference']:+.4f} ({versus['level']:.2%} CI {versus['low']:+.4f} to {versus['high']:+.4f}, "
            f"{versus['seeds']} seeds)"
            if versus and c["status"] not in ("leader", "winner")
            else "—"
        )
        accuracy = "—" if c["accuracy"] is None else f"{c['accuracy']:.4f}"
        lines.append(f"| `{c['label']}` | {len(c['seeds'])} | {accuracy} | {against} | {STATUS[c['status']]} |")
    if result.get("report"):
        lines += ["", f"![every configuration against the leader]({result['report']['png']})"]
    lines += ["", f"Reproduce: `{result['reproduce']}`"]
    return "\n".join(lines) + "\n"


def _rank(configuration: dict) -> tuple:
    order = ("winner", "leader", "within", "open", "dropped", "failed")
    versus = configuration["against_leader"] or {}
    return order.index(configuration["status"]), -(versus.get("difference") or 0.0), configuration["label"]


def rendered(result: dict, form: str) -> str:
    render = {"text": as_text, "markdown": as_markdown}.get(form)
    return render(result) if render else json.dumps(result, indent=2) + "\n"
