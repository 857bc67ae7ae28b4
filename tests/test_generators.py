import numpy as np
import pytest
import torch
from conftest import GENERATORS as GENERATOR_DIR

from csbench.errors import GeneratorError
from csbench.generators import GENERATORS, check_samples, load_generator_file


def test_loading_by_path_registers_the_generator():
    gen = load_generator_file(GENERATOR_DIR / "uniform_noise.py")
    assert gen.name == "uniform_noise"
    assert GENERATORS["uniform_noise"] is gen
    assert gen.path == (GENERATOR_DIR / "uniform_noise.py").resolve()
    assert gen.supports("fashion-mnist") and not gen.needs_train_data


def test_loading_the_same_file_twice_is_allowed():
    first = load_generator_file(GENERATOR_DIR / "real_data.py")
    second = load_generator_file(GENERATOR_DIR / "real_data.py")
    assert first.name == second.name == "real_data" and second.needs_train_data


def write(tmp_path, body, name="gen.py"):
    path = tmp_path / name
    path.write_text("import torch\nimport csbench\n" + body)
    return path


def test_file_that_registers_nothing_is_rejected(tmp_path):
    with pytest.raises(GeneratorError, match="exactly one generator.*registered 0"):
        load_generator_file(write(tmp_path, "x = 1\n"))


def test_file_that_raises_on_import_is_named(tmp_path):
    with pytest.raises(GeneratorError, match="gen.py raised on import: ZeroDivisionError"):
        load_generator_file(write(tmp_path, "1 / 0\n"))


def test_name_clash_with_another_file_is_rejected(tmp_path):
    load_generator_file(GENERATOR_DIR / "uniform_noise.py")
    body = "@csbench.generator('uniform_noise', suites=['*'])\ndef sample(n, seed, ctx):\n    return None\n"
    with pytest.raises(GeneratorError, match="already registered"):
        load_generator_file(write(tmp_path, body))


SHAPE = (1, 4, 4)


@pytest.mark.parametrize("samples, message", [
    (torch.full((3, *SHAPE), float("nan")), "NaN or infinite"),
    (torch.zeros(3, 1, 5, 5), r"shape \(1, 5, 5\)"),
    (torch.zeros(3, *SHAPE, dtype=torch.uint8), "dtype torch.uint8"),
    (torch.full((3, *SHAPE), 255.0), r"values in \[255, 255\]"),
    (torch.zeros(2, *SHAPE), "returned 2 samples, 3 were requested"),
    ([0.5] * 3, "returned list"),
])
def test_check_samples_names_the_broken_rule(samples, message):
    with pytest.raises(GeneratorError, match=message):
        check_samples(samples, 3, SHAPE)


def test_check_samples_accepts_arrays_and_ignores_labels():
    images = np.random.default_rng(0).random((3, *SHAPE))
    out = check_samples((images, np.zeros(3)), 3, SHAPE)
    assert out.dtype == torch.float32 and torch.allclose(out, torch.from_numpy(images).float())


SHIPPED = sorted(p for p in [*GENERATOR_DIR.glob("*.py"), *GENERATOR_DIR.glob("fashion_mnist/*.py")]
                 if not p.name.startswith("_"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_generator_keeps_the_contract(path):
    from csbench.data import Split
    from csbench.generators import SampleContext

    gen = load_generator_file(path)
    rng = torch.Generator().manual_seed(0)
    train = Split(torch.rand(200, 1, 28, 28, generator=rng), torch.arange(200) % 10)
    ctx = SampleContext("fashion-mnist", (1, 28, 28), 10, path.parent, train=train if gen.needs_train_data else None)
    first = check_samples(gen.sample(30, 5, ctx), 30, ctx.shape, name=gen.name)
    again = check_samples(gen.sample(30, 5, ctx), 30, ctx.shape, name=gen.name)
    other = check_samples(gen.sample(30, 6, ctx), 30, ctx.shape, name=gen.name)
    assert torch.equal(first, again) and not torch.equal(first, other)


REFERENCES = sorted(p for p in GENERATOR_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", REFERENCES, ids=[p.stem for p in REFERENCES])
def test_reference_generators_declare_and_draw_cifar10_images(path):
    from csbench.data import Split
    from csbench.generators import SampleContext

    gen = load_generator_file(path)
    assert gen.supports("cifar10") and gen.supports("cifar10-resnet56")
    rng = torch.Generator().manual_seed(0)
    train = Split(torch.rand(100, 3, 32, 32, generator=rng), torch.arange(100) % 10)
    ctx = SampleContext("cifar10-resnet56", (3, 32, 32), 10, path.parent,
                        train=train if gen.needs_train_data else None)
    out = gen.sample(40, 1, ctx)
    images = check_samples(out, 40, (3, 32, 32), name=gen.name)
    assert images.shape == (40, 3, 32, 32) and 0 <= images.min() and images.max() <= 1
    assert images.std() > 0.01, "not a constant image"
    if isinstance(out, tuple):
        assert out[1].shape == (40,) and 0 <= out[1].min() and out[1].max() < 10
