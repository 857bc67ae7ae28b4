"""The two feature spaces of the sample-quality metrics: the suite's teacher, and pytorch-fid's InceptionV3.

Each maps images in [0, 1] to (features, class probabilities). "teacher" works offline on every suite and
knows the suite's classes; "inception" is the standard FID/IS network, whose numbers are comparable with
published ones only at the same sample count, but whose weights must be on disk or downloadable.
"""

from __future__ import annotations

import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pytorch_fid.inception
import torch
import torch.nn.functional as F
from torch import nn

from .cache import atomic_path, sha256_file
from .errors import CsbenchError
from .progress import progress_bar
from .suites import Suite
from .teacher import INFERENCE_BATCH

INCEPTION_URL = pytorch_fid.inception.FID_WEIGHTS_URL
INCEPTION_FILE = INCEPTION_URL.rsplit("/", 1)[1]
INCEPTION_SHA256_PREFIX = INCEPTION_FILE.rsplit("-", 1)[1].split(".")[0]  # torch hub names carry it


class InceptionUnavailable(CsbenchError):
    """The Inception weights are neither on disk nor downloadable: Inception metrics are skipped, not fatal."""


@dataclass(frozen=True)
class FeatureSpace:
    """`name` is the family written in records and tables; `suite_classes` says whether the network's
    classes are the suite's, so that per-class shares mean something."""

    name: str
    description: str
    network_sha256: str
    network: nn.Module
    batch_size: int
    suite_classes: bool


class TeacherFeatures(nn.Module):
    """The teacher's penultimate representation and its softmax."""

    def __init__(self, teacher: nn.Module):
        super().__init__()
        self.teacher = teacher

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.teacher.features(x)
        return features, F.softmax(self.teacher.classifier(features), dim=1)


class InceptionFeatures(nn.Module):
    """pytorch-fid's InceptionV3: pool3 features (inputs resized to 299x299 and scaled as pytorch-fid does,
    grey images repeated to three channels) and, for IS, the softmax of the 1008-way fc layer without its
    bias, as the original IS code and torch-fidelity compute it."""

    POOL3 = pytorch_fid.inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]

    def __init__(self, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        # pytorch-fid's constructor always fetches its weights by URL; hand it the state dict found and
        # checked here instead, so that the network is built and strictly loaded by pytorch-fid's own code.
        with mock.patch.object(pytorch_fid.inception, "load_state_dict_from_url", lambda *a, **kw: state_dict):
            self.inception = pytorch_fid.inception.InceptionV3([self.POOL3])
        self.register_buffer("fc_weight", state_dict["fc.weight"].float())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        features = self.inception(x)[0].flatten(1)
        return features, F.softmax(features @ self.fc_weight.T, dim=1)


def teacher_space(suite: Suite, teacher: nn.Module) -> FeatureSpace:
    width = [m for m in teacher.classifier.modules() if isinstance(m, nn.Linear)][-1].in_features
    return FeatureSpace("teacher", f"{suite.teacher.architecture} penultimate layer ({width}-d), softmax over "
                        f"{suite.num_classes} suite classes", suite.teacher.sha256, TeacherFeatures(teacher), INFERENCE_BATCH,
                        True)


def default_inception_path() -> Path:
    """Where pytorch-fid itself caches the weights (torch hub's checkpoints folder)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def how_to_get_inception(path: Path) -> str:
    return (f"download {INCEPTION_URL} to {path}, or pass --inception-weights PATH (--no-inception skips "
            "these metrics)")


def download_inception(path: Path, timeout: float = 60.0) -> None:
    """Fetch the weights into `path` atomically; a file whose sha256 does not start with the hub prefix is dropped."""
    url = INCEPTION_URL
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                shutil.copyfileobj(response, f)
            if not sha256_file(tmp).startswith(INCEPTION_SHA256_PREFIX):
                raise InceptionUnavailable(f"the file downloaded from {url} is not pytorch-fid's Inception "
                                           f"weights (sha256 does not start with {INCEPTION_SHA256_PREFIX})")
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


def inception_space(path: Path | None = None) -> FeatureSpace:
    state, digest = load_inception_weights(path)
    try:
        network = InceptionFeatures(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise CsbenchError(f"Inception weights {path or default_inception_path()} do not fit pytorch-fid's "
                           f"InceptionV3: {detail[:300]}") from None
    return FeatureSpace("inception", f"pytorch-fid InceptionV3 pool3 (2048-d), softmax over "
                        f"{state['fc.weight'].shape[0]} ImageNet classes", digest, network.eval(), 50, False)


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
