"""Samples people already have as inputs (csbench.sample_files, csbench.sources, csbench.declarations): a folder of
PNGs and an .npz of a generator's samples score exactly as the generator file does; every bad input is one line
with nothing written; a declaration is downloaded from 127.0.0.1, pin-checked and scored."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import GENERATORS
from PIL import Image
from test_downloads import server  # noqa: F401 (a fixture)

import csbench.api
from csbench.data import load_split
from csbench.errors import CsbenchError
from csbench.evaluate import RunOptions, evaluate
from csbench.generators import SampleContext, load_generator_file
from csbench.quality import spread
from csbench.results import read_record
from csbench.sample_files import SamplesError, inspect
from csbench.sandbox import Limits
from csbench.sources import Samples


def drawn_by_generator(tiny_suite, tiny_data, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """real_five_classes' samples for `seed` as uint8 (n, 28, 28) and its labels: what its sampling script would
    have saved."""
    gen = load_generator_file(GENERATORS / "real_five_classes.py")
    ctx = SampleContext(tiny_suite.name, tiny_suite.image_shape, tiny_suite.num_classes, GENERATORS,
                        train=load_split("fashion-mnist", "train", tiny_data))
    images, labels = gen.sample(n, seed, ctx)
    pixels = (images * 255).round().to(torch.uint8)
    assert torch.equal(pixels.float().div(255), images)  # PNG and uint8 hold these exactly
    return pixels[:, 0].numpy(), labels.numpy()


def write_png_folder(folder: Path, images: np.ndarray, labels: np.ndarray | None = None) -> Path:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    if labels is not None:
        (folder / "labels.txt").write_text("".join(f"{v}\n" for v in labels))
    return folder


def run(tiny_suite, tiny_data, tmp_path, path, **kw):
    return evaluate(path, tiny_suite.name, suite=tiny_suite, options=kw.pop("options", RunOptions(data_root=tiny_data)),
                    out_dir=tmp_path / "results", seeds=kw.pop("seeds", [0]), **kw)


def test_png_folder_npz_and_arrays_score_as_the_generator_file_that_drew_them(tiny_suite, tiny_data, tmp_path):
    """Same seed, same samples: CS, CAS and per-class CS agree to the bit with the generator file's; the
    teacher-space IS, FID and KID to float precision only, as they do between the folder and the .npz of the same
    bytes (the teacher's features vary in their last bits from one evaluation to the next in a process)."""
    images, labels = drawn_by_generator(tiny_suite, tiny_data, tiny_suite.protocol().samples)
    folder = write_png_folder(tmp_path / "pngs", images, labels)
    np.savez(tmp_path / "samples.npz", images[..., None], labels)  # arr_0 channels last, arr_1 labels
    sandboxed = run(tiny_suite, tiny_data, tmp_path / "g", GENERATORS / "real_five_classes.py")
    generator = run(tiny_suite, tiny_data, tmp_path / "i", GENERATORS / "real_five_classes.py", in_process=True)
    from_folder = run(tiny_suite, tiny_data, tmp_path / "f", folder)
    from_npz = run(tiny_suite, tiny_data, tmp_path / "z", tmp_path / "samples.npz")
    from_arrays = csbench.api.score(samples=torch.from_numpy(images), labels=labels, suite_record=tiny_suite,
                                    seeds=[0], device="cpu", options=RunOptions(data_root=tiny_data))
    for record in (sandboxed, from_folder, from_npz, from_arrays):
        assert record.raw_scores == generator.raw_scores and record.cs == generator.cs
        assert record.cas == generator.cas is not None
        assert record.per_class == generator.per_class
        for metric in ("fid", "is", "kid"):
            assert record.metrics["teacher"][metric] == pytest.approx(generator.metrics["teacher"][metric], rel=1e-6)
    for record in (from_folder, from_npz, from_arrays):
        assert record.sandbox == {"read_by_harness": True}
    assert from_folder.generator["samples"] == {"format": "image-folder", "count": 600, "layout": "grayscale (H, W)",
                                                "dtype": "uint8", "labelled": True, "slices": 1}
    assert from_npz.generator["sha256"] == hashlib.sha256((tmp_path / "samples.npz").read_bytes()).hexdigest()
    assert from_npz.generator["samples"]["layout"] == "channels last"
    assert from_folder.generator["name"] == "pngs" and from_npz.generator["file"] == "samples.npz"


def test_a_folder_is_named_by_its_sorted_file_list_and_contents(tiny_suite, tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    first = inspect(write_png_folder(tmp_path / "a", images), tiny_suite.image_shape, 10)
    same = inspect(write_png_folder(tmp_path / "b", images), tiny_suite.image_shape, 10)
    assert first.sha256 == same.sha256 and first.labels is None
    (tmp_path / "b" / "00001.png").rename(tmp_path / "b" / "00009.png")
    assert inspect(tmp_path / "b", tiny_suite.image_shape, 10).sha256 != first.sha256
    (tmp_path / "c").mkdir()
    for k in (0, 3):  # class subfolders named by index give the labels
        write_png_folder(tmp_path / "c" / str(k), images[:2])
    assert inspect(tmp_path / "c", tiny_suite.image_shape, 10).labels == (0, 0, 3, 3)


def test_seeds_read_disjoint_slices_and_too_few_samples_are_refused(tiny_suite, tiny_data, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (1300, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "s.npy", images)
    source = Samples("s", inspect(tmp_path / "s.npy", tiny_suite.image_shape, 10))
    options = RunOptions()
    for seed, first in ((0, 0), (1, 1), (2, 0)):  # 1,300 samples hold two disjoint, interleaved slices of 600
        drawn = source.draw(tiny_suite, 600, seed, options, None)
        assert torch.equal(drawn.samples[:, 0], torch.from_numpy(images[first: 1200: 2]).float() / 255)
        assert drawn.generator["samples"]["slices"] == 2 and drawn.labels is None
    np.save(tmp_path / "few.npy", images[:500])
    with pytest.raises(SamplesError, match=r"holds 500 samples; the protocol needs 600 per seed \(--samples 500"):
        run(tiny_suite, tiny_data, tmp_path, tmp_path / "few.npy")
    assert not (tmp_path / "results").exists()
    record = run(tiny_suite, tiny_data, tmp_path, tmp_path / "few.npy", samples=500)
    assert record.protocol["samples"] == 500


def test_a_file_written_class_by_class_gives_every_seed_and_every_metric_subset_all_classes(tiny_suite, tmp_path):
    labels = np.repeat(np.arange(10), 130)  # sorted by class, as class subfolders read
    images = np.random.default_rng(1).integers(0, 256, (1300, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "sorted.npz", images=images, labels=labels)
    source = Samples("sorted", inspect(tmp_path / "sorted.npz", tiny_suite.image_shape, 10))
    for seed in (0, 1):
        drawn = source.draw(tiny_suite, 600, seed, RunOptions(), None)
        assert torch.bincount(drawn.labels, minlength=10).tolist() == [65] * 9 + [15]  # rows to 1,199 of 1,300
    rows = spread(600, 100)  # the pairwise metrics' and copy measures' subset of a seed
    assert (rows.start, rows.step) == (0, 6) and len(range(600)[rows]) == 100
    assert set(labels[:1200:2][rows].tolist()) == set(range(10))


def test_evaluate_refuses_to_replace_a_record_of_other_bytes_under_the_same_name(tiny_suite, tiny_data, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (600, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "s.npy", images)
    run(tiny_suite, tiny_data, tmp_path, tmp_path / "s.npy")
    record_file = tmp_path / "results" / tiny_suite.name / "s.json"
    before = record_file.read_bytes()
    images[0, 0, 0] ^= 1
    (tmp_path / "other").mkdir()
    np.save(tmp_path / "other" / "s.npy", images)
    with pytest.raises(CsbenchError, match=r"holds the record of samples s.npy \(sha256 .*pass --replace"):
        run(tiny_suite, tiny_data, tmp_path, tmp_path / "other" / "s.npy")
    assert record_file.read_bytes() == before
    replaced = run(tiny_suite, tiny_data, tmp_path, tmp_path / "other" / "s.npy", replace=True)
    assert read_record(record_file) == replaced


def png_bytes(image: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def claiming(png: bytes, width: int, height: int) -> bytes:
    """`png` with its IHDR rewritten to claim another size (CRC fixed), as a decompression bomb does."""
    ihdr = png[12:29]
    fields = b"IHDR" + struct.pack(">II", width, height) + ihdr[12:]
    return png[:8] + png[8:12] + fields + struct.pack(">I", zlib.crc32(fields)) + png[33:]


GRAY = np.full((28, 28), 100, dtype=np.uint8)


def folder_of(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "bad"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def npy(tmp_path: Path, array: np.ndarray) -> Path:
    np.save(tmp_path / "bad.npy", array)
    return tmp_path / "bad.npy"


def truncated(path: Path, keep: int) -> Path:
    path.write_bytes(path.read_bytes()[:keep])
    return path


def corrupt_png() -> bytes:
    data = bytearray(png_bytes(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)))
    data[60] ^= 0xFF  # inside IDAT: its CRC no longer matches
    return bytes(data)


def jpeg_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


BAD_INPUTS = {
    "rank": (lambda t: npy(t, np.zeros((600, 784), np.uint8)), r"bad.npy is an array of rank 2; expected"),
    "shape": (lambda t: npy(t, np.zeros((600, 28, 27), np.uint8)), r"holds samples of shape \(28, 27\); this suite "
              r"needs \(1, 28, 28\) or \(28, 28, 1\) or \(28, 28\)"),
    "channels": (lambda t: npy(t, np.zeros((600, 3, 28, 28), np.uint8)), r"holds samples of shape \(3, 28, 28\)"),
    "rgb image": (lambda t: folder_of(t, {"0.png": png_bytes(np.zeros((28, 28, 3), np.uint8))}),
                  r"0.png in bad has mode RGB; this suite needs L \(grayscale\) images"),
    "mixed sizes": (lambda t: folder_of(t, {"0.png": png_bytes(GRAY), "1.png": png_bytes(GRAY[:27])}),
                    r"1.png in bad is 28x27 pixels; this suite's images are 28x28 \(every image"),
    "nan": (lambda t: npy(t, np.where(np.arange(600)[:, None, None] == 599, np.nan, 0.5 + 0 * GRAY[None])
                          .astype(np.float32)), r"bad.npy holds NaN or infinite values"),
    "inf": (lambda t: npy(t, np.full((600, 28, 28), np.inf, np.float16)), r"bad.npy holds NaN or infinite"),
    "range": (lambda t: npy(t, np.full((600, 1, 28, 28), 1.5, np.float64)),
              r"bad.npy holds values in \[1.5, 1.5\]; float images must lie in \[0, 1\]"),
    "int dtype": (lambda t: npy(t, np.zeros((600, 28, 28), np.int64)), r"has dtype int64; expected uint8 0-255"),
    "corrupt png": (lambda t: folder_of(t, {"0.png": corrupt_png()}), r"0.png in bad is corrupt or truncated"),
    "truncated png": (lambda t: folder_of(t, {"0.png": png_bytes(GRAY)[:-30]}), r"0.png in bad is corrupt or "
                      "truncated"),
    "truncated jpeg": (lambda t: folder_of(t, {"0.jpg": jpeg_bytes()[:-200]}), r"0.jpg in bad is corrupt or "
                       "truncated"),
    "bomb": (lambda t: folder_of(t, {"0.png": claiming(png_bytes(GRAY), 100_000, 100_000)}),
             r"0.png in bad claims more pixels than Pillow's decompression-bomb limit"),
    "not an image": (lambda t: folder_of(t, {"0.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 50}),
                     r"0.png in bad is not a readable PNG or JPEG"),
    "npy truncated": (lambda t: truncated(npy(t, np.zeros((600, 28, 28), np.uint8)), 128 + 1000),
                      r"bad.npy's header promises \(600, 28, 28\) uint8 \(470,528 bytes with the header\), the "
                      r"file holds 1,128 bytes"),
    "npy promises more": (lambda t: truncated(npy(t, np.zeros((600, 28, 28), np.uint8)), 128),
                          r"bad.npy's header promises .*the file holds 128 bytes"),
    "npz truncated": (lambda t: truncated(savez(t, images=np.zeros((600, 28, 28), np.uint8)), 300),
                      r"bad.npz is not a readable .npz"),
    "npz compressed truncated": (lambda t: damaged_member(t), r"bad.npz\[images\] cannot be read: truncated or "
                                 r"corrupt"),
    "object array": (lambda t: object_npy(t), r"bad.npy is an object array; csbench never loads pickles"),
    "pickle": (lambda t: pickle_file(t), r"bad.npy is not a readable .npy array"),
    "extra member": (lambda t: savez(t, images=np.zeros((600, 28, 28), np.uint8), code=np.zeros(1)),
                     r"bad.npz holds code, images; an .npz of samples holds an image array"),
    "symlink out": (lambda t: linked_out(t), r"0.png in bad is a symlink leading out of the folder"),
    "empty folder": (lambda t: folder_of(t, {".hidden": b""}), r"folder .*bad holds no PNG or JPEG images"),
    "labels range": (lambda t: savez(t, images=np.zeros((600, 28, 28), np.uint8),
                                     labels=np.full(600, 10)), r"bad.npz\[labels\] holds labels in \[10, 10\], "
                     r"outside the suite's classes \[0, 10\)"),
    "labels length": (lambda t: savez(t, images=np.zeros((600, 28, 28), np.uint8), labels=np.zeros(599, np.int64)),
                      r"bad.npz\[labels\] is \(599,\) int64; expected 600 integer class indices"),
    "labels.txt length": (lambda t: folder_of(t, {"0.png": png_bytes(GRAY), "labels.txt": b"1\n2\n"}),
                          r"bad/labels.txt holds 2 labels for 1 images"),
    "class folder range": (lambda t: folder_of(t, {"12/0.png": png_bytes(GRAY)}),
                           r"bad's class subfolders holds labels in \[12, 12\], outside"),
}


def savez(tmp_path: Path, **arrays) -> Path:
    np.savez(tmp_path / "bad.npz", **arrays)
    return tmp_path / "bad.npz"


def damaged_member(tmp_path: Path) -> Path:
    """A compressed member cut short inside its deflate stream, the archive's directory intact."""
    import zipfile

    rows = np.random.default_rng(0).integers(0, 256, (600, 28, 28), dtype=np.uint8)
    np.savez_compressed(tmp_path / "good.npz", images=rows)
    with zipfile.ZipFile(tmp_path / "good.npz") as archive:
        info = archive.getinfo("images.npy")
        raw = archive.fp
        raw.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", raw.read(4))
        start = info.header_offset + 30 + name_len + extra_len
    data = bytearray((tmp_path / "good.npz").read_bytes())
    data[start + info.compress_size // 2: start + info.compress_size // 2 + 64] = b"\0" * 64
    (tmp_path / "bad.npz").write_bytes(bytes(data))
    return tmp_path / "bad.npz"


def object_npy(tmp_path: Path) -> Path:
    array = np.empty(600, dtype=object)
    np.save(tmp_path / "bad.npy", array, allow_pickle=True)
    return tmp_path / "bad.npy"


def pickle_file(tmp_path: Path) -> Path:
    import pickle

    (tmp_path / "bad.npy").write_bytes(pickle.dumps(np.zeros((600, 28, 28), np.uint8)))
    return tmp_path / "bad.npy"


def linked_out(tmp_path: Path) -> Path:
    (tmp_path / "outside.png").write_bytes(png_bytes(GRAY))
    root = folder_of(tmp_path, {"1.png": png_bytes(GRAY)})
    (root / "0.png").symlink_to(tmp_path / "outside.png")
    return root


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_each_bad_input_is_one_line_and_nothing_is_written(case, tiny_suite, tiny_data, tmp_path):
    make, message = BAD_INPUTS[case]
    work = tmp_path / "work"
    work.mkdir()
    path = make(work)
    with pytest.raises(SamplesError, match=message) as raised:
        run(tiny_suite, tiny_data, tmp_path, path)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "results").exists()
    assert not [p for p in (tmp_path / "home").rglob("*") if p.is_file()]  # no cache entry either


def test_a_seed_beyond_the_memory_limit_is_refused_before_anything_is_cached(tiny_suite, tiny_data, tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((600, 28, 28), np.uint8))
    options = RunOptions(data_root=tiny_data, limits=Limits(memory_mib=1))
    with pytest.raises(SamplesError, match=r"600 samples of shape \(1, 28, 28\) take 2 MiB as float32, more than "
                       r"the memory limit of 1 MiB \(--memory-mib\)"):
        run(tiny_suite, tiny_data, tmp_path, tmp_path / "s.npy", options=options)
    assert not (tmp_path / "results").exists()
    assert not [p for p in (tmp_path / "home").rglob("*") if p.is_file()]


def declare(folder: Path, url: str, digest: str, name: str = "published") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.samples.toml"
    path.write_text(f'name = "{name}"\nsuites = ["*"]\ndescription = "samples published by URL"\n'
                    f'licence = "CC-BY-4.0"\nurl = "{url}"\nsha256 = "{digest}"\n')
    return path


def test_a_declaration_is_downloaded_pin_checked_and_scored_like_any_generator(tiny_suite, tiny_data, tmp_path,
                                                                              server):  # noqa: F811
    from csbench.sweep import Status, evaluate_all

    images, labels = drawn_by_generator(tiny_suite, tiny_data, tiny_suite.protocol().samples)
    np.savez(tmp_path / "s.npz", images=images, labels=labels)
    data = (tmp_path / "s.npz").read_bytes()
    server.files["/s.npz"] = data
    declaration = declare(tmp_path / "generators", f"{server.url}/s.npz", hashlib.sha256(data).hexdigest())
    kw = dict(suite=tiny_suite, options=RunOptions(data_root=tiny_data), seeds=[0], out_dir=tmp_path / "results")
    outcomes = evaluate_all(tiny_suite.name, tmp_path / "generators", **kw)
    assert [(o.file.name, o.status) for o in outcomes] == [(declaration.name, Status.EVALUATED)]
    record = read_record(tmp_path / "results" / tiny_suite.name / "published.json")
    assert record.generator["file"] == "published.samples.toml" and record.generator["url"].endswith("s.npz")
    assert record.generator["sha256"] == hashlib.sha256(data).hexdigest() and record.cas is not None
    direct = run(tiny_suite, tiny_data, tmp_path / "direct", tmp_path / "s.npz")
    assert record.raw_scores == direct.raw_scores and record.cas == direct.cas
    again = evaluate_all(tiny_suite.name, tmp_path / "generators", **kw)
    assert [o.status for o in again] == [Status.CURRENT] and server.hits == ["/s.npz"]  # one download per pin

    server.files["/other.npz"] = data[:-1] + bytes([data[-1] ^ 1])
    pin = hashlib.sha256(b"the bytes the author meant").hexdigest()  # not yet cached: downloaded, then refused
    mispinned = declare(tmp_path / "mispinned", f"{server.url}/other.npz", pin, "other")
    with pytest.raises(CsbenchError, match=r"samples of other.samples.toml downloaded from .* has sha256 .*, expected "
                       r".*: the file is corrupt or not the pinned one") as raised:
        run(tiny_suite, tiny_data, tmp_path / "m", mispinned)
    assert "\n" not in str(raised.value) and not (tmp_path / "m" / "results").exists()


def test_validate_checks_a_samples_folder(tiny_suite, tiny_data, tmp_path, monkeypatch):
    from csbench import suites
    from csbench.validate import first_problem, validate

    monkeypatch.setitem(suites.SUITES, tiny_suite.name, tiny_suite)
    images, labels = drawn_by_generator(tiny_suite, tiny_data, 700)
    checks = validate(write_png_folder(tmp_path / "pngs", images, labels), tiny_suite.name, n=32)
    assert first_problem(checks) is None
    assert [c.detail for c in checks][:3] == ["700 samples, image-folder, grayscale (H, W), uint8",
                                              "labelled: CAS is scored too", "1 disjoint slice(s) of the 600 a seed "
                                              "needs"]
    (tmp_path / "pngs" / "00003.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert "00003.png in pngs is not a readable PNG or JPEG" in first_problem(validate(tmp_path / "pngs",
                                                                                       tiny_suite.name)).detail
