"""The conditional VAE and the diffusion model: shapes, seeded sampling, resumable training, pinned weights."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil

import pytest
import torch
from conftest import GENERATORS, ROOT

from csbench import diffusion, vae
from csbench.cache import sha256_file
from csbench.checkpoints import save_checkpoint
from csbench.errors import CsbenchError, GeneratorError
from csbench.generators import SampleContext, load_generator_file
from csbench.training import load_state, new_state, save_state, train

TINY = {"cvae": dataclasses.replace(vae.RECIPE, batch_size=8),
        "ddpm": dataclasses.replace(diffusion.RECIPE, batch_size=8, warmup_steps=3)}


def tiny_images(n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.arange(n) % 10


def training_script():
    spec = importlib.util.spec_from_file_location("train_generator", ROOT / "scripts" / "train_generator.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_networks_map_their_inputs_to_image_shapes():
    labels = torch.tensor([0, 9, diffusion.NULL_CLASS])
    assert diffusion.UNet()(torch.zeros(3, 1, 28, 28), torch.tensor([0, 500, 999]), labels).shape == (3, 1, 28, 28)
    model = vae.ConditionalVAE()
    mean, log_var = model.encode(torch.zeros(2, 1, 28, 28), labels[:2])
    assert mean.shape == log_var.shape == (2, vae.Z_DIM)
    assert model.decode(mean, labels[:2]).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("family, draw", [
    ("cvae", lambda m, seed: vae.sample(m, 12, seed, batch_size=5)),
    ("ddpm", lambda m, seed: diffusion.sample(m, 12, seed, steps=2, guidance=1.0, batch_size=5))])
def test_sampling_is_seeded_in_range_and_balanced(family, draw):
    model = TINY[family].network()
    (images, labels), (again, _), (other, _) = draw(model, 0), draw(model, 0), draw(model, 1)
    assert images.shape == (12, 1, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0
    assert torch.equal(images, again) and (images - other).abs().mean() > 0.01
    assert labels.tolist() == [i % 10 for i in range(12)]


def test_sampled_noise_does_not_depend_on_the_batch_size():
    model = diffusion.UNet()
    whole = diffusion.sample(model, 6, 3, steps=2, guidance=0.0, batch_size=6)[0]
    assert torch.allclose(whole, diffusion.sample(model, 6, 3, steps=2, guidance=0.0, batch_size=4)[0], atol=1e-5)


def test_guidance_changes_the_samples():
    model = diffusion.UNet()
    plain, guided = (diffusion.sample(model, 4, 0, steps=2, guidance=w)[0] for w in (0.0, 2.0))
    assert (plain - guided).abs().max() > 1e-4


@pytest.mark.parametrize("family", ["cvae", "ddpm"])
def test_a_resumed_training_ends_with_the_same_weights_as_an_unbroken_one(family, tmp_path):
    recipe, (images, labels) = TINY[family], tiny_images()
    straight = new_state(recipe, 0)
    saves = [s.step for s, _ in train(recipe, straight, images, labels, 5, seed=0, save_every=2)]
    assert saves == [2, 4, 5], "every save_every steps and at the end"
    first = new_state(recipe, 0)
    for state, _ in train(recipe, first, images, labels, 2, seed=0, save_every=2):
        save_state(state, tmp_path / "state", {"family": family})
    resumed = load_state(recipe, 0, tmp_path / "state", {"family": family})
    assert resumed.step == 2
    list(train(recipe, resumed, images, labels, 5, seed=0, save_every=2))
    for a, b in zip([*straight.model.state_dict().values(), *straight.sampler.state_dict().values()],
                    [*resumed.model.state_dict().values(), *resumed.sampler.state_dict().values()]):
        assert torch.equal(a, b)
    assert not torch.equal(straight.model.state_dict()[next(iter(straight.model.state_dict()))],
                           new_state(recipe, 0).model.state_dict()[next(iter(straight.model.state_dict()))])
    other = new_state(recipe, 1)
    list(train(recipe, other, images, labels, 5, seed=1, save_every=5))
    assert not all(torch.equal(a, b) for a, b in zip(other.model.parameters(), straight.model.parameters()))


def test_a_state_saved_under_other_settings_is_refused(tmp_path):
    state = new_state(TINY["cvae"], 0)
    save_state(state, tmp_path / "state", {"family": "cvae", "seed": 0})
    with pytest.raises(CsbenchError, match=r"saved with other settings \(seed\); delete it") as err:
        load_state(TINY["cvae"], 1, tmp_path / "state", {"family": "cvae", "seed": 1})
    assert "\n" not in str(err.value)


def test_training_script_resumes_to_the_same_weights(tiny_data, tmp_path, capsys):
    script = training_script()
    args = ["--family", "cvae", "--data-dir", str(tiny_data), "--limit", "512", "--save-every", "2"]
    assert script.main([*args, "--steps", "4", "--out", str(tmp_path / "a.pt"), "--state", str(tmp_path / "a")]) == 0
    assert script.main([*args, "--steps", "2", "--out", str(tmp_path / "b.pt"), "--state", str(tmp_path / "b")]) == 0
    assert script.main([*args, "--steps", "4", "--out", str(tmp_path / "b.pt"), "--state", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().err
    digest = sha256_file(tmp_path / "a.pt")
    assert digest == sha256_file(tmp_path / "b.pt") and f"sha256 {digest}" in printed
    assert f"resuming {tmp_path / 'b'} at step 2" in printed
    info = json.loads((tmp_path / "b.pt.json").read_text())
    assert info["steps"] == 4 and info["sha256"] == digest and info["epochs"] == 1.0 and info["seed"] == 0
    assert script.main([*args, "--steps", "3", "--out", str(tmp_path / "b.pt"), "--state", str(tmp_path / "b")]) == 2
    assert "is at step 4, past --steps 3" in capsys.readouterr().err


@pytest.mark.parametrize("module, network, what", [(vae, vae.ConditionalVAE, "VAE weights"),
                                                   (diffusion, diffusion.UNet, "diffusion weights")])
def test_missing_or_mispinned_weights_are_one_line_errors(module, network, what, tmp_path):
    digest = save_checkpoint(network(), tmp_path / "w.pt")
    assert module.load_network(tmp_path / "w.pt", digest, "train it").training is False
    with pytest.raises(GeneratorError, match=rf"^{what} .*missing.pt not found; train them with `train it`") as err:
        module.load_network(tmp_path / "missing.pt", digest, "train it")
    assert "\n" not in str(err.value)
    (tmp_path / "short.pt").write_bytes((tmp_path / "w.pt").read_bytes()[:-100])
    with pytest.raises(GeneratorError, match=f"^{what} .*short.pt do not match the sha256 pinned in the generator"):
        module.load_network(tmp_path / "short.pt", digest, "train it")


def test_the_average_of_a_short_training_leans_on_the_trained_weights():
    """Step 0 averages with decay 1/10, not 0.999: the EMA is mostly the trained weights, not the initial ones."""
    recipe, (images, labels) = TINY["ddpm"], tiny_images()
    state = new_state(recipe, 0)
    initial = [p.clone() for p in state.model.parameters()]
    list(train(recipe, state, images, labels, 1, seed=0, save_every=1))
    for start, trained, averaged in zip(initial, state.model.parameters(), state.ema.parameters()):
        assert torch.allclose(averaged, 0.1 * start + 0.9 * trained, atol=1e-6)


SHIPPED = {"cvae.py": ("cvae", "cvae.pt"), "ddpm_ddim10.py": ("ddpm_ddim10", "ddpm.pt")}


def context(directory) -> SampleContext:
    return SampleContext("fashion-mnist", (1, 28, 28), 10, directory)


@pytest.mark.parametrize("file", sorted(SHIPPED))
def test_each_shipped_file_samples_its_pinned_weights(file):
    gen = load_generator_file(GENERATORS / "fashion_mnist" / file)
    name, weights = SHIPPED[file]
    assert gen.name == name and gen.suites == ("fashion-mnist",)
    info = json.loads((GENERATORS / "fashion_mnist" / f"{weights}.json").read_text())
    assert info["sha256"] == sha256_file(GENERATORS / "fashion_mnist" / weights) and info["seed"] == 0
    source = (GENERATORS / "fashion_mnist" / file).read_text()
    assert f"--steps {info['steps']} " in source and f'SHA256 = "{info["sha256"]}"' in source
    images, labels = gen.sample(20, 3, context(GENERATORS / "fashion_mnist"))
    assert images.shape == (20, 1, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0.05
    assert labels.bincount(minlength=10).tolist() == [2] * 10


@pytest.mark.parametrize("file", sorted(SHIPPED))
def test_a_shipped_file_without_its_weights_names_the_training_command(file, tmp_path):
    shutil.copy(GENERATORS / "fashion_mnist" / file, tmp_path)
    gen = load_generator_file(tmp_path / file)
    with pytest.raises(GeneratorError, match=r"not found; train them with `python scripts/train_generator.py "
                                             r"--family") as err:
        gen.sample(2, 0, context(tmp_path))
    assert "\n" not in str(err.value)
