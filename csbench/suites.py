"""Suites are declarative records: which data, which fixed teacher, which student, which protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import CsbenchError

TEACHER_DIR = Path(__file__).parent / "teachers"


@dataclass(frozen=True)
class TeacherRecipe:
    """How the committed teacher checkpoint was trained (`csbench teacher train`)."""

    epochs: int
    batch_size: int
    max_lr: float
    weight_decay: float
    augmentation: str
    seed: int = 0


@dataclass(frozen=True)
class TeacherSpec:
    architecture: str
    checkpoint: str
    sha256: str
    test_accuracy: float
    recipe: TeacherRecipe

    @property
    def path(self) -> Path:
        return TEACHER_DIR / self.checkpoint


@dataclass(frozen=True)
class Protocol:
    """How the student is trained on teacher-labelled samples.

    `loss` is "l2-logits" (regress the teacher's logits, Ba & Caruana) or "kd" (cross-entropy to
    the teacher's softened probabilities at `temperature`, Hinton et al.).
    """

    name: str
    samples: int
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    loss: str
    temperature: float = 1.0
    lr_schedule: str = "constant"
    seeds: tuple[int, ...] = (0, 1, 2)
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Suite:
    name: str
    dataset: str
    image_shape: tuple[int, int, int]
    num_classes: int
    teacher: TeacherSpec
    student: str
    protocols: dict[str, Protocol] = field(default_factory=dict)
    default_protocol: str = "paper"
    student_note: str = ""

    def protocol(self, name: str | None = None) -> Protocol:
        name = name or self.default_protocol
        if name not in self.protocols:
            raise CsbenchError(f"suite {self.name!r} has no protocol {name!r}; it has {', '.join(self.protocols)}")
        return self.protocols[name]


SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    SUITES[suite.name] = suite
    return suite


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise CsbenchError(f"unknown suite {name!r}; known suites: {', '.join(sorted(SUITES))}")
    return SUITES[name]


PAPER_PROTOCOL = Protocol(
    name="paper",
    samples=50_000,
    optimizer="adam",
    lr=1e-4,
    batch_size=256,
    epochs=1,
    loss="l2-logits",
    description="The seed authors' protocol: L2 regression on teacher logits, Adam 1e-4, one pass.",
)

GRADED_PROTOCOL = Protocol(
    name="graded",
    samples=50_000,
    optimizer="adam",
    lr=1e-3,
    batch_size=128,
    epochs=2,
    loss="kd",
    temperature=4.0,
    lr_schedule="cosine",
    description="Longer and softer: distillation at T=4, Adam 1e-3 with cosine decay, two passes at batch 128, so that "
    "sets short of full diversity score in between real data and noise instead of collapsing to chance.",
)

register_suite(
    Suite(
        name="fashion-mnist",
        dataset="fashion-mnist",
        image_shape=(1, 28, 28),
        num_classes=10,
        teacher=TeacherSpec(
            architecture="cnn6",
            checkpoint="fashion-mnist-cnn6.pt",
            sha256="9ef00b3ab9a04af058614d6a3f0f3d8aaff63b7b87cfcb131a871e9f45c76734",
            test_accuracy=0.9380,
            recipe=TeacherRecipe(epochs=12, batch_size=128, max_lr=3e-3, weight_decay=5e-4,
                                 augmentation="random crop (pad 2) + horizontal flip"),
        ),
        student="lenet",
        student_note="LeNet-style: conv5x5-64, ReLU, max-pool, conv5x5-128, ReLU, max-pool, FC-1024, FC-10",
        protocols={"paper": PAPER_PROTOCOL, "graded": GRADED_PROTOCOL},
    )
)
