"""Samples people already have, read by the harness: a folder of PNG/JPEG images, an `.npy` or an `.npz`.

A samples file is data, nothing to execute: no sandbox is needed, but nothing in it is trusted either. `inspect`
checks everything that can be checked without decoding the images (layout, dtype, count, labels, symlinks,
headers against file sizes) and names the input by the sha256 of its bytes; `read_slice` then decodes only the
samples one seed needs, memory-mapped (`.npy`) or streamed (`.npz`, images), into one float32 array.

Accepted layouts, per sample, for a suite of C channels and H x W pixels: (C, H, W) channels first or (H, W, C)
channels last, told apart by where the channel count sits (the suites' C is never H), and (H, W) for a grayscale
suite; uint8 0-255 or floats 0-1. Images are PNG or JPEG, mode L for a grayscale suite and RGB for an RGB one.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import GeneratorError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
LABELS_FILE = "labels.txt"  # a folder's labels: one class index per line, in the folder's reading order
IMAGE_KEYS = ("images", "arr_0")  # arr_0/arr_1: what np.savez(path, images, labels) names them
LABEL_KEYS = ("labels", "arr_1")
MAX_IMAGE_BYTES = 16 << 20  # no image of a suite's size takes more; a larger file is refused unread
MAX_LABELS_BYTES = 1 << 20  # labels.txt
FLOAT_DTYPES = ("float16", "float32", "float64")


class SamplesError(GeneratorError):
    """A samples file or folder that cannot be scored as it is."""


def is_samples_path(path: Path | str) -> bool:
    """A folder, `.npy` or `.npz`: samples the harness reads, not a generator file it runs."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in ARRAY_SUFFIXES


@dataclass(frozen=True)
class ArrayMember:
    """Where an array's data lies: an `.npy` file at `offset`, or member `member` of an `.npz`."""

    dtype: str
    shape: tuple[int, ...]
    offset: int = 0
    member: str | None = None


@dataclass(frozen=True)
class SamplesFile:
    """A samples file or folder as `inspect` found it. `layout`: how a sample's axes lie ("channels first",
    "channels last", "grayscale (H, W)", or "images"); `entries`: a folder's image files in reading order with
    each one's sha256, checked again when it is read; `labels`: the folder's labels, or None."""

    path: Path
    format: str  # "image-folder", "npy", "npz"
    count: int
    sha256: str
    layout: str
    dtype: str
    shape: tuple[int, ...]  # the suite's (C, H, W)
    num_classes: int
    images: ArrayMember | None = None
    label_array: ArrayMember | None = None
    entries: tuple[tuple[str, str], ...] = ()
    labels: tuple[int, ...] | None = None
    stamp: tuple[int, int] = (0, 0)  # an array file's size and mtime at inspection: it must not change

    @property
    def labelled(self) -> bool:
        return self.labels is not None or self.label_array is not None

    def describe(self) -> dict:
        """What a record says about the input besides its name and sha256."""
        return {"format": self.format, "count": self.count, "layout": self.layout, "dtype": self.dtype,
                "labelled": self.labelled}


def inspect(path: Path | str, shape: tuple[int, ...], num_classes: int, suffix: str | None = None) -> SamplesFile:
    """Check a samples folder or array file against a suite's shape and classes, and name it by its bytes.
    `suffix`: the array format (".npy", ".npz") of a file whose name does not say it (a pinned download)."""
    path = Path(path)
    if path.is_dir():
        return _inspect_folder(path, tuple(shape), num_classes)
    if not path.is_file():
        raise SamplesError(f"samples file {path} does not exist")
    suffix = suffix or path.suffix.lower()
    if suffix == ".npy":
        return _inspect_npy(path, tuple(shape), num_classes)
    if suffix == ".npz":
        return _inspect_npz(path, tuple(shape), num_classes)
    raise SamplesError(f"{path.name} is neither a folder of images, an .npy nor an .npz")


