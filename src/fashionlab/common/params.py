"""`params.yaml` as frozen pydantic models: each key declared once, with its type, bounds and meaning.

The checks, the one-line errors, `params.schema.json` (which YAML language servers read while you type)
and the parameter table in `docs/reference/parameters.md` all derive from these declarations. A problem is
one line naming the file, the dotted key, what was expected and the value as the file writes it, so that a
typo in an experiment sweep fails at once instead of deep inside TensorFlow.

The file is read as DVC reads it, by its own parser (ruamel.yaml's safe loader, YAML 1.2): `1e-6` is a
number there, as `dvc exp run -S lr=1e-6`, `dvc params diff` and `dvc exp show` take it, where PyYAML's
YAML 1.1 rules read the string '1e-6' (treeverse/dvc#8466, yaml/pyyaml#173).
"""

from __future__ import annotations

import json
import math
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from fashionlab.common.errors import ParamsError

TRAIN_IMAGES = 60_000  # both Fashion-MNIST and MNIST ship 60,000 training and 10,000 test images
SCHEMA_FILE = "params.schema.json"


class _Section(BaseModel):
    # Strict: 128 is an integer and "128" is not; True is not 1. Unknown keys are errors.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class DataParams(_Section):
    dataset: Literal["fashion_mnist", "mnist"] = Field(
        description="`fashion_mnist`, or `mnist` (same IDX format, download only)"
    )
    source: str = Field(
        description="`auto`: Debian's `/usr/share/datasets/fashion-mnist` when present, else download; `download`; "
        "or a folder with the four `.gz` files",
        min_length=1,
    )
    cache_dir: str = Field(description="where downloaded archives are kept", min_length=1)
    val_size: int = Field(description="validation images, stratified by class", ge=0, le=TRAIN_IMAGES - 1)
    train_subset: int | None = Field(
        description="an integer for a seeded, stratified subset of the rest (quick experiments)", default=None, ge=1
    )

    @property
    def train_size(self) -> int:
        return self.train_subset if self.train_subset is not None else TRAIN_IMAGES - self.val_size


class ParityParams(_Section):
    tolerance: float = Field(
        description='largest |Δ| allowed for float32 cases ("variance" vs Keras, "std" vs float64)', gt=0
    )
    half_tolerance: float = Field(
        description="largest |Δ| allowed for float16 and bfloat16 cases (bfloat16: 0.03 per ulp in [4, 8))",
        gt=0,
    )


class ModelParams(_Section):
    hidden_units: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        description="one `dense{i}` → `norm{i}` → ReLU block each, then `logits`", min_length=1
    )
    dense: Literal["keras", "custom"] = Field(description="our `Dense` (`custom`) or Keras's (`keras`)")
    norm: Literal["custom", "keras", "none"] = Field(
        description="our `LayerNormalization` (`custom`), Keras's (`keras`), or `none` to drop the normalisation"
    )
    epsilon: float = Field(description="the normalisation's ε", gt=0)
    epsilon_placement: Literal["std", "variance"] = Field(
        description="`std`: `α(x − μ)/(σ + ε) + β`; `variance`: `α(x − μ)/√(σ² + ε) + β`, as Keras"
    )

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


class OptimizerGroup(_Section):
    layers: tuple[str, ...] = Field(
        description="the layers this group trains (every layer in exactly one group)", min_length=1
    )
    optimizer: Literal["adam", "sgd", "rmsprop", "adamw"] = Field(description="the group's optimizer")
    learning_rate: float = Field(description="the group's learning rate", gt=0)
    momentum: float = Field(description="SGD and RMSprop only", default=0.0, ge=0, lt=1)
    weight_decay: float = Field(description="AdamW only", default=0.0, ge=0)


