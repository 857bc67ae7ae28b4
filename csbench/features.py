"""The two feature spaces of the sample-quality metrics: the suite's teacher, and the FID/IS InceptionV3.

Each maps images in [0, 1] to (features, class probabilities). "teacher" works offline on every suite and
knows the suite's classes; "inception" is the standard FID/IS network (pytorch-fid's port of the 2015 TF
graph), whose weights must be on disk or downloadable. Its numbers are comparable with published ones only
at the same sample count and under the same input preprocessing, which the record names (`PREPROCESSING`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pytorch_fid.inception
import torch
import torch.nn.functional as F
from torch import nn

from .cache import sha256_file
from .errors import CsbenchError
from .progress import progress_bar
from .suites import Suite
from .teacher import INFERENCE_BATCH

INCEPTION_URL = pytorch_fid.inception.FID_WEIGHTS_URL
INCEPTION_FILE = INCEPTION_URL.rsplit("/", 1)[1]
INCEPTION_SHA256_PREFIX = INCEPTION_FILE.rsplit("-", 1)[1].split(".")[0]  # torch hub names carry it
INCEPTION_SIZE = 299

# How images reach the network. The two disagree in the resize and in 8-bit rounding, and so in IS and FID.
PREPROCESSING = {
    "torch-fidelity": "pixels rounded to 8 bits, TF 1 bilinear resize, (x - 128) / 128, as torch-fidelity and the "
                      "TF code of the IS and FID papers feed the network",
    "pytorch-fid": "torch bilinear resize of the float pixels, 2x - 1, as pytorch-fid feeds the network",
}
DEFAULT_PREPROCESSING = "torch-fidelity"


class InceptionUnavailable(CsbenchError):
    """The Inception weights are neither on disk nor downloadable: Inception metrics are skipped, not fatal."""


@dataclass(frozen=True)
class FeatureSpace:
    """`name` is the family written in records and tables; `suite_classes` says whether the network's
    classes are the suite's, so that per-class shares mean something; `preprocessing` is the key of
    `PREPROCESSING` the network's inputs go through ("" for the teacher, which takes the suite's images as
    they are)."""

    name: str
    description: str
    network_sha256: str
    network: nn.Module
    batch_size: int
    suite_classes: bool
    preprocessing: str = ""


class TeacherFeatures(nn.Module):
    """The teacher's penultimate representation and its softmax."""

    def __init__(self, teacher: nn.Module):
        super().__init__()
        self.teacher = teacher

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.teacher.features(x)
        return features, F.softmax(self.teacher.classifier(features), dim=1)


def check_preprocessing(name: str) -> None:
    if name not in PREPROCESSING:
        raise CsbenchError(f"unknown Inception preprocessing {name!r}; known: {', '.join(PREPROCESSING)}")


def resize_bilinear_tf1(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF 1's `resize_bilinear` without corner alignment: output pixel j reads input coordinate j * in / out
    (no half-pixel offset, unlike torch's resize), interpolating towards the next pixel, the last one
    repeated at the edge."""

    def axis(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        position = torch.arange(size, dtype=x.dtype, device=x.device) * torch.tensor(n / size, dtype=x.dtype)
        low = position.long()
        return low, (low + 1).clamp(max=n - 1), position - low.to(x.dtype)

    (y0, y1, dy), (x0, x1, dx) = axis(x.shape[2]), axis(x.shape[3])
    top, bottom = x[:, :, y0], x[:, :, y1]
    top = top[..., x0] + (top[..., x1] - top[..., x0]) * dx
    bottom = bottom[..., x0] + (bottom[..., x1] - bottom[..., x0]) * dx
    return top + (bottom - top) * dy[:, None]


def torch_fidelity_input(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] as torch-fidelity reads them: 8-bit pixels (rounded as torchvision's `save_image`
    stores them), resized as TF 1 resizes, then (x - 128) / 128."""
    pixels = x.mul(255).add(0.5).clamp(0, 255).floor()
    return (resize_bilinear_tf1(pixels, INCEPTION_SIZE) - 128) / 128


class InceptionFeatures(nn.Module):
    """pytorch-fid's InceptionV3 (the TF 2015 graph's blocks): pool3 features and, for IS, the softmax of the
    1008-way fc layer without its bias, as the original IS code and torch-fidelity compute it. Grey images are
    repeated to three channels; `preprocessing` (a key of `PREPROCESSING`) says how they are resized and scaled.
    Under "torch-fidelity" both outputs are torch-fidelity's; under "pytorch-fid", pytorch-fid's."""

    POOL3 = pytorch_fid.inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]

    def __init__(self, state_dict: dict[str, torch.Tensor], preprocessing: str = DEFAULT_PREPROCESSING):
        super().__init__()
        check_preprocessing(preprocessing)
        self.preprocessing = preprocessing
        native = preprocessing == "pytorch-fid"
        # pytorch-fid's constructor always fetches its weights by URL and unpickles them without restriction;
        # hand it the state dict found, pinned and loaded here with weights_only=True instead, so that the network
        # is built and strictly loaded by pytorch-fid's own code (its API has no argument for a state dict).
        with mock.patch.object(pytorch_fid.inception, "load_state_dict_from_url", lambda *a, **kw: state_dict):
            self.inception = pytorch_fid.inception.InceptionV3([self.POOL3], resize_input=native,
                                                               normalize_input=native)
        self.register_buffer("fc_weight", state_dict["fc.weight"].float())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.preprocessing == "torch-fidelity":
            x = torch_fidelity_input(x)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        features = self.inception(x)[0].flatten(1)
        return features, F.softmax(features @ self.fc_weight.T, dim=1)


def teacher_space(suite: Suite, teacher: nn.Module) -> FeatureSpace:
    width = [m for m in teacher.classifier.modules() if isinstance(m, nn.Linear)][-1].in_features
    return FeatureSpace("teacher", f"{suite.teacher.architecture} penultimate layer ({width}-d), softmax over "
                        f"{suite.num_classes} suite classes", suite.teacher.identity, TeacherFeatures(teacher),
                        INFERENCE_BATCH, True)


def default_inception_path() -> Path:
    """Where pytorch-fid itself caches the weights (torch hub's checkpoints folder)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def how_to_get_inception(path: Path) -> str:
    return (f"download {INCEPTION_URL} to {path}, or pass --inception-weights PATH (--no-inception skips "
            "these metrics)")


def download_inception(path: Path) -> None:
    """torch hub's download: into a temporary file, moved onto `path` only if its sha256 starts with the pin."""
    url = INCEPTION_URL
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(path), hash_prefix=INCEPTION_SHA256_PREFIX, progress=False)
    except RuntimeError as exc:
        if "invalid hash" not in str(exc):
            raise
        raise InceptionUnavailable(f"the file downloaded from {url} is not pytorch-fid's Inception "
                                   f"weights (sha256 does not start with {INCEPTION_SHA256_PREFIX})") from None
    except OSError as exc:
        raise InceptionUnavailable(f"pytorch-fid's Inception weights are not at {path} and could not be "
                                   f"downloaded ({type(exc).__name__}); {how_to_get_inception(path)}") from None