def read_slice(sf: SamplesFile, rows: slice, memory_mib: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The samples at `rows` (a slice with a start and a stop, `seed_rows`) as float32 (n, C, H, W) in [0, 1],
    checked, with their labels (or None)."""
    n = len(range(rows.start, rows.stop, rows.step or 1))
    need = n * math.prod(sf.shape) * 4
    if need > memory_mib * 2**20:
        raise SamplesError(f"{n:,} samples of shape {sf.shape} take {need / 2**20:,.0f} MiB as float32, more than "
                           f"the memory limit of {memory_mib:,} MiB (--memory-mib)")
    if sf.format == "image-folder":
        raw = _read_images(sf, rows)
        labels = None if sf.labels is None else torch.tensor(sf.labels[rows], dtype=torch.int64)
    else:
        if (os.stat(sf.path).st_size, os.stat(sf.path).st_mtime_ns) != sf.stamp:
            raise SamplesError(f"{sf.path.name} changed while it was being evaluated")
        raw = _read_rows(sf.path, sf.images, rows)
        labels = (None if sf.label_array is None
                  else torch.from_numpy(_read_rows(sf.path, sf.label_array, rows).astype(np.int64)))
    return to_images(raw, sf.layout, sf.shape, sf.path.name), labels


def to_images(raw: np.ndarray, layout: str, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """Rows of `layout` as float32 (n, C, H, W): uint8 divided by 255 (as the suites' data loaders do), floats
    checked to be finite and within [0, 1]."""
    images = torch.from_numpy(raw)
    if layout == "channels last":
        images = images.permute(0, 3, 1, 2)
    elif layout == "grayscale (H, W)":
        images = images.unsqueeze(1)
    if images.dtype == torch.uint8:
        return images.contiguous().float().div_(255.0)
    images = images.to(torch.float32).contiguous()
    if not torch.isfinite(images).all():
        raise SamplesError(f"{what} holds NaN or infinite values")
    lo, hi = images.min().item(), images.max().item()
    if lo < 0 or hi > 1:
        raise SamplesError(f"{what} holds values in [{lo:.3g}, {hi:.3g}]; float images must lie in [0, 1] "
                           "(uint8 images in 0-255)")
    return images


def layout_of(sample_shape: tuple[int, ...], shape: tuple[int, ...], what: str) -> str:
    """Channels first or last, told by where the suite's channel count sits; (H, W) for a grayscale suite."""
    c, h, w = shape
    if sample_shape == (c, h, w):
        return "channels first"
    if sample_shape == (h, w, c):
        return "channels last"
    if c == 1 and sample_shape == (h, w):
        return "grayscale (H, W)"
    accepted = f"({c}, {h}, {w}) or ({h}, {w}, {c})" + (f" or ({h}, {w})" if c == 1 else "")
    if len(sample_shape) not in (2, 3):
        raise SamplesError(f"{what} is an array of rank {len(sample_shape) + 1}; expected samples of shape "
                           f"{accepted}")
    raise SamplesError(f"{what} holds samples of shape {sample_shape}; this suite needs {accepted}")


def _check_dtype(dtype: np.dtype, what: str) -> None:
    if dtype.hasobject:
        raise SamplesError(f"{what} is an object array; csbench never loads pickles (store uint8 or floats)")
    if not (dtype == np.uint8 or dtype.name in FLOAT_DTYPES) or dtype.fields is not None:
        raise SamplesError(f"{what} has dtype {dtype}; expected uint8 0-255 or floats in [0, 1]")


def _npy_header(f, what: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of the .npy stream `f`, parsed without pickle (numpy's literal parser)."""
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(f)
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise SamplesError(f"{what} is not a readable .npy array ({' '.join(str(exc).split())[:120]})") from None
    if dtype.hasobject:
        raise SamplesError(f"{what} is an object array; csbench never loads pickles (store uint8 or floats)")
    if fortran:
        raise SamplesError(f"{what} is stored in Fortran order; save it in C order (np.ascontiguousarray)")
    return tuple(int(d) for d in shape), dtype, f.tell()


def _promised(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def _image_member(shape: tuple[int, ...], dtype: np.dtype, suite_shape: tuple[int, ...], what: str
                  ) -> tuple[int, str]:
    _check_dtype(dtype, what)
    if len(shape) not in (3, 4):
        raise SamplesError(f"{what} is an array of rank {len(shape)}; expected (N, C, H, W), (N, H, W, C)"
                           + (" or (N, H, W)" if suite_shape[0] == 1 else ""))
    return shape[0], layout_of(shape[1:], suite_shape, what)


def _inspect_npy(path: Path, shape: tuple[int, ...], num_classes: int) -> SamplesFile:
    info = os.stat(path)
    with open(path, "rb") as f:
        array_shape, dtype, offset = _npy_header(f, path.name)
    count, layout = _image_member(array_shape, dtype, shape, path.name)
    promised = offset + _promised(array_shape, dtype)
    if promised != info.st_size:
        raise SamplesError(f"{path.name}'s header promises {array_shape} {dtype} ({promised:,} bytes with the "
                           f"header), the file holds {info.st_size:,} bytes: truncated or not an .npy")
    images = ArrayMember(dtype.str, array_shape, offset)
    _check_values(path, images, layout, shape, path.name)
    return SamplesFile(path, "npy", count, _sha256(path), layout, dtype.name, shape, num_classes,
                       images=images, stamp=(info.st_size, info.st_mtime_ns))


def _inspect_npz(path: Path, shape: tuple[int, ...], num_classes: int) -> SamplesFile:
    info = os.stat(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {Path(m.filename).stem: m for m in archive.infolist()}
            image_key = next((k for k in IMAGE_KEYS if k in members), None)
            label_key = next((k for k in LABEL_KEYS if k in members), None)
            if image_key is None or set(members) - {image_key, label_key} or \
                    any(not m.filename.endswith(".npy") for m in members.values()):
                raise SamplesError(f"{path.name} holds {', '.join(sorted(members)) or 'nothing'}; an .npz of samples "
                                   f"holds an image array ({' or '.join(IMAGE_KEYS)}) and optional labels "
                                   f"({' or '.join(LABEL_KEYS)}), nothing else")
            found = {}
            for key in filter(None, (image_key, label_key)):
                member = members[key]
                what = f"{path.name}[{key}]"
                with archive.open(member) as f:
                    array_shape, dtype, offset = _npy_header(f, what)
                if offset + _promised(array_shape, dtype) != member.file_size:
                    raise SamplesError(f"{what}'s header promises {array_shape} {dtype}, its member holds "
                                       f"{member.file_size:,} bytes: truncated or not an .npy")
                found[key] = ArrayMember(dtype.str, array_shape, offset, member.filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise SamplesError(f"{path.name} is not a readable .npz ({' '.join(str(exc).split())[:120]})") from None
    images = found[image_key]
    count, layout = _image_member(images.shape, np.dtype(images.dtype), shape, f"{path.name}[{image_key}]")
    _check_values(path, images, layout, shape, f"{path.name}[{image_key}]")
    labels = found.get(label_key)
    if labels is not None:
        _check_label_array(labels, count, f"{path.name}[{label_key}]")
        _check_label_values(_read_rows(path, labels, slice(0, count)), num_classes, f"{path.name}[{label_key}]")
    return SamplesFile(path, "npz", count, _sha256(path), layout, np.dtype(images.dtype).name, shape, num_classes,
                       images=images, label_array=labels, stamp=(info.st_size, info.st_mtime_ns))


CHECK_ROWS = 4096  # samples per block when float samples are checked at inspection


def _check_values(path: Path, images: ArrayMember, layout: str, shape: tuple[int, ...], what: str) -> None:
    """Float samples finite and within [0, 1], every one, block by block (memory stays bounded), before any work
    starts; uint8 samples cannot be out of range. A compressed member is decompressed to its end, so a truncated
    or corrupt one is refused here too."""
    count = images.shape[0]
    if np.dtype(images.dtype) == np.uint8:
        if images.member is not None and count:
            _read_rows(path, images, slice(count - 1, count))
        return
    for start in range(0, count, CHECK_ROWS):
        to_images(_read_rows(path, images, slice(start, min(start + CHECK_ROWS, count))), layout, shape, what)


def _check_label_array(labels: ArrayMember, count: int, what: str) -> None:
    dtype = np.dtype(labels.dtype)
    if dtype.kind not in "iu" or labels.shape != (count,):
        raise SamplesError(f"{what} is {labels.shape} {dtype}; expected {count:,} integer class indices, one per "
                           "image")


def _check_label_values(labels: np.ndarray, num_classes: int, what: str) -> None:
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise SamplesError(f"{what} holds labels in [{int(labels.min())}, {int(labels.max())}], outside the "
                           f"suite's classes [0, {num_classes})")


def _read_rows(path: Path, array: ArrayMember, rows: slice) -> np.ndarray:
    """The `rows` of an array whose header was checked: memory-mapped from an .npy, streamed from an .npz member
    (decompressed only as far as the slice reaches, one row in `step` kept), read into one array."""
    dtype = np.dtype(array.dtype)
    row_shape = array.shape[1:]
    row_bytes = math.prod(row_shape) * dtype.itemsize
    if array.member is None:
        mapped = np.memmap(path, dtype=dtype, mode="r", offset=array.offset, shape=array.shape)
        return np.array(mapped[rows])
    step = rows.step or 1
    out = np.empty((len(range(rows.start, rows.stop, step)), *row_shape), dtype=dtype)
    # one block when the rows are contiguous, else one row at a time with the rows between them skipped
    blocks = [out] if step == 1 else [out[i: i + 1] for i in range(len(out))]
    blocks = [memoryview(block).cast("B") for block in blocks]
    try:
        with zipfile.ZipFile(path) as archive, archive.open(array.member) as f:
            _skip(f, array.offset + rows.start * row_bytes)
            for i, view in enumerate(blocks):
                if i:
                    _skip(f, (step - 1) * row_bytes)
                got = 0
                while got < len(view):
                    chunk = f.readinto(view[got:])
                    if not chunk:
                        raise EOFError("the member ends early")
                    got += chunk
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise SamplesError(f"{path.name}[{Path(array.member).stem}] cannot be read: truncated or corrupt "
                           f"({' '.join(str(exc).split())[:120]})") from None
    return out


def _skip(f, count: int) -> None:
    """Read past `count` bytes of a stream in bounded blocks (a compressed member cannot seek cheaply)."""
    while count > 0:
        block = f.read(min(count, 1 << 20))
        if not block:
            raise EOFError("the member ends early")
        count -= len(block)


def _sha256(path: Path) -> str:
    from .cache import sha256_file

    return sha256_file(path)


# --- folders of images ---------------------------------------------------------------------------------------


def _folder_files(root: Path) -> tuple[list[str], bool]:
    """Every image below `root` as a relative POSIX path, sorted, and whether `root` holds labels.txt. Symlinks to
    files inside the folder are read; one leading out of it, a linked folder or a special file is refused."""
    real_root = root.resolve()
    images, has_labels = [], False
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for d in list(dirs):
            if d.startswith("."):
                dirs.remove(d)
            elif (here / d).is_symlink():
                raise SamplesError(f"{(here / d).relative_to(root)} in {root.name} is a symlink to a folder; put the "
                                   "images themselves in the folder")
        for name in files:
            if name.startswith("."):
                continue
            file = here / name
            rel = file.relative_to(root).as_posix()
            target = file.resolve()
            if not target.is_relative_to(real_root):
                raise SamplesError(f"{rel} in {root.name} is a symlink leading out of the folder")
            if not stat.S_ISREG(os.stat(target).st_mode):
                raise SamplesError(f"{rel} in {root.name} is not a regular file")
            if rel == LABELS_FILE:
                has_labels = True
            elif file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(rel)
            else:
                raise SamplesError(f"{rel} in {root.name} is not a PNG or JPEG image (a samples folder holds "
                                   f"images and an optional {LABELS_FILE})")
    if not images:
        raise SamplesError(f"folder {root} holds no PNG or JPEG images")
    return sorted(images), has_labels


def _folder_labels(root: Path, files: list[str], has_labels_file: bool, num_classes: int) -> tuple[int, ...] | None:
    """labels.txt (one class index per line, in reading order), else class subfolders named 0 .. K-1 holding
    every image, else None."""
    what = f"{root.name}/{LABELS_FILE}"
    if has_labels_file:
        if (root / LABELS_FILE).stat().st_size > MAX_LABELS_BYTES:
            raise SamplesError(f"{what} is larger than {MAX_LABELS_BYTES:,} bytes")
        try:
            labels = np.array([int(line) for line in (root / LABELS_FILE).read_text("ascii").split()], dtype=np.int64)
        except ValueError:
            raise SamplesError(f"{what} must hold one integer class index per line") from None
        if len(labels) != len(files):
            raise SamplesError(f"{what} holds {len(labels):,} labels for {len(files):,} images")
        _check_label_values(labels, num_classes, what)
        return tuple(labels.tolist())
    tops = {f.split("/")[0] for f in files}
    if all("/" in f for f in files) and all(t.isdigit() for t in tops):
        labels = np.array([int(f.split("/")[0]) for f in files], dtype=np.int64)
        _check_label_values(labels, num_classes, f"{root.name}'s class subfolders")
        return tuple(labels.tolist())
    return None


def _inspect_folder(root: Path, shape: tuple[int, ...], num_classes: int) -> SamplesFile:
    """One pass over the files, each read once: its bytes hashed, the image checked and decoded (and dropped), so
    that a bad image is refused before any work starts; a seed decodes its slice again."""
    from .progress import progress_bar

    files, has_labels_file = _folder_files(root)
    labels = _folder_labels(root, files, has_labels_file, num_classes)
    digest, entries = hashlib.sha256(), []
    with progress_bar() as bar:
        task = bar.add_task(f"checking {root.name}", total=len(files))
        for rel in files:
            data = _read_image_bytes(root, rel)
            file_digest = hashlib.sha256(data).hexdigest()
            _decode(data, rel, shape, root.name)
            entries.append((rel, file_digest))
            digest.update(f"{rel}\0{file_digest}\n".encode())
            bar.advance(task)
    if has_labels_file:
        digest.update(f"{LABELS_FILE}\0{hashlib.sha256((root / LABELS_FILE).read_bytes()).hexdigest()}\n".encode())
    c = shape[0]
    return SamplesFile(root, "image-folder", len(files), digest.hexdigest(), "channels last" if c == 3 else
                       "grayscale (H, W)", "uint8", shape, num_classes, entries=tuple(entries), labels=labels)


def _read_image_bytes(root: Path, rel: str) -> bytes:
    path = root / rel
    size = os.stat(path).st_size
    if size > MAX_IMAGE_BYTES:
        raise SamplesError(f"{rel} in {root.name} is {size:,} bytes, more than an image of this suite's size may "
                           f"take ({MAX_IMAGE_BYTES:,})")
    with open(path, "rb") as f:
        return f.read(MAX_IMAGE_BYTES + 1)


def _open_image(data: bytes, rel: str, shape: tuple[int, ...], folder: str):
    """The image in `data`, its header checked against the suite (format, mode, size) before any pixel is
    decoded; a claimed size beyond Pillow's bomb limit is refused as a decompression bomb."""
    from PIL import Image

    c, h, w = shape
    mode = "L" if c == 1 else "RGB"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SamplesError(f"{rel} in {folder} claims more pixels than Pillow's decompression-bomb limit") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise SamplesError(f"{rel} in {folder} is not a readable PNG or JPEG ({' '.join(str(exc).split())[:100]})"
                           ) from None
    if image.size != (w, h):
        raise SamplesError(f"{rel} in {folder} is {image.size[0]}x{image.size[1]} pixels; this suite's images are "
                           f"{w}x{h} (every image of the folder must be)")
    if image.mode != mode:
        raise SamplesError(f"{rel} in {folder} has mode {image.mode}; this suite needs {mode} "
                           f"({'grayscale' if c == 1 else 'RGB'}) images")
    return image


def _decode(data: bytes, rel: str, shape: tuple[int, ...], folder: str) -> np.ndarray:
    """The pixels of a checked image, after Pillow's integrity check (`verify`) of the whole file."""
    try:
        _open_image(data, rel, shape, folder).verify()
        image = _open_image(data, rel, shape, folder)
        image.load()
        return np.asarray(image)
    except SamplesError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise SamplesError(f"{rel} in {folder} is corrupt or truncated ({' '.join(str(exc).split())[:100]})"
                           ) from None


def _read_images(sf: SamplesFile, rows: slice) -> np.ndarray:
    """Decode the images at `rows` into one uint8 array, each file checked against the digest it had when the
    folder was inspected."""
    from .progress import progress_bar

    c, h, w = sf.shape
    n = len(sf.entries[rows])
    out = np.empty((n, h, w, c) if c == 3 else (n, h, w), dtype=np.uint8)
    with progress_bar() as bar:
        task = bar.add_task(f"reading {sf.path.name}", total=n)
        for i, (rel, digest) in enumerate(sf.entries[rows]):
            data = _read_image_bytes(sf.path, rel)
            if hashlib.sha256(data).hexdigest() != digest:
                raise SamplesError(f"{rel} in {sf.path.name} changed while the folder was being evaluated")
            out[i] = _decode(data, rel, sf.shape, sf.path.name)
            bar.advance(task)
    return out