class TrainParams(_Section):
    epochs: int = Field(description="passes over the training split", ge=1)
    batch_size: int = Field(
        description="images per optimisation step (a multiple of the replicas under a strategy)", ge=1
    )
    jit_compile: bool = Field(
        description="compile the training step with XLA (measured faster on CPU: docs/explanation/performance.md)"
    )
    steps_per_call: int = Field(
        description="optimisation steps per call into TensorFlow, batches gathered in the graph (under a "
        "strategy always 1: each batch is split across the replicas on the host)",
        ge=1,
    )
    distribute: Literal["none", "mirrored", "multi_worker"] = Field(
        description="`none`, `mirrored` (every local GPU) or `multi_worker` (the cluster in `TF_CONFIG`)"
    )
    groups: dict[str, OptimizerGroup] = Field(
        description="optimizer groups by name, each with its own optimizer and learning rate", min_length=1
    )


class EvaluateParams(_Section):
    batch_size: int = Field(description="test images per forward pass (memory, not results)", ge=1)


Numerics = Literal["portable", "native"]  # common/numerics.py says what each does


class Params(_Section):
    seed: int = Field(
        description="the split, the data order of every epoch and the initial weights",
        ge=0,
        le=2**31 - 1,
    )
    numerics: Numerics = Field(
        description="`portable`: the same bytes on every x86-64 CPU and thread count; `native`: each CPU's "
        "fastest kernels (docs/explanation/reproducibility.md)"
    )
    data: DataParams
    parity: ParityParams
    model: ModelParams
    train: TrainParams
    evaluate: EvaluateParams

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        """The rules that relate keys to each other, which a schema cannot say."""
        data, train = self.data, self.train
        if data.train_subset is not None and data.train_subset > TRAIN_IMAGES - data.val_size:
            raise _Problem("data.train_subset", f"an integer in [1, {TRAIN_IMAGES - data.val_size}]", data.train_subset)
        if self.numerics == "portable" and not train.jit_compile:
            # Only XLA's kernels are the same for any thread count: a step on TensorFlow's own differs by it.
            expected = "true under numerics: portable (or numerics: native)"
            raise _Problem("train.jit_compile", expected, train.jit_compile)
        if train.batch_size > data.train_size:
            raise _Problem("train.batch_size", f"an integer in [1, {data.train_size}]", train.batch_size)
        valid = self.model.layer_names
        owner: dict[str, str] = {}
        for name, group in train.groups.items():
            key = f"train.groups.{name}"
            for layer in group.layers:
                if layer not in valid:
                    raise _Problem(f"{key}.layers", f"a non-empty list of layer names from {', '.join(valid)}", layer)
                if layer in owner:
                    raise _Problem(
                        f"{key}.layers",
                        "each layer in exactly one group",
                        f"{layer!r} also in group {owner[layer]!r}",
                        shown=True,
                    )
                owner[layer] = name
            if group.momentum and group.optimizer not in ("sgd", "rmsprop"):
                expected = f"no momentum for optimizer {group.optimizer!r} (sgd and rmsprop only)"
                raise _Problem(f"{key}.momentum", expected, group.momentum)
            if group.weight_decay and group.optimizer != "adamw":
                expected = f"no weight_decay for optimizer {group.optimizer!r} (adamw only)"
                raise _Problem(f"{key}.weight_decay", expected, group.weight_decay)
        missing = [name for name in valid if name not in owner]
        if missing:
            expected = f"every layer in a group ({', '.join(valid)})"
            raise _Problem("train.groups", expected, f"no group for {', '.join(missing)}", shown=True)
        return self


class _Problem(Exception):
    """A cross-key rule broken; not a ValueError, so pydantic lets it through unchanged."""

    def __init__(self, key: str, expected: str, found: Any, shown: bool = False):
        super().__init__(key)
        self.key, self.expected, self.found = key, expected, found if shown else _show(found)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list {value!r}" if len(repr(value)) < 60 else "a list"
    return repr(value)


