"""Pictures of what a model gets wrong, for a person to read: each test image with what it was taken for.

`evaluate` writes one PNG per true class (its first misclassified test images), which `dvc plots diff`
sets side by side for two revisions; `fashionlab compare --images` draws the images one revision fixed
and the other broke. Text is drawn in the font Pillow ships, so a picture has the same bytes on every
machine with the pinned Pillow, offline too. No TensorFlow here: `compare` imports this module.
"""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLUMNS = 8
SCALE = 3  # 28-pixel images are too small to read in DVC's HTML report, which shows them at their size
GAP = 4  # white space between tiles; an empty slot (fewer images than tiles) stays white
LINE = 13  # pixels per line of text, for FONT_SIZE
FONT_SIZE = 11
MISTAKES_SHOWN = 16  # per class in `evaluate`'s pictures: two rows, the same size for every class


def file_name(class_name: str) -> str:
    """A portable file name for a class ("T-shirt/top" → "t-shirt-top.png")."""
    return re.sub(r"[^a-z0-9]+", "-", class_name.lower()).strip("-") + ".png"


def labelled_grid(title: str, images: np.ndarray, captions: list[list[str]], rows: int | None = None) -> bytes:
    """A PNG: `title` on top, then each image (uint8, H×W) enlarged in a grid of COLUMNS, its caption lines
    below it. `rows` fixes the grid's height (empty slots stay white), else it fits the images."""
    font = ImageFont.load_default(size=FONT_SIZE)
    lines = max((len(caption) for caption in captions), default=0)
    tile_h, tile_w = images.shape[1] * SCALE, images.shape[2] * SCALE
    cell_w, cell_h = tile_w + GAP, tile_h + lines * LINE + GAP
    rows = rows if rows is not None else max(1, -(-len(images) // COLUMNS))
    canvas = Image.new("L", (COLUMNS * cell_w + GAP, LINE + GAP + rows * cell_h + GAP), 255)
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, GAP // 2), title, fill=0, font=font)
    for slot, (image, caption) in enumerate(zip(images, captions, strict=True)):
        left, top = GAP + (slot % COLUMNS) * cell_w, LINE + GAP + (slot // COLUMNS) * cell_h
        canvas.paste(Image.fromarray(image).resize((tile_w, tile_h), Image.Resampling.NEAREST), (left, top))
        for i, text in enumerate(caption):
            draw.text((left, top + tile_h + i * LINE), _fit(draw, text, font, tile_w), fill=0, font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)  # no time or text chunks: the same pixels, the same bytes
    return buffer.getvalue()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """`text`, shortened with an ellipsis until it fits `width` pixels."""
    while draw.textlength(text, font=font) > width and len(text) > 1:
        text = text[:-2] + "…"
    return text


def mistake_grids(
    images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, class_names: tuple[str, ...]
) -> dict[str, bytes]:
    """{file name: PNG bytes}: per true class, its first misclassified test images, each captioned with the
    class it was taken for and its number in the test set.

    Every class gets a file of the same size, even without mistakes, so two revisions always have the same
    set of pictures and `dvc plots diff` shows them side by side.
    """
    grids = {}
    for k, name in enumerate(class_names):
        wrong = np.flatnonzero((labels == k) & (predictions != k))
        shown = wrong[:MISTAKES_SHOWN]
        title = f"{name}: the first {len(shown)} of {len(wrong)} mistakes, in test order"
        captions = [[f"as {class_names[predictions[i]]}", f"#{i}"] for i in shown]
        grids[file_name(name)] = labelled_grid(title, images[shown], captions, rows=MISTAKES_SHOWN // COLUMNS)
    return grids


CHANGES_SHOWN = 48  # per class and kind in compare's pictures: six rows


def change_grids(
    images: np.ndarray, actual: np.ndarray, a: np.ndarray, b: np.ndarray, class_names: tuple[str, ...]
) -> dict[str, bytes]:
    """{file name: PNG bytes}: per true class, the test images B fixed (A wrong, B right) and those it broke
    (A right, B wrong), each captioned with A's and B's prediction and its number; classes without any left
    out. Predictions are class indices per test image, in the test set's order."""
    grids = {}
    for kind, chosen in (("fixed", (a != actual) & (b == actual)), ("broke", (a == actual) & (b != actual))):
        for k, name in enumerate(class_names):
            changed = np.flatnonzero(chosen & (actual == k))
            if not len(changed):
                continue
            shown = changed[:CHANGES_SHOWN]
            first = f"the first {len(shown)} of {len(changed)}" if len(shown) < len(changed) else f"all {len(changed)}"
            title = f"{name}: B {kind} {len(changed)} test images ({first} shown, in test order)"
            captions = [[f"A: {class_names[a[i]]}", f"B: {class_names[b[i]]}", f"#{i}"] for i in shown]
            grids[f"{'fixed' if kind == 'fixed' else 'broken'}-{file_name(name)}"] = labelled_grid(
                title, images[shown], captions
            )
    return grids
