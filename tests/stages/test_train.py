"""stages/train.py: a NaN loss is one line, and the previous outputs stay."""

from tests.conftest import run_stage, save_split, snapshot, tiny_params, write_params
from tests.training.conftest import tiny_split


def test_train_stage_nan_loss_is_one_line_and_keeps_previous_outputs(tmp_path):
    (train_images, train_labels), (val_images, val_labels) = tiny_split()
    save_split(tmp_path / "data", "train", train_images, train_labels)
    save_split(tmp_path / "data", "val", val_images, val_labels)
    params = tiny_params(data={"train_subset": 250})
    params["train"]["groups"]["lower"]["learning_rate"] = 1e38
    write_params(tmp_path / "params.yaml", params)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("model.keras", "history.csv", "train.json", "timing.json"):
        (out / name).write_text(f"previous {name}")
    before = snapshot(out)
    result = run_stage(
        "train",
        "--params",
        str(tmp_path / "params.yaml"),
        "--data",
        str(tmp_path / "data"),
        "--checkpoint",
        str(tmp_path / "checkpoint"),
        "--model",
        str(out / "model.keras"),
        "--history",
        str(out / "history.csv"),
        "--summary",
        str(out / "train.json"),
        "--timing",
        str(out / "timing.json"),
    )
    assert result.returncode == 1
    assert result.stderr.startswith("train.py: error: loss became nan at epoch 1, step ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(out) == before