def _unwrap(annotation: Any) -> tuple[Any, list]:
    """The bare type and its constraints, from `Annotated[int, Field(ge=1)]` and the like."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        return base, [m for extra in extras for m in (extra.metadata if isinstance(extra, FieldInfo) else [extra])]
    return annotation, []


def _bound(metadata: list, name: str) -> Any:
    return next((getattr(m, name) for m in metadata if hasattr(m, name)), None)


def _number(word: str, metadata: list) -> str:
    ge, le, gt, lt = (_bound(metadata, name) for name in ("ge", "le", "gt", "lt"))
    if ge is not None and le is not None:
        return f"{word} in [{ge}, {le}]"
    if ge is not None and lt is not None:
        return f"{word} in [{ge}, {lt})"
    if gt is not None:
        return f"{word} > {gt}"
    return f"{word} >= {ge}" if ge is not None else word


def expected(annotation: Any, metadata: list) -> str:
    """What a value of this declared type and bounds looks like, in the words of the error messages."""
    annotation, more = _unwrap(annotation)
    metadata = [*metadata, *more]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(args)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in args if arg is not type(None)]
        return expected(inner, metadata) + " or null"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return _number("an integer", metadata)
    if annotation is float:
        return _number("a number", metadata)
    if annotation is str:
        return "a non-empty string" if _bound(metadata, "min_length") else "a string"
    if origin is tuple:
        item, item_bounds = _unwrap(args[0])
        items = {int: "integers", str: "strings"}[item]
        return f"a non-empty list of {_number(items, item_bounds)}"
    return "a non-empty mapping" if _bound(metadata, "min_length") else "a mapping"


def _field_at(loc: tuple) -> tuple[str, Any, list, type[BaseModel] | None]:
    """The dotted key, declared type and bounds of the value at `loc`, and the model it belongs to."""
    section: Any = Params
    key, annotation, metadata, owner = "", Params, [], None
    for part in loc:
        base, _ = _unwrap(annotation)
        if isinstance(part, int):
            key += f"[{part}]"
            annotation, metadata = get_args(base)[0], []
            continue
        if get_origin(base) is dict:
            annotation, metadata = get_args(base)[1], []
        elif isinstance(section, type) and issubclass(section, BaseModel):
            owner = section
            field = section.model_fields.get(part)
            if field is None:  # an unknown key
                return f"{key}.{part}" if key else str(part), None, [], owner
            annotation, metadata = field.annotation, field.metadata
        key = f"{key}.{part}" if key else str(part)
        section, _ = _unwrap(annotation)
    return key, annotation, metadata, owner


def _one_line(error: dict, file: str, text: str | None) -> str:
    key, annotation, metadata, owner = _field_at(tuple(error["loc"]))
    if error["type"] == "extra_forbidden":
        return f"{file}: {key}: unknown key, expected one of {', '.join(sorted(owner.model_fields))}"
    what = expected(annotation, metadata)
    if error["type"] == "missing":
        return f"{file}: {key or '(top level)'}: missing, expected {what}"
    found = error["input"]
    number = isinstance(found, int | float) and not isinstance(found, bool) and math.isfinite(found)
    typed = _written_in(text, tuple(error["loc"])) if number and text is not None else None
    shown = _show(found) if typed is None else typed
    if isinstance(found, float) and what.startswith("an integer"):
        shown += f" (a float: write {int(found)})" if found.is_integer() else " (a float)"
    return f"{file}: {key or '(top level)'}: expected {what}, got {shown}"


def _written_in(text: str, loc: tuple) -> str | None:
    """The number at `loc` as the file writes it (`1e3`, `5e-4`), not as it was read (1000.0, 0.0005)."""
    node = _yaml().compose(text)
    for part in loc:
        if isinstance(node, MappingNode):
            node = next((value for name, value in node.value if name.value == part), None)
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node.value if isinstance(node, ScalarNode) and node.style is None else None


def parse_params(raw: Any, file: str = "params.yaml", text: str | None = None) -> Params:
    """Validate an already-parsed mapping (the content of `params.yaml`, whose `text` lets an error show a value
    as written); the first problem is the error."""
    try:
        # Through JSON: strict mode then takes YAML's lists for tuples and its integers for floats.
        return Params.model_validate_json(json.dumps(raw, default=str), strict=True)
    except _Problem as problem:
        raise ParamsError(f"{file}: {problem.key}: expected {problem.expected}, got {problem.found}") from None
    except ValidationError as err:
        raise ParamsError(_one_line(err.errors()[0], file, text)) from None


def _yaml() -> YAML:
    """DVC's own reader of params.yaml and dvc.lock (`dvc.utils.serialize.parse_yaml`): YAML 1.2, safe."""
    return YAML(typ="safe", pure=True)


