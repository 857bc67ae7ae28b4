"""Sample grids: what a generator's samples look like, beside its scores on the board.

A grid holds the generator's first 100 samples of seed 0 (`sample(100, 0)`), ordered by the teacher's label (ties
in drawing order), 10 to a row, as a PNG in `<results>/<suite>/grids/<generator>.png`. Its text chunks name the
generator's identity (a digest of what `results.generator_provenance` names) and the teacher's pin, so a sweep
redraws only stale grids, and the tiles' labels, so the
README's strip can show one sample per class without drawing again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .cache import atomic_path
from .errors import CsbenchError

GRID_SAMPLES = 100
GRID_SEED = 0
COLUMNS = 10
PAD = 2  # pixels of background between tiles
BACKGROUND = 128


def grid_path(out_dir: Path | str, suite: str, generator: str) -> Path:
    return Path(out_dir) / suite / "grids" / f"{generator}.png"


def _box(i: int, h: int, w: int) -> tuple[slice, slice]:
    """Where tile i of h x w pixels lies in a grid."""
    r, k = divmod(i, COLUMNS)
    return slice(PAD + r * (h + PAD), PAD + r * (h + PAD) + h), slice(PAD + k * (w + PAD), PAD + k * (w + PAD) + w)


def tile_array(samples: torch.Tensor, labels: torch.Tensor) -> tuple[np.ndarray, list[int]]:
    """The samples (N, C, H, W) in [0, 1] sorted by label, as one uint8 image of rows of COLUMNS tiles
    ((H, W) grey or (H, W, 3) colour), and the labels in tile order."""
    order = torch.argsort(labels, stable=True)
    tiles = (samples[order].clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    n, h, w, c = tiles.shape
    rows = -(-n // COLUMNS)
    image = np.full((rows * (h + PAD) + PAD, COLUMNS * (w + PAD) + PAD, c), BACKGROUND, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        image[_box(i, h, w)] = tile
    return (image[..., 0] if c == 1 else image), labels[order].tolist()


def identity_digest(generator: dict) -> str:
    """One sha256 for a generator's identity (file, path, weights, siblings), as records name it."""
    return hashlib.sha256(json.dumps(generator, sort_keys=True).encode()).hexdigest()


def write_grid(path: Path, samples: torch.Tensor, labels: torch.Tensor, generator_digest: str, teacher_pin: str
               ) -> None:
    """The grid PNG, atomically; the same samples, labels and names give the same bytes."""
    from PIL import Image, PngImagePlugin

    image, tile_labels = tile_array(samples, labels)
    info = PngImagePlugin.PngInfo()
    for key, value in (("generator", generator_digest), ("teacher", teacher_pin),
                       ("tile", "x".join(map(str, samples.shape[2:]))), ("labels", ",".join(map(str, tile_labels)))):
        info.add_text(f"csbench-{key}", value)
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="png", pnginfo=info)


def read_grid(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    """(pixels, the csbench text chunks without their prefix); a file that is no csbench grid is one line."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            pixels, text = np.asarray(image), dict(getattr(image, "text", {}))
    except (OSError, ValueError) as exc:
        raise CsbenchError(f"cannot read sample grid {path}: {exc}") from None
    info = {k.removeprefix("csbench-"): v for k, v in text.items() if k.startswith("csbench-")}
    if not {"generator", "teacher", "tile", "labels"} <= set(info):
        raise CsbenchError(f"{path} is no csbench sample grid (its text chunks are missing)")
    return pixels, info


def grid_is_current(path: Path, generator_digest: str, teacher_pin: str) -> bool:
    try:
        _, info = read_grid(path) if path.is_file() else (None, {})
    except CsbenchError:
        return False
    return info.get("generator") == generator_digest and info.get("teacher") == teacher_pin


def refresh_grid(unit, generator: dict, out_dir: Path | str) -> Path:
    """The grid of the source of `unit` (a csbench.evaluate.Unit), whose identity is `generator` (what its records
    name), drawn from the source and written unless it is current. The teacher labels in eval mode, whatever the
    protocol."""
    from .evaluate import suite_inputs
    from .teacher import predict_logits

    suite = unit.suite
    path = grid_path(out_dir, suite.name, generator["name"])
    digest, pin = identity_digest(generator), str(suite.teacher.pin)
    if grid_is_current(path, digest, pin):
        return path
    teacher, train, _ = suite_inputs(suite, unit.options, unit.data)
    drawn = unit.source.draw(suite, GRID_SAMPLES, GRID_SEED, unit.options, train)
    labels = predict_logits(teacher, drawn.samples, device=unit.options.device).argmax(1).cpu()
    write_grid(path, drawn.samples, labels, digest, pin)
    return path


def class_tiles(path: Path, num_classes: int) -> list[np.ndarray | None]:
    """From a grid, the first tile of each teacher class (None for a class none of its samples has)."""
    pixels, info = read_grid(path)
    h, w = map(int, info["tile"].split("x"))
    labels = [int(v) for v in info["labels"].split(",")]
    found: list[np.ndarray | None] = [None] * num_classes
    for i, label in enumerate(labels):
        if 0 <= label < num_classes and found[label] is None:
            found[label] = pixels[_box(i, h, w)]
    return found


def write_strip(grids: Sequence[tuple[str, Path]], path: Path, classes: Sequence[str], save) -> None:
    """One row per generator (in the order given), one sample per teacher class from its grid, blank where the
    generator drew none of that class: the README's strip of the best generators' samples."""
    from .leaderboard import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(len(grids), len(classes), figsize=(0.9 * len(classes) + 1.6, 0.9 * len(grids) + 0.5),
                             squeeze=False)
    for row, (name, grid) in enumerate(grids):
        for col, tile in enumerate(class_tiles(grid, len(classes))):
            ax = axes[row][col]
            if tile is not None:
                ax.imshow(tile, cmap="gray" if tile.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(classes[col], fontsize=7)
        axes[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.3)
    save(fig, path)
    plt.close(fig)
