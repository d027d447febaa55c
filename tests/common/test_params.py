"""fashionlab.common.params: params.yaml validated into typed objects, one line naming the key for a bad value."""

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from dvc.utils.hydra import apply_overrides
from hypothesis import given, settings
from hypothesis import strategies as st

from fashionlab.common.errors import ParamsError
from fashionlab.common.params import (
    SCHEMA_FILE,
    json_schema,
    load_params,
    parse_params,
    parse_yaml,
    schema_text,
    written,
)
from tests.conftest import ROOT, default_params, snapshot, write_params


def test_default_params_load_into_typed_objects():
    params = load_params(ROOT / "params.yaml")
    assert params.seed == 42
    assert params.data.val_size == 5000 and params.data.train_size == 55_000
    assert params.model.layer_names == ("dense1", "norm1", "dense2", "norm2", "logits")
    assert list(params.train.groups) == ["lower", "upper"]
    assert params.train.groups["lower"].learning_rate == 1e-4 and params.train.groups["upper"].optimizer == "sgd"


def _error(mutate) -> str:
    raw = default_params()
    mutate(raw)
    with pytest.raises(ParamsError) as info:
        parse_params(raw, "params.yaml")
    return str(info.value)


CASES = {
    "negative val_size": (
        lambda p: p["data"].update(val_size=-5),
        "params.yaml: data.val_size: expected an integer in [0, 59999], got -5",
    ),
    "val_size leaves no training data": (
        lambda p: p["data"].update(val_size=60000),
        "params.yaml: data.val_size: expected an integer in [0, 59999], got 60000",
    ),
    "unknown key": (
        lambda p: p["train"].update(epoch=3),
        "params.yaml: train.epoch: unknown key, expected one of batch_size, distribute, epochs, groups, jit_compile, "
        "steps_per_call",
    ),
    "missing key": (lambda p: p["train"].pop("epochs"), "params.yaml: train.epochs: missing, expected an integer >= 1"),
    "steps per call below 1": (
        lambda p: p["train"].update(steps_per_call=0),
        "params.yaml: train.steps_per_call: expected an integer >= 1, got 0",
    ),
    "wrong type": (
        lambda p: p["train"].update(batch_size="128"),
        # the upper bound (the training split's size) is checked once every key has its type
        "params.yaml: train.batch_size: expected an integer >= 1, got '128'",
    ),
    "bool is not an integer": (
        lambda p: p.update(seed=True),
        "params.yaml: seed: expected an integer in [0, 2147483647], got True",
    ),
    "zero epochs": (
        lambda p: p["train"].update(epochs=0),
        "params.yaml: train.epochs: expected an integer >= 1, got 0",
    ),
    "batch larger than the training split": (
        lambda p: (p["data"].update(train_subset=100), p["train"].update(batch_size=128)),
        "params.yaml: train.batch_size: expected an integer in [1, 100], got 128",
    ),
    "zero learning rate": (
        lambda p: p["train"]["groups"]["lower"].update(learning_rate=0),
        "params.yaml: train.groups.lower.learning_rate: expected a number > 0, got 0",
    ),
    "negative learning rate": (
        lambda p: p["train"]["groups"]["upper"].update(learning_rate=-0.1),
        "params.yaml: train.groups.upper.learning_rate: expected a number > 0, got -0.1",
    ),
    "unknown optimizer": (
        lambda p: p["train"]["groups"]["lower"].update(optimizer="adagrad"),
        "params.yaml: train.groups.lower.optimizer: expected one of adam, sgd, rmsprop, adamw, got 'adagrad'",
    ),
    "layer in two groups": (
        lambda p: p["train"]["groups"]["upper"].update(layers=["logits", "norm2"]),
        "params.yaml: train.groups.upper.layers: expected each layer in exactly one group, "
        "got 'norm2' also in group 'lower'",
    ),
    "layer in no group": (
        lambda p: p["train"]["groups"]["lower"].update(layers=["dense1", "norm1", "dense2"]),
        "params.yaml: train.groups: expected every layer in a group (dense1, norm1, dense2, norm2, logits), "
        "got no group for norm2",
    ),
    "layer that does not exist": (
        lambda p: p["train"]["groups"]["upper"].update(layers=["logit"]),
        "params.yaml: train.groups.upper.layers: expected a non-empty list of layer names from "
        "dense1, norm1, dense2, norm2, logits, got 'logit'",
    ),
    "momentum for adam": (
        lambda p: p["train"]["groups"]["lower"].update(momentum=0.9),
        "params.yaml: train.groups.lower.momentum: expected no momentum for optimizer 'adam' "
        "(sgd and rmsprop only), got 0.9",
    ),
    "jit_compile not a boolean": (
        lambda p: p["train"].update(jit_compile="yes"),
        "params.yaml: train.jit_compile: expected true or false, got 'yes'",
    ),
    "unknown strategy": (
        lambda p: p["train"].update(distribute="tpu"),
        "params.yaml: train.distribute: expected one of none, mirrored, multi_worker, got 'tpu'",
    ),
    "unknown dataset": (
        lambda p: p["data"].update(dataset="cifar10"),
        "params.yaml: data.dataset: expected one of fashion_mnist, mnist, got 'cifar10'",
    ),
    "section not a mapping": (
        lambda p: p.update(model=[1, 2]),
        "params.yaml: model: expected a mapping, got a list [1, 2]",
    ),
    "norm implementation": (
        lambda p: p["model"].update(norm="batch"),
        "params.yaml: model.norm: expected one of custom, keras, none, got 'batch'",
    ),
    "hidden unit below 1": (
        lambda p: p["model"].update(hidden_units=[512, 0]),
        "params.yaml: model.hidden_units[1]: expected an integer >= 1, got 0",
    ),
    "subset larger than what the validation split leaves": (
        lambda p: p["data"].update(train_subset=56000),
        "params.yaml: data.train_subset: expected an integer in [1, 55000], got 56000",
    ),
    "NaN learning rate": (
        lambda p: p["train"]["groups"]["lower"].update(learning_rate=float("nan")),
        "params.yaml: train.groups.lower.learning_rate: expected a number > 0, got nan",
    ),
    "weight decay for sgd": (
        lambda p: p["train"]["groups"]["upper"].update(weight_decay=0.1),
        "params.yaml: train.groups.upper.weight_decay: expected no weight_decay for optimizer 'sgd' (adamw only), "
        "got 0.1",
    ),
    "momentum of 1": (
        lambda p: p["train"]["groups"]["upper"].update(momentum=1),
        "params.yaml: train.groups.upper.momentum: expected a number in [0, 1), got 1",
    ),
    "subset neither an integer nor null": (
        lambda p: p["data"].update(train_subset="x"),
        "params.yaml: data.train_subset: expected an integer >= 1 or null, got 'x'",
    ),
    "missing section": (lambda p: p.pop("evaluate"), "params.yaml: evaluate: missing, expected a mapping"),
    "no optimizer group": (
        lambda p: p["train"].update(groups={}),
        "params.yaml: train.groups: expected a non-empty mapping, got a mapping",
    ),
    "empty hidden units": (
        lambda p: p["model"].update(hidden_units=[]),
        "params.yaml: model.hidden_units: expected a non-empty list of integers >= 1, got a list []",
    ),
}