def parse_yaml(text: str, file: str | Path) -> Any:
    """`text` read as DVC reads YAML; a file it cannot read is one line, with where and why."""
    try:
        return _yaml().load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ParamsError(f"{file}: {where}invalid YAML: {problem}") from None


def load_params(path: str | Path) -> Params:
    """Read and validate `path`; raise `ParamsError` with a one-line message on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found, expected the pipeline's parameters") from None
    except OSError as err:
        raise ParamsError(f"{path}: cannot read: {err.strerror}") from None
    return parse_params(parse_yaml(text, path), str(path), text)


def json_schema(values: dict) -> dict:
    """The JSON Schema of `params.yaml`, for YAML language servers (completion, hover, checks as you type), with
    each key's default from `values` (the shipped `params.yaml`), which they show and complete."""
    schema = Params.model_json_schema()
    for name, field in Params.model_fields.items():
        base, _ = _unwrap(field.annotation)
        if isinstance(base, type) and issubclass(base, BaseModel):
            properties = schema["$defs"][base.__name__]["properties"]
            for key, value in values[name].items():
                properties[key]["default"] = value
        else:
            schema["properties"][name]["default"] = values[name]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "fashionlab params.yaml"}


def schema_text(values: dict) -> str:
    """`params.schema.json` as `make docs` writes it: small numbers as a person writes them (1e-4, not 0.0001)."""

    def marked(node: Any) -> Any:  # a float becomes its written form between NULs, unquoted after dumping
        if isinstance(node, float):
            return f"\0{written(node)}\0"
        if isinstance(node, dict):
            return {key: marked(value) for key, value in node.items()}
        return [marked(value) for value in node] if isinstance(node, list) else node

    text = json.dumps(marked(json_schema(values)), indent=2, ensure_ascii=False)
    return re.sub(r'"\\u0000(.*?)\\u0000"', r"\1", text) + "\n"


def written(value: float) -> str:
    """A float as people write it in params.yaml and after `-S`: 1e-4 and 2.5e-5, not 0.0001 and 2.5e-05; from
    0.001 up, as Python prints it (0.05). The shortest form that reads back as the same float."""
    if not 0 < abs(value) < 1e-3:  # NaN and infinity too
        return repr(value)
    shortest = next(text for digits in range(17) if float(text := f"{value:.{digits}e}") == value)
    mantissa, exponent = shortest.split("e")
    return f"{mantissa}e{int(exponent)}"


def parameter_table(values: dict) -> str:
    """The reference's table of every key: its value in `values` (the shipped `params.yaml`) and its meaning."""
    rows = ["| key | default | meaning |", "|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str, values: dict) -> None:
        for name, field in model.model_fields.items():
            key, value = f"{prefix}{name}", values.get(name)
            base, _ = _unwrap(field.annotation)
            if isinstance(base, type) and issubclass(base, BaseModel):
                walk(base, f"{key}.", value)
            elif get_origin(base) is dict:
                rows.append(f"| `{key}` | {', '.join(f'`{n}`' for n in value)} | {_cell(field.description)} |")
                group_model = get_args(base)[1]
                for group_name, group_values in value.items():
                    walk(group_model, f"{key}.{group_name}.", group_values)
            else:
                shown = f"`{_written_value(value)}`" if name in values else f"unset: `{_written_value(field.default)}`"
                rows.append(f"| `{key}` | {shown} | {_cell(field.description)} |")

    walk(Params, "", values)
    return "\n".join(rows) + "\n"


def _written_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return written(value) if isinstance(value, float) else json.dumps(value)


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|")
