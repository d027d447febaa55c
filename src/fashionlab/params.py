"""Load `params.yaml` into typed, frozen objects, validating every key.

Each problem is one line naming the file, the dotted key, what was expected and what was found, so that
a typo in an experiment sweep fails at once instead of deep inside TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fashionlab.errors import ParamsError

TRAIN_IMAGES = 60_000  # both Fashion-MNIST and MNIST ship 60,000 training and 10,000 test images
DATASETS = ("fashion_mnist", "mnist")
DENSE_IMPLEMENTATIONS = ("keras", "custom")
NORM_IMPLEMENTATIONS = ("custom", "keras", "none")
EPSILON_PLACEMENTS = ("std", "variance")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
STRATEGIES = ("none", "mirrored", "multi_worker")


@dataclass(frozen=True)
class DataParams:
    dataset: str
    source: str  # "auto", "download", or a folder holding the four IDX .gz files
    cache_dir: str
    val_size: int
    train_subset: int | None

    @property
    def train_size(self) -> int:
        return self.train_subset if self.train_subset is not None else TRAIN_IMAGES - self.val_size


@dataclass(frozen=True)
class ParityParams:
    tolerance: float  # float32 cases: max |Δ| allowed against Keras ("variance") and float64 ("std")
    half_tolerance: float  # the same for float16 / bfloat16 inputs, whose outputs are rounded to 8-11 bits


@dataclass(frozen=True)
class ModelParams:
    hidden_units: tuple[int, ...]
    dense: str
    norm: str
    epsilon: float
    epsilon_placement: str

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the layers that own trainable variables, in model order."""
        names: list[str] = []
        for i in range(1, len(self.hidden_units) + 1):
            names.append(f"dense{i}")
            if self.norm != "none":
                names.append(f"norm{i}")
        names.append("logits")
        return tuple(names)


@dataclass(frozen=True)
class OptimizerGroup:
    name: str
    layers: tuple[str, ...]
    optimizer: str
    learning_rate: float
    momentum: float  # SGD and RMSprop only
    weight_decay: float  # AdamW only


@dataclass(frozen=True)
class TrainParams:
    epochs: int
    batch_size: int
    groups: tuple[OptimizerGroup, ...]
    jit_compile: bool  # compile the step with XLA
    distribute: str  # a tf.distribute strategy: none, mirrored or multi_worker


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int


@dataclass(frozen=True)
class Params:
    seed: int
    data: DataParams
    parity: ParityParams
    model: ModelParams
    train: TrainParams
    evaluate: EvaluateParams