@pytest.mark.parametrize("mutate, message", CASES.values(), ids=CASES.keys())
def test_bad_params_give_one_line_naming_file_key_expected_and_found(mutate, message):
    assert _error(mutate) == message


def test_top_level_not_a_mapping():
    with pytest.raises(ParamsError, match=r"^params.yaml: \(top level\): expected a mapping, got a list \[1\]$"):
        parse_params([1])


def test_params_schema_json_is_the_one_the_models_generate():
    """Stale after a change to the declarations or the shipped values: run `make docs`."""
    assert (ROOT / SCHEMA_FILE).read_text() == schema_text(default_params())


def test_schema_shows_each_default_as_params_yaml_writes_it():
    """Small numbers as a person writes them, and as params.yaml does: 1e-4, not 0.0001 or 1e-05."""
    text = (ROOT / SCHEMA_FILE).read_text()
    schema = json.loads(text)
    assert schema["$defs"]["ParityParams"]["properties"]["tolerance"]["default"] == 1e-5
    assert schema["$defs"]["TrainParams"]["properties"]["groups"]["default"]["lower"]["learning_rate"] == 1e-4
    assert '"default": 1e-5' in text and '"learning_rate": 1e-4' in text and "0.0001" not in text
    assert "tolerance: 1e-5 " in (ROOT / "params.yaml").read_text()


