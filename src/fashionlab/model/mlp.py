"""The classifier: an MLP whose layer implementations and sizes come from the `model` params, and its saved form."""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

from fashionlab.common.backend import keras
from fashionlab.common.errors import WriteError
from fashionlab.common.outputs import ZIP_EPOCH
from fashionlab.common.params import ModelParams
from fashionlab.data.idx import IMAGE_SIDE, NUM_CLASSES
from fashionlab.model import layers

SHARED_ID = re.compile(r'("shared_object_id": )(\d+)')


def _dense(params: ModelParams, units: int, name: str) -> keras.layers.Layer:
    if params.dense == "custom":
        return layers.Dense(units, name=name)
    return keras.layers.Dense(units, kernel_initializer="glorot_normal", name=name)


def _norm(params: ModelParams, name: str) -> keras.layers.Layer:
    if params.norm == "custom":
        return layers.LayerNormalization(params.epsilon, params.epsilon_placement, name=name)
    return keras.layers.LayerNormalization(epsilon=params.epsilon, name=name)


def build_model(params: ModelParams) -> keras.Model:
    """uint8 images in, logits out: Rescaling → Flatten → [Dense → Norm → ReLU] per hidden size → Dense(10).

    Layer names (`dense1`, `norm1`, …, `logits`) are stable, so optimizer groups can name them. The
    scaling to [0, 1] lives in the model, so the saved model takes raw images like the prepared data.
    Seed the global generator (`keras.utils.set_random_seed`) first: it draws the initial weights.
    """
    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), dtype="uint8", name="images")
    x = keras.layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(params.hidden_units, start=1):
        x = _dense(params, units, f"dense{i}")(x)
        if params.norm != "none":
            x = _norm(params, f"norm{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    logits = _dense(params, NUM_CLASSES, "logits")(x)
    return keras.Model(inputs, logits, name="fashion_mlp")


def saved_bytes(model: keras.Model) -> bytes:
    """The `.keras` archive of `model`, the same bytes whenever the weights and configuration are the same.

    Keras stamps each save with the date (metadata.json and the weights entry's time) and writes Python
    object ids as `shared_object_id`s, so every save differed and DVC saw a new model at every rerun. The
    date becomes the archive epoch, the ids their order of appearance (Keras only matches them to each
    other); nothing else changes, and the archive loads as before.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        try:
            model.save(path)
            raw = path.read_bytes()
        except OSError as err:
            raise WriteError(path, err) from None
    source, buffer = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w") as archive:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "metadata.json":
                metadata = json.loads(data)
                metadata["date_saved"] = "{:04}-{:02}-{:02}@{:02}:{:02}:{:02}".format(*ZIP_EPOCH)
                data = json.dumps(metadata).encode()
            elif entry.filename == "config.json":
                data = _number_shared_ids(data.decode()).encode()
            archive.writestr(zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH), data, entry.compress_type)
    return buffer.getvalue()


def _number_shared_ids(config: str) -> str:
    """Each distinct `shared_object_id` becomes 1, 2, … in order of first appearance."""
    ids: dict[str, str] = {}
    return SHARED_ID.sub(lambda m: m[1] + ids.setdefault(m[2], str(len(ids) + 1)), config)
