"""End to end: the real `dvc repro` in a temporary git repository holding a copy of the project.

One repository serves the whole module, in order: a first run, a forced rerun that must be byte-identical,
an interrupted run that `dvc repro` resumes to the same bytes, then the commands a user compares
experiments with (`dvc metrics diff`, `dvc exp run` / `exp show`, `dvc plots show`).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import (
    BIN,
    ENV,
    commit_all,
    project_copy,
    read_yaml,
    requires_debian_data,
    sh,
    snapshot,
    tiny_params,
    write_params,
)

pytestmark = [pytest.mark.slow, requires_debian_data]

# Outputs that must not change between runs of the same parameters (timing.json is wall-clock).
REPRODUCIBLE = (
    *("prepare.json", "dataset.json", "parity.json", "parity_cases.json", "train.json", "history.csv"),
    *("eval.json", "per_class.csv", "confusion.csv"),
)


def outputs(repo) -> dict[str, bytes]:
    files = {name: (repo / "metrics" / name).read_bytes() for name in REPRODUCIBLE}
    files.update({f"mistakes/{p.name}": p.read_bytes() for p in (repo / "metrics" / "mistakes").iterdir()})
    import keras

    from fashionlab.model import layers  # noqa: F401 - registers the custom layers

    model = keras.models.load_model(repo / "models" / "model.keras", safe_mode=True)
    files.update({f"weight {i}": w.tobytes() for i, w in enumerate(model.get_weights())})
    files["model.keras"] = (repo / "models" / "model.keras").read_bytes()  # the same weights, the same bytes
    return files


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = project_copy(tmp_path_factory.mktemp("project"))
    # Long enough epochs (5000 steps of 8 images) to interrupt one in its middle, small
    # enough to take seconds.
    write_params(repo / "params.yaml", tiny_params(data={"train_subset": 40000}, train={"epochs": 3, "batch_size": 8}))
    commit_all(repo, "tiny project")
    return repo


@pytest.fixture(scope="module")
def first_run(repo):
    result = sh(repo, "dvc", "repro")
    for stage in ("prepare", "parity", "train", "evaluate"):
        assert f"Running stage '{stage}'" in result.stdout
    assert "epoch 3/3:" in result.stdout  # one line per epoch when the output is not a terminal
    assert sh(repo, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."
    commit_all(repo, "first run")
    return outputs(repo)


def without_timing(lock: str) -> dict:
    stages = read_yaml(lock)["stages"]
    stages["train"]["outs"] = [out for out in stages["train"]["outs"] if out["path"] != "metrics/timing.json"]
    return stages


def test_forced_rerun_changes_nothing_but_the_clock(repo, first_run):
    sh(repo, "dvc", "repro", "--force")
    assert outputs(repo) == first_run
    changed = sh(repo, "git", "status", "--porcelain").stdout.splitlines()
    assert set(changed) <= {" M metrics/timing.json", " M dvc.lock"}
    committed = sh(repo, "git", "show", "HEAD:dvc.lock").stdout
    assert without_timing((repo / "dvc.lock").read_text()) == without_timing(committed)
    sh(repo, "git", "checkout", "--", ".")


def test_metrics_grow_epoch_by_epoch_while_an_experiment_runs(repo, first_run):
    """What a second terminal's `dvc exp show`, `dvc plots show` or the VS Code extension reads meanwhile."""
    run = subprocess.Popen(
        ["dvc", "exp", "run", "-n", "live-view", "-S", "train.groups.upper.learning_rate=0.02"],
        cwd=repo,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    while run.poll() is None:
        history = (repo / "metrics" / "history.csv").read_text().splitlines()
        summary = json.loads((repo / "metrics" / "train.json").read_text())
        if not seen or seen[-1] != (len(history) - 1, summary["final"]["epoch"]):
            seen.append((len(history) - 1, summary["final"]["epoch"]))
        time.sleep(0.02)
    assert run.returncode == 0, run.stderr.read()
    assert seen == [(3, 3), (1, 1), (2, 2), (3, 3)]  # the previous run's, then this run's epochs one by one
    sh(repo, "dvc", "exp", "remove", "live-view")
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")


def test_failed_repro_keeps_every_previous_output(repo, first_run):
    """DVC deletes a stage's outputs before running it unless they persist; ours all do."""
    original = (repo / "params.yaml").read_text()
    before = {folder: snapshot(repo / folder) for folder in ("metrics", "data/prepared", "models")}
    (repo / "params.yaml").write_text(original.replace("val_size: 500", "val_size: -5"))
    try:
        result = sh(repo, "dvc", "repro", check=False)
    finally:
        (repo / "params.yaml").write_text(original)
    assert result.returncode != 0
    assert "prepare.py: error: params.yaml: data.val_size: expected an integer in [0, 59999], got -5" in result.stderr
    assert {folder: snapshot(repo / folder) for folder in before} == before


def _start_repro(repo):
    return subprocess.Popen(
        ["dvc", "repro", "--force", "train"],
        cwd=repo,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for_second_epoch(repo, process):
    state = repo / "models" / "checkpoint" / "state.npz"
    first_mtime = state.stat().st_mtime_ns if state.exists() else None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and state.stat().st_mtime_ns != first_mtime:
            time.sleep(0.1)  # the first epoch's checkpoint is written: now early in the second
            return
        time.sleep(0.02)
    raise AssertionError("training never reached its second epoch")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_interrupted_training_resumes_to_the_same_bytes(repo, first_run, sig):
    process = _start_repro(repo)
    _wait_for_second_epoch(repo, process)
    os.killpg(process.pid, sig)  # the whole group, as Ctrl-C or a killed job does
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    if sig != signal.SIGKILL:
        assert f"train.py: error: {sig.name} at epoch 2, step " in output
        assert "checkpoint saved in models/checkpoint; run `dvc repro` again to resume" in output
    resumed = sh(repo, "dvc", "repro")
    assert "resuming from models/checkpoint/state.npz: epoch 2" in resumed.stderr + resumed.stdout
    assert outputs(repo) == first_run


@pytest.fixture(scope="module")
def two_epochs(repo, first_run):
    """A second commit: the first run's parameters but `train.epochs` 2."""
    params = read_yaml((repo / "params.yaml").read_text())
    params["train"]["epochs"] = 2
    write_params(repo / "params.yaml", params)
    sh(repo, "dvc", "repro")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "two epochs")


@pytest.fixture(scope="module")
def fast_upper(repo, two_epochs):
    """A DVC experiment on top of `two_epochs`, applied to the workspace."""
    sh(repo, "dvc", "exp", "run", "-n", "fast-upper", "-S", "train.groups.upper.learning_rate=0.05")


def test_param_change_shows_in_metrics_diff(repo, two_epochs):
    diff = json.loads(sh(repo, "dvc", "metrics", "diff", "HEAD~1", "--json").stdout)
    assert diff["metrics/train.json"]["final.epoch"] == {"old": 3, "new": 2, "diff": -1}
    assert "accuracy" in diff["metrics/eval.json"]
    params_diff = json.loads(sh(repo, "dvc", "params", "diff", "HEAD~1", "--json").stdout)
    assert params_diff["params.yaml"]["train.epochs"] == {"old": 3, "new": 2, "diff": -1}


def test_experiment_run_and_show(repo, fast_upper):
    shown = json.loads(sh(repo, "dvc", "exp", "show", "--json").stdout)
    experiments = [
        exp
        for commit in shown
        for group in (commit.get("experiments") or [])
        for exp in group.get("revs", [])
        if exp.get("name") == "fast-upper"
    ]
    assert len(experiments) == 1
    data = experiments[0]["data"]
    assert data["params"]["params.yaml"]["data"]["train"]["groups"]["upper"]["learning_rate"] == 0.05
    accuracy = data["metrics"]["metrics/eval.json"]["data"]["accuracy"]
    assert 0.0 < accuracy <= 1.0


def fashionlab(repo, *args):
    return sh(repo, str(BIN / "fashionlab"), *args).stdout


def test_compare_two_commits_and_an_experiment(repo, two_epochs, fast_upper):
    """Two tiny runs that differ in `train.epochs`, then an experiment: no retraining, the workspace untouched."""
    before = snapshot(repo / "metrics")
    result = json.loads(fashionlab(repo, "compare", "HEAD~1", "HEAD", "--format", "json"))
    eval_a, eval_b = (
        json.loads(sh(repo, "git", "show", f"{rev}:metrics/eval.json").stdout) for rev in ("HEAD~1", "HEAD")
    )
    assert (result["a"]["accuracy"], result["b"]["accuracy"]) == (eval_a["accuracy"], eval_b["accuracy"])
    assert result["test_images"] == 10_000 and 0 <= result["mcnemar_p"] <= 1
    assert result["difference"] == pytest.approx(result["b"]["accuracy"] - result["a"]["accuracy"])
    low, high = result["interval"]["low"], result["interval"]["high"]
    assert low <= result["difference"] <= high
    text = fashionlab(repo, "compare", "HEAD~1", "HEAD")
    assert f"B - A: {result['difference']:+.4f}, 95% paired-bootstrap interval [{low:+.4f}, {high:+.4f}]" in text
    assert f"B fixed {result['fixed']} that A got wrong and broke {result['broken']} that A got right" in text
    markdown = fashionlab(repo, "compare", "HEAD~1", "HEAD", "--format", "markdown")
    assert f"| test accuracy | {eval_a['accuracy']:.4f} | {eval_b['accuracy']:.4f} |" in markdown
    experiment = json.loads(fashionlab(repo, "compare", "HEAD", "fast-upper", "--format", "json"))
    workspace = json.loads(fashionlab(repo, "compare", "--format", "json"))  # the experiment is applied there
    assert experiment["b"]["revision"] == "fast-upper" and experiment["b"]["commit"] != experiment["a"]["commit"]
    assert {key: value for key, value in experiment.items() if key not in ("b", "configuration")} == {
        key: value for key, value in workspace.items() if key not in ("b", "configuration")
    }
    # One seed on each side: the same runs, named by the revision the user gave.
    assert experiment["configuration"]["b_runs"][0] == {**workspace["configuration"]["b_runs"][0], "name": "fast-upper"}
    assert experiment["configuration"]["verdict"] is None
    assert snapshot(repo / "metrics") == before


def test_plots_show_draws_exactly_the_intended_plots(repo, first_run):
    """No CSV drawn a second time by itself with DVC's default template (as when declared as a stage plot)."""
    shown = json.loads(sh(repo, "dvc", "plots", "show", "--json").stdout)["data"]
    mistakes = {f"metrics/mistakes/{p.name}" for p in (repo / "metrics" / "mistakes").iterdir()}
    assert len(mistakes) == 10 and set(shown) == {"loss", "accuracy", "confusion", "per_class_f1"} | mistakes
    confusion = json.loads(sh(repo, "dvc", "plots", "show", "--show-vega", "confusion").stdout)
    layers = confusion["spec"]["layer"]
    assert layers[0]["encoding"]["color"]["field"] == "mistakes"  # the diagonal does not take the colour scale
    assert confusion["spec"]["encoding"]["y"]["title"] == "true class"
    out = sh(repo, "dvc", "plots", "show", "-o", "plots_html")
    html = (repo / "plots_html" / "index.html").read_text()
    assert "index.html" in out.stdout
    for name in ("loss", "accuracy", "confusion"):
        assert name in html


def worker_logs(repo) -> str:
    """What DVC's queue workers printed (`dvc queue logs` names one experiment, and follows a running one)."""
    return "".join(f"\n{path.name}:\n{path.read_text()}" for path in sorted(repo.glob(".dvc/tmp/exps/celery/*.out")))


def test_queued_seed_sweep_runs_in_parallel_and_groups_as_replicates(repo, fast_upper):
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "exp", "run", "--queue", "-S", "seed=1,2")
    sh(repo, "dvc", "queue", "start", "-j", "2")
    # The whole test took 64 s on the 2-core EPYC; DVC's queue can stall (treeverse/dvc#10398): fail, saying so.
    deadline = time.monotonic() + 300
    while "Queued" in (status := sh(repo, "dvc", "queue", "status").stdout) or "Running" in status:
        assert time.monotonic() < deadline, f"DVC's queue did not finish in 5 minutes:\n{status}{worker_logs(repo)}"
        time.sleep(2)
    assert "Failed" not in status, status + worker_logs(repo)
    shown = json.loads(sh(repo, "dvc", "exp", "show", "--json").stdout)
    accuracy = {}
    for commit in shown[1:]:  # after the workspace
        for exp in [commit, *(exp for group in commit.get("experiments") or [] for exp in group["revs"])]:
            data = exp["data"]
            rate = data["params"]["params.yaml"]["data"]["train"]["groups"]["upper"]["learning_rate"]
            seed = data["params"]["params.yaml"]["data"]["seed"]
            accuracy[seed, rate] = data["metrics"]["metrics/eval.json"]["data"]["accuracy"]
    assert set(accuracy) == {(42, 0.01), (1, 0.01), (2, 0.01), (42, 0.05)}
    summary = json.loads(fashionlab(repo, "replicates", "--format", "json"))
    default, fast = sorted(summary["groups"], key=lambda group: group["configuration"])
    assert default["configuration"] == "train.groups.upper.learning_rate=0.01"
    assert [(run["seed"], run["accuracy"]) for run in default["runs"]] == [
        (seed, accuracy[seed, 0.01]) for seed in (1, 2, 42)
    ]
    assert default["accuracy"]["mean"] == pytest.approx(sum(accuracy[seed, 0.01] for seed in (1, 2, 42)) / 3)
    assert [(run["name"], run["seed"]) for run in fast["runs"]] == [("fast-upper", 42)]
    assert fast["accuracy"]["sd"] is None and summary["skipped"] == 0