class _Section:
    """Reads the keys of one mapping, each checked, then rejects whatever keys were not read."""

    def __init__(self, file: str, prefix: str, raw: Any):
        self.file = file
        self.prefix = prefix
        if not isinstance(raw, dict):
            self._fail(prefix or "(top level)", "a mapping", raw)
        self.raw = raw
        self.read: set[str] = set()

    def _fail(self, key: str, expected: str, found: Any) -> None:
        raise ParamsError(f"{self.file}: {key}: expected {expected}, got {_show(found)}")

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, expected: str) -> Any:
        self.read.add(name)
        if name not in self.raw:
            raise ParamsError(f"{self.file}: {self.key(name)}: missing, expected {expected}")
        return self.raw[name]

    def optional(self, name: str, default: Any) -> Any:
        self.read.add(name)
        return self.raw.get(name, default)

    def integer(self, name: str, low: int, high: int | None = None, value: Any = ...) -> int:
        expected = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
        if value is ...:
            value = self.get(name, expected)
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(self.key(name), expected, value)
        if value < low or (high is not None and value > high):
            self._fail(self.key(name), expected, value)
        return value

    def positive_float(self, name: str, value: Any = ..., allow_zero: bool = False) -> float:
        expected = "a number >= 0" if allow_zero else "a number > 0"
        if value is ...:
            value = self.get(name, expected)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < 0 or (value == 0 and not allow_zero):
            self._fail(self.key(name), expected, value)
        return float(value)

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        expected = "one of " + ", ".join(options)
        value = self.get(name, expected)
        if value not in options:
            self._fail(self.key(name), expected, value)
        return value

    def string(self, name: str) -> str:
        value = self.get(name, "a non-empty string")
        if not isinstance(value, str) or not value:
            self._fail(self.key(name), "a non-empty string", value)
        return value

    def section(self, name: str) -> _Section:
        return _Section(self.file, self.key(name), self.get(name, "a mapping"))

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.read, key=str)
        if unknown:
            known = ", ".join(sorted(self.read))
            raise ParamsError(f"{self.file}: {self.key(str(unknown[0]))}: unknown key, expected one of {known}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list {value!r}" if len(repr(value)) < 60 else "a list"
    return repr(value)


def load_params(path: str | Path) -> Params:
    """Read and validate `path`; raise `ParamsError` with a one-line message on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found, expected the pipeline's parameters") from None
    except OSError as err:
        raise ParamsError(f"{path}: cannot read: {err.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ParamsError(f"{path}: {where}invalid YAML: {problem}") from None
    return parse_params(raw, str(path))


def parse_params(raw: Any, file: str = "params.yaml") -> Params:
    """Validate an already-parsed mapping (the content of `params.yaml`)."""
    top = _Section(file, "", raw)
    seed = top.integer("seed", 0, 2**31 - 1)
    data = _parse_data(top.section("data"))
    parity = _parse_parity(top.section("parity"))
    model = _parse_model(top.section("model"))
    train = _parse_train(top.section("train"), model, data)
    evaluate_section = top.section("evaluate")
    evaluate = EvaluateParams(batch_size=evaluate_section.integer("batch_size", 1))
    evaluate_section.done()
    top.done()
    return Params(seed=seed, data=data, parity=parity, model=model, train=train, evaluate=evaluate)


def _parse_data(s: _Section) -> DataParams:
    dataset = s.choice("dataset", DATASETS)
    source = s.string("source")
    cache_dir = s.string("cache_dir")
    val_size = s.integer("val_size", 0, TRAIN_IMAGES - 1)
    subset = s.optional("train_subset", None)
    if subset is not None:
        subset = s.integer("train_subset", 1, TRAIN_IMAGES - val_size, value=subset)
    s.done()
    return DataParams(dataset, source, cache_dir, val_size, subset)


def _parse_parity(s: _Section) -> ParityParams:
    params = ParityParams(s.positive_float("tolerance"), s.positive_float("half_tolerance"))
    s.done()
    return params


def _parse_model(s: _Section) -> ModelParams:
    expected = "a non-empty list of integers >= 1"
    units = s.get("hidden_units", expected)
    if not isinstance(units, list) or not units:
        s._fail(s.key("hidden_units"), expected, units)
    hidden = tuple(s.integer(f"hidden_units[{i}]", 1, value=u) for i, u in enumerate(units))
    params = ModelParams(
        hidden_units=hidden,
        dense=s.choice("dense", DENSE_IMPLEMENTATIONS),
        norm=s.choice("norm", NORM_IMPLEMENTATIONS),
        epsilon=s.positive_float("epsilon"),
        epsilon_placement=s.choice("epsilon_placement", EPSILON_PLACEMENTS),
    )
    s.done()
    return params


def _parse_train(s: _Section, model: ModelParams, data: DataParams) -> TrainParams:
    epochs = s.integer("epochs", 1)
    batch_size = s.integer("batch_size", 1, data.train_size)
    groups_section = s.section("groups")
    groups = tuple(
        _parse_group(groups_section.section(str(name)), str(name), model.layer_names) for name in groups_section.raw
    )
    if not groups:
        s._fail(s.key("groups"), "at least one optimizer group", groups_section.raw)
    owner: dict[str, str] = {}
    for group in groups:
        for layer in group.layers:
            if layer in owner:
                raise ParamsError(
                    f"{s.file}: {s.key('groups')}.{group.name}.layers: expected each layer in exactly one "
                    f"group, got {layer!r} also in group {owner[layer]!r}"
                )
            owner[layer] = group.name
    missing = [name for name in model.layer_names if name not in owner]
    if missing:
        raise ParamsError(
            f"{s.file}: {s.key('groups')}: expected every layer in a group "
            f"({', '.join(model.layer_names)}), got no group for {', '.join(missing)}"
        )
    jit_compile = s.get("jit_compile", "true or false")
    if not isinstance(jit_compile, bool):
        s._fail(s.key("jit_compile"), "true or false", jit_compile)
    distribute = s.choice("distribute", STRATEGIES)
    s.done()
    return TrainParams(epochs, batch_size, groups, jit_compile, distribute)


def _parse_group(s: _Section, name: str, valid_layers: tuple[str, ...]) -> OptimizerGroup:
    expected = f"a non-empty list of layer names from {', '.join(valid_layers)}"
    layers = s.get("layers", expected)
    if not isinstance(layers, list) or not layers:
        s._fail(s.key("layers"), expected, layers)
    for layer in layers:
        if layer not in valid_layers:
            s._fail(s.key("layers"), expected, layer)
    optimizer = s.choice("optimizer", OPTIMIZERS)
    learning_rate = s.positive_float("learning_rate")
    momentum = s.optional("momentum", 0.0)
    if momentum and optimizer not in ("sgd", "rmsprop"):
        s._fail(s.key("momentum"), f"no momentum for optimizer {optimizer!r} (sgd and rmsprop only)", momentum)
    momentum = s.positive_float("momentum", value=momentum, allow_zero=True)
    if momentum >= 1:
        s._fail(s.key("momentum"), "a number in [0, 1)", momentum)
    weight_decay = s.optional("weight_decay", 0.0)
    if weight_decay and optimizer != "adamw":
        s._fail(s.key("weight_decay"), f"no weight_decay for optimizer {optimizer!r} (adamw only)", weight_decay)
    weight_decay = s.positive_float("weight_decay", value=weight_decay, allow_zero=True)
    s.done()
    return OptimizerGroup(name, tuple(layers), optimizer, learning_rate, momentum, weight_decay)
