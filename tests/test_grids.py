import dataclasses

import numpy as np
import pytest
import torch
from conftest import GENERATORS

from csbench.errors import CsbenchError
from csbench.evaluate import RunOptions, Unit
from csbench.generators import load_generator_file
from csbench.grids import (
    PAD,
    class_tiles,
    grid_is_current,
    grid_path,
    read_grid,
    refresh_grid,
    write_grid,
    write_strip,
)
from csbench.leaderboard import _save
from csbench.sources import InMemory


def samples_of_class(labels):
    """Each sample a flat image of grey level 10 * label + its index among its class, so tiles say where they
    came from."""
    seen = {}
    images = []
    for label in labels:
        seen[label] = seen.get(label, -1) + 1
        images.append(torch.full((1, 4, 4), (10 * label + seen[label]) / 255))
    return torch.stack(images), torch.tensor(labels)


def test_a_grid_orders_tiles_by_label_keeps_drawing_order_within_a_class_and_names_its_inputs(tmp_path):
    samples, labels = samples_of_class([3, 1, 3, 0, 1, 3, 0, 0, 1, 2, 3])
    write_grid(tmp_path / "g.png", samples, labels, "ab" * 32, "sha256:cd")
    pixels, info = read_grid(tmp_path / "g.png")
    assert pixels.shape == (2 * (4 + PAD) + PAD, 10 * (4 + PAD) + PAD) and pixels.dtype == np.uint8
    assert info["labels"] == "0,0,0,1,1,1,2,3,3,3,3" and info["tile"] == "4x4"
    assert [int(pixels[PAD + 1, PAD + 1 + k * (4 + PAD)]) for k in range(4)] == [0, 1, 2, 10]
    tiles = class_tiles(tmp_path / "g.png", 5)
    assert [None if t is None else int(t[0, 0]) for t in tiles] == [0, 10, 20, 30, None]
    assert grid_is_current(tmp_path / "g.png", "ab" * 32, "sha256:cd")
    assert not grid_is_current(tmp_path / "g.png", "ef" * 32, "sha256:cd")
    before = (tmp_path / "g.png").read_bytes()
    write_grid(tmp_path / "g.png", samples, labels, "ab" * 32, "sha256:cd")
    assert (tmp_path / "g.png").read_bytes() == before


def test_a_damaged_grid_is_stale_and_reading_it_is_one_line(tmp_path):
    (tmp_path / "g.png").write_bytes(b"not a png")
    assert not grid_is_current(tmp_path / "g.png", "ab", "cd")
    with pytest.raises(CsbenchError, match="cannot read sample grid"):
        read_grid(tmp_path / "g.png")


def test_the_strip_shows_one_tile_per_class_for_each_generator(tmp_path):
    for name, labels in (("a", [0, 1, 2]), ("b", [2, 2, 2])):
        write_grid(tmp_path / f"{name}.png", *samples_of_class(labels), "ab", "cd")
    write_strip([("a", tmp_path / "a.png"), ("b", tmp_path / "b.png")], tmp_path / "strip.png", ["x", "y", "z"],
                _save)
    assert (tmp_path / "strip.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_refresh_grid_draws_seed_0s_first_100_samples_labelled_by_the_teacher_once(tiny_suite, tiny_data, tmp_path):
    gen = load_generator_file(GENERATORS / "real_data.py")
    calls = []

    @dataclasses.dataclass(frozen=True)
    class Counted(InMemory):
        def draw(self, suite, n, seed, options, train):
            calls.append((seed, n))
            return super().draw(suite, n, seed, options, train)

    unit = Unit(Counted(gen.sample, {"name": gen.name}, gen.path.parent), tiny_suite, tiny_suite.protocol(), 2,
                options=RunOptions(data_root=tiny_data))
    identity = {"name": "real_data", "file": "real_data.py", "sha256": "ab"}
    path = refresh_grid(unit, identity, tmp_path)
    assert path == grid_path(tmp_path, tiny_suite.name, "real_data") and calls == [(0, 100)]
    labels = [int(v) for v in read_grid(path)[1]["labels"].split(",")]
    assert len(labels) == 100 and labels == sorted(labels) and len(set(labels)) == 10
    refresh_grid(unit, identity, tmp_path)
    assert calls == [(0, 100)]  # current: not drawn again
    refresh_grid(unit, {**identity, "sha256": "cd"}, tmp_path)
    assert calls == [(0, 100), (0, 100)]  # another file: drawn again