@pytest.mark.parametrize(
    "value, shown",
    [
        *((1e-4, "1e-4"), (3e-4, "3e-4"), (2.5e-5, "2.5e-5"), (1e-300, "1e-300"), (-1e-6, "-1e-6")),
        *((0.001, "0.001"), (0.05, "0.05"), (20.0, "20.0"), (0.0, "0.0"), (float("inf"), "inf")),
    ],
)
def test_written_is_how_people_write_a_number(value, shown):
    assert written(value) == shown


@settings(max_examples=300, deadline=None)
@given(value=st.floats(), typed=st.sampled_from([repr, written, lambda value: repr(value).upper()]))
def test_a_float_dvc_writes_after_dash_s_reads_back_as_that_float(value, typed):
    """Through DVC's own writer (`dvc exp run -S key=VALUE` goes through `apply_overrides`), typed as Python
    prints it, as people write it (1e-4) or in capitals (1E-06), then through the stages' reader."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "params.yaml"
        path.write_text((ROOT / "params.yaml").read_text())
        apply_overrides(path, [f"{LEARNING_RATE}={typed(value)}"])
        read = parse_yaml(path.read_text(), path)["train"]["groups"]["lower"]["learning_rate"]
    assert read == value or (math.isnan(read) and math.isnan(value))
    assert isinstance(read, float)


LEARNING_RATE = "train.groups.lower.learning_rate"


def test_schema_carries_each_keys_meaning_and_bounds_and_forbids_unknown_keys():
    schema = json_schema(default_params())
    sections = [schema, *schema["$defs"].values()]
    assert all(section["additionalProperties"] is False for section in sections)
    val_size = schema["$defs"]["DataParams"]["properties"]["val_size"]
    assert (val_size["type"], val_size["minimum"], val_size["maximum"]) == ("integer", 0, 59999)
    leaves = [p for section in sections for p in section["properties"].values() if "$ref" not in p]
    assert leaves and all(p["description"] for p in leaves)


def test_params_yaml_points_yaml_language_servers_at_the_schema():
    assert (ROOT / "params.yaml").read_text().splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_FILE}"


def test_norm_none_removes_norm_layers_from_valid_group_names():
    raw = default_params()
    raw["model"]["norm"] = "none"
    raw["train"]["groups"]["lower"]["layers"] = ["dense1", "dense2"]
    assert parse_params(raw).model.layer_names == ("dense1", "dense2", "logits")


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match=r"nope.yaml: file not found"):
        load_params(tmp_path / "nope.yaml")


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 42\ndata: [unclosed\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line ") and "invalid YAML" in message and "\n" not in message


@pytest.fixture
def previous_outputs(tmp_path):
    """A folder standing for the outputs of the last good run, which a failed run must not touch."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("train.npz", "val.npz", "test.npz", "m.json"):
        (out / name).write_bytes(f"previous {name}".encode())
    return out


def _prepare_with(tmp_path, out):
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "stages" / "prepare.py"),
            "--params",
            "params.yaml",
            "--out",
            str(out),
            "--metrics",
            str(out / "m.json"),
            "--dataset",
            str(out / "dataset.json"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("mutate, message", CASES.values(), ids=CASES.keys())
def test_stage_exits_2_with_the_line_and_keeps_previous_outputs(tmp_path, previous_outputs, mutate, message):
    raw = default_params()
    mutate(raw)
    write_params(tmp_path / "params.yaml", raw)
    before = snapshot(previous_outputs)
    result = _prepare_with(tmp_path, previous_outputs)
    assert result.returncode == 2
    assert result.stderr == f"prepare.py: error: {message}\n"
    assert snapshot(previous_outputs) == before


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "params.yaml: file not found, expected the pipeline's parameters"),
        (
            "seed: 42\ndata: [unclosed\n",
            "params.yaml: line 3, column 1: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        ("- just\n- a list\n", "params.yaml: (top level): expected a mapping, got a list ['just', 'a list']"),
    ],
    ids=["missing file", "YAML syntax error", "not a mapping"],
)
def test_stage_on_unreadable_params_file(tmp_path, previous_outputs, content, message):
    if content is not None:
        (tmp_path / "params.yaml").write_text(content)
    before = snapshot(previous_outputs)
    result = _prepare_with(tmp_path, previous_outputs)
    assert result.returncode == 2
    assert result.stderr == f"prepare.py: error: {message}\n"
    assert snapshot(previous_outputs) == before