def load_inception_weights(path: Path | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict and its sha256: from `path` if given (any file of the right format: its sha256 goes
    into every record), else from torch hub's cache, downloading it there when missing."""
    if path is None:
        path = default_inception_path()
        if not path.is_file():
            download_inception(path)
        digest = sha256_file(path)
        if not digest.startswith(INCEPTION_SHA256_PREFIX):
            raise InceptionUnavailable(f"{path} has sha256 {digest[:12]}..., not pytorch-fid's "
                                       f"{INCEPTION_SHA256_PREFIX}...: delete it to download it again")
    else:
        path = Path(path)
        if not path.is_file():
            raise CsbenchError(f"Inception weights {path} not found; {how_to_get_inception(path)}")
        digest = sha256_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        detail = " ".join(str(exc).split())
        raise CsbenchError(f"Inception weights {path} cannot be read: {type(exc).__name__}: {detail[:300]}") from None
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise CsbenchError(f"{path} is not a state dict of pytorch-fid's Inception (no fc.weight)")
    return state, digest


def inception_space(path: Path | None = None, preprocessing: str = DEFAULT_PREPROCESSING) -> FeatureSpace:
    """`preprocessing`: a key of `PREPROCESSING`, named in the space's description and `preprocessing`;
    checked before the weights are looked for."""
    check_preprocessing(preprocessing)
    state, digest = load_inception_weights(path)
    try:
        network = InceptionFeatures(state, preprocessing)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise CsbenchError(f"Inception weights {path or default_inception_path()} do not fit pytorch-fid's "
                           f"InceptionV3: {detail[:300]}") from None
    return FeatureSpace("inception", f"InceptionV3 pool3 (2048-d), softmax over {state['fc.weight'].shape[0]} "
                        f"ImageNet classes; {preprocessing} preprocessing: {PREPROCESSING[preprocessing]}",
                        digest, network.eval(), 50, False, preprocessing)


def from_teacher_pass(features: torch.Tensor, logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """What `extract` gives in the teacher's space, from the pass that labelled the samples (one pass, not two)."""
    return features.numpy(), F.softmax(logits, dim=1).double().numpy()


@torch.inference_mode()
def extract(space: FeatureSpace, images: torch.Tensor, device: str = "cpu",
            label: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Features (float32) and class probabilities (float64) of `images`, batch by batch on `device`."""
    network = space.network.to(device).eval()
    features, probs = [], []
    with progress_bar() as bar:
        task = bar.add_task(f"{space.name} features {label}".strip(), total=len(images))
        for i in range(0, len(images), space.batch_size):
            f, p = network(images[i : i + space.batch_size].to(device))
            features.append(f.float().cpu())
            probs.append(p.double().cpu())
            bar.advance(task, len(f))
    return torch.cat(features).numpy(), torch.cat(probs).numpy()