requires_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (.ci/run installs it): the offline charts are checked in a browser",
)


def charts_drawn(page: Path, profile: Path) -> list[int]:
    """Load `page` in headless Chromium with every host name unresolvable (no internet), let its scripts
    run, and count the marks (paths, text, rectangles) each Vega chart drew."""
    result = subprocess.run(
        [
            "chromium",
            *("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"),
            *("--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"),
            *("--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000", "--dump-dom", page.as_uri()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    charts = re.findall(r'<svg[^>]*class="marks".*?</svg>', result.stdout, re.S)
    return [len(re.findall(r"<(?:path|text|rect)\b", chart)) for chart in charts]


@requires_chromium
def test_plots_draw_without_internet(repo, first_run, tmp_path):
    """The project's page carries Vega: the four charts are drawn with no network; DVC's own page, which
    loads Vega from a CDN, draws none (the control)."""
    sh(repo, "dvc", "plots", "show", "-o", "offline_plots")
    drawn = charts_drawn(repo / "offline_plots" / "index.html", tmp_path / "profile")
    assert len(drawn) == 4 and min(drawn) > 20, drawn
    from dvc_render.html import PAGE_HTML

    (tmp_path / "cdn.html").write_text(PAGE_HTML)
    sh(repo, "dvc", "plots", "show", "--html-template", str(tmp_path / "cdn.html"), "-o", "cdn_plots")
    assert charts_drawn(repo / "cdn_plots" / "index.html", tmp_path / "profile") == []


def test_remote_push_then_fresh_clone_pull_has_nothing_to_reproduce(repo, first_run, tmp_path):
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")
    assert sh(repo, "dvc", "status", "--json").stdout.strip() == "{}"
    sh(repo, "dvc", "remote", "add", "--default", "storage", str(tmp_path / "remote"))
    sh(repo, "git", "commit", "-qam", "a DVC remote")
    sh(repo, "dvc", "push")
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    sh(clone, "dvc", "pull")
    result = sh(clone, "dvc", "repro")
    assert "Running stage" not in result.stdout
    assert sh(clone, "dvc", "status", "--json").stdout.strip() == "{}"
    assert (clone / "models" / "model.keras").read_bytes() == (repo / "models" / "model.keras").read_bytes()