@pytest.mark.parametrize(
    "written_as, value",
    [("1e-6", 1e-6), ("1E-3", 1e-3), ("5e+2", 500.0), (".5", 0.5), ("1e-06", 1e-6), ("3e-4", 3e-4), ("2", 2)],
)
def test_numbers_are_read_as_dvc_reads_them(tmp_path, written_as, value):
    """YAML 1.2, DVC's parser: `1e-6` is a number (PyYAML's YAML 1.1 read the string '1e-6', refused as a
    learning rate although `dvc exp run -S` wrote it and `dvc exp show` showed the number)."""
    text = (ROOT / "params.yaml").read_text().replace("learning_rate: 1e-4", f"learning_rate: {written_as}")
    (tmp_path / "params.yaml").write_text(text)
    assert load_params(tmp_path / "params.yaml").train.groups["lower"].learning_rate == value


TYPED = {
    "text where a number is expected": (
        ("learning_rate: 1e-4", "learning_rate: 1e-6x"),
        "params.yaml: train.groups.lower.learning_rate: expected a number > 0, got '1e-6x'",
    ),
    "a negative number, as typed": (
        ("learning_rate: 1e-4", "learning_rate: -1e-3"),
        "params.yaml: train.groups.lower.learning_rate: expected a number > 0, got -1e-3",
    ),
    "a float where an integer is expected, as typed": (
        ("epochs: 20", "epochs: 1e3"),
        "params.yaml: train.epochs: expected an integer >= 1, got 1e3 (a float: write 1000)",
    ),
    "a float where an integer is expected, as DVC writes -S train.epochs=1e3": (
        ("epochs: 20", "epochs: 1000.0"),
        "params.yaml: train.epochs: expected an integer >= 1, got 1000.0 (a float: write 1000)",
    ),
    "a fraction where an integer is expected": (
        ("val_size: 5000", "val_size: 2.5e3"),
        "params.yaml: data.val_size: expected an integer in [0, 59999], got 2.5e3 (a float: write 2500)",
    ),
    "YAML 1.1's yes is not a boolean": (
        ("jit_compile: true", "jit_compile: yes"),
        "params.yaml: train.jit_compile: expected true or false, got 'yes'",
    ),
}


@pytest.mark.parametrize("change, message", TYPED.values(), ids=TYPED.keys())
def test_stage_names_a_bad_value_as_the_file_writes_it(tmp_path, previous_outputs, change, message):
    text = (ROOT / "params.yaml").read_text()
    assert change[0] in text
    (tmp_path / "params.yaml").write_text(text.replace(change[0], change[1], 1))
    before = snapshot(previous_outputs)
    result = _prepare_with(tmp_path, previous_outputs)
    assert (result.returncode, result.stderr) == (2, f"prepare.py: error: {message}\n")
    assert snapshot(previous_outputs) == before


def test_a_duplicate_key_is_refused_as_dvc_refuses_it(tmp_path):
    """PyYAML kept the last of two `epochs:`; DVC's parser, and so the stages, refuse the file."""
    (tmp_path / "params.yaml").write_text(
        (ROOT / "params.yaml").read_text().replace("  epochs: 20\n", "  epochs: 20\n  epochs: 5\n")
    )
    with pytest.raises(
        ParamsError, match=r'^.*params.yaml: line \d+, column 3: invalid YAML: found duplicate key "epochs"'
    ):
        load_params(tmp_path / "params.yaml")
