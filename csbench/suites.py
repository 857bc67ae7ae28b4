"""Suites are declarative records: which data, which fixed teacher, which student, which protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .cache import Pin
from .errors import CsbenchError
from .registry import Choice, Registry

TEACHER_DIR = Path(__file__).parent / "teachers"


@dataclass(frozen=True)
class TeacherRecipe:
    """How the committed teacher checkpoint was trained (`csbench teacher train`).

    `optimizer` is "adamw" or "sgd" (Nesterov, momentum cycled by OneCycle); `crop_padding` is the zero
    padding of the random crop.
    """

    epochs: int
    batch_size: int
    max_lr: float
    weight_decay: float
    augmentation: str
    seed: int = 0
    optimizer: str = "adamw"
    crop_padding: int = 2


@dataclass(frozen=True)
class TeacherSpec:
    """The fixed teacher: a state dict committed under csbench/teachers/ (`format` "state-dict", trained by
    `recipe`), or a published file downloaded from `url` into the cache and converted once (`format` names the
    converter in csbench.cifar_teachers). Its pin is `sha256`, or `git_blob` for a file known only by its git
    hash; a teacher with neither (and `test_accuracy` None) has not been trained and pinned yet.
    `test_accuracy` is None where it could not be measured."""

    architecture: str
    checkpoint: str
    sha256: str
    test_accuracy: float | None
    recipe: TeacherRecipe | None = None
    url: str = ""
    git_blob: str = ""
    format: str = "state-dict"

    @property
    def path(self) -> Path:
        return TEACHER_DIR / self.checkpoint

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.git_blob)

    @property
    def pin(self) -> Pin:
        return Pin("sha256", self.sha256) if self.sha256 else Pin("git-blob", self.git_blob)

    @property
    def identity(self) -> str:
        """The pinned digest: what cache keys and records name the teacher by."""
        return self.pin.digest


class Loss(Choice):
    L2_LOGITS = "l2-logits"
    KD = "kd"
    CROSS_ENTROPY = "cross-entropy"


class Optimizer(Choice):
    ADAM = "adam"
    SGD = "sgd"


class Schedule(Choice):
    CONSTANT = "constant"
    COSINE = "cosine"


@dataclass(frozen=True)
class Protocol:
    """How the student is trained on teacher-labelled samples.

    `loss` is "l2-logits" (regress the teacher's logits, Ba & Caruana) or "kd" (cross-entropy to
    the teacher's softened probabilities at `temperature`, Hinton et al.). `shuffle`: reshuffle every pass,
    else visit the samples in the order they were drawn; `drop_last`: skip the final partial batch;
    `teacher_dropout`: the teacher labels with its dropout layers on (seeded by the run's seed), as the
    authors' code feeds `keep_prob` 0.5 while training the student.
    """

    name: str
    samples: int
    optimizer: Optimizer
    lr: float
    batch_size: int
    epochs: int
    loss: Loss
    temperature: float = 1.0
    lr_schedule: Schedule = Schedule.CONSTANT
    shuffle: bool = True
    drop_last: bool = False
    teacher_dropout: bool = False
    seeds: tuple[int, ...] = (0, 1, 2)
    description: str = ""

    def __post_init__(self):
        """Settings given as strings (tests, suites in development) become their choices, or fail naming them."""
        for name, choice in (("optimizer", Optimizer), ("loss", Loss), ("lr_schedule", Schedule)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, choice(value))
            except ValueError:
                known = ", ".join(c.value for c in choice)
                raise CsbenchError(f"protocol {self.name!r}: unknown {name} {value!r}; known: {known}") from None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Suite:
    """`quality_samples` and `fid_reference_split`: how many samples IS and FID use, and which real split's
    statistics FID compares against (researchers' convention: 50,000 samples against the training split).
    `prdc_samples`: how many of them KID and precision/recall/density/coverage use, since the pairwise
    distances cost N² (Naeem et al. use 10,000); `copy_samples`: how many the copy measures use (their rates and
    flags are those of 50,000 at a fifth of the cost, benchmarks/results/copying-fashion-mnist.md)."""

    name: str
    dataset: str
    image_shape: tuple[int, int, int]
    num_classes: int
    teacher: TeacherSpec
    student: str
    protocols: dict[str, Protocol] = field(default_factory=dict)
    default_protocol: str = "paper"
    student_note: str = ""
    quality_samples: int = 50_000
    fid_reference_split: str = "train"
    prdc_samples: int = 10_000
    copy_samples: int = 10_000
    class_names: tuple[str, ...] = ()

    def protocol(self, name: str | None = None) -> Protocol:
        name = name or self.default_protocol
        if name not in self.protocols:
            raise CsbenchError(f"suite {self.name!r} has no protocol {name!r}; it has {', '.join(self.protocols)}")
        return self.protocols[name]


SUITES: Registry[Suite] = Registry("suite")


def register_suite(suite: Suite) -> Suite:
    return SUITES.add(suite.name, suite)


def get_suite(name: str) -> Suite:
    return SUITES.get_or_fail(name)


STUDENT_NOTE = ("the seed authors' LeNet: conv5x5-64 (valid), max-pool, conv5x5-128 (valid), max-pool, FC-1024, "
                "ReLU, FC-10; Glorot-uniform weights, N(0, 0.5²) biases; inputs 0–255 minus the mean image")

PAPER_PROTOCOL = Protocol(
    name="paper",
    samples=50_000,
    optimizer=Optimizer.ADAM,
    lr=1e-4,
    batch_size=256,
    epochs=1,
    loss=Loss.L2_LOGITS,
    shuffle=False,
    drop_last=True,
    teacher_dropout=True,
    description="The seed authors' protocol (RuishanLiu/GAN-TSC-Score, `get_compression_acc`): L2 regression on "
    "teacher logits, Adam 1e-4, one unshuffled pass in the order the samples were drawn, the last partial batch "
    "dropped, the teacher labelling with its dropout on.",
)

GRADED_PROTOCOL = Protocol(
    name="graded",
    samples=50_000,
    optimizer=Optimizer.ADAM,
    lr=1e-3,
    batch_size=128,
    epochs=2,
    loss=Loss.KD,
    temperature=4.0,
    lr_schedule=Schedule.COSINE,
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
        student_note=STUDENT_NOTE,
        protocols={"paper": PAPER_PROTOCOL, "graded": GRADED_PROTOCOL},
        # `graded` separates ten images per class from real data, which `paper` barely does (README, Protocols).
        default_protocol="graded",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                     "Ankle boot"),
    )
)

BUDGETS = (1_000, 5_000, 10_000, 50_000)
"""The sample budgets of CS by budget and of GAN-assisted compression (csbench.budget)."""

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
AUTHORS_REPO = "https://github.com/RuishanLiu/GAN-TSC/raw/00647b244224dc2203bfbf197481d2a94d61b3a3"
IDELBAYEV_REPO = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/d5489e8995e81e91ce6b1d69dcc98ad579b0b153"

register_suite(
    Suite(
        name="cifar10",
        dataset="cifar10",
        image_shape=(3, 32, 32),
        num_classes=10,
        teacher=TeacherSpec(
            # the seed authors' NIN, known here only by its git blob id; its accuracy could not be measured here
            architecture="nin", checkpoint="teacher.npy", sha256="",
            git_blob="3042e011631112005ef64ccc9678b3bb53806f0b", test_accuracy=None,
            url=f"{AUTHORS_REPO}/models/cifar10/teacher.npy", format="authors-nin-npy",
        ),
        student="lenet",
        student_note=STUDENT_NOTE,
        protocols={"paper": PAPER_PROTOCOL, "graded": GRADED_PROTOCOL},
        # the protocol of every CS in the seed paper, with the seed authors' own teacher
        default_protocol="paper",
        class_names=CIFAR10_CLASSES,
    )
)

register_suite(
    Suite(
        name="cifar10-resnet56",
        dataset="cifar10",
        image_shape=(3, 32, 32),
        num_classes=10,
        teacher=TeacherSpec(
            # Yerlan Idelbayev's ResNet-56 (BSD-2-Clause); test accuracy as published (93.26 % on 846 images here)
            architecture="resnet56", checkpoint="resnet56-4bfd9763.th",
            sha256="4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", test_accuracy=0.9339,
            url=f"{IDELBAYEV_REPO}/pretrained_models/resnet56-4bfd9763.th", format="idelbayev-resnet",
        ),
        student="lenet",
        student_note=STUDENT_NOTE,
        protocols={"graded": GRADED_PROTOCOL, "paper": PAPER_PROTOCOL},
        default_protocol="graded",
        class_names=CIFAR10_CLASSES,
    )
)
