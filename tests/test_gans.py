"""The shipped fashion-mnist GAN checkpoints, their sha256 pins, and the training script on tiny data."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
import torch
from conftest import GENERATORS, ROOT

from csbench.cache import sha256_file
from csbench.checkpoints import save_checkpoint
from csbench.errors import CsbenchError, GeneratorError
from csbench.gans import GAN_ARCHITECTURES, TrainingRun, load_network, sample, train
from csbench.generators import SampleContext, load_generator_file

FASHION = GENERATORS / "fashion_mnist"
CHECKPOINTS = {f"{arch}_epoch{epoch}.py": f"{arch}_epoch{epoch}"
               for arch in ("dcgan", "acgan") for epoch in ("0.25", "1", "4", "30")}


def context(directory) -> SampleContext:
    return SampleContext("fashion-mnist", (1, 28, 28), 10, directory)


def training_script():
    spec = importlib.util.spec_from_file_location("train_gan", ROOT / "scripts" / "train_gan.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


@pytest.mark.parametrize("file", sorted(CHECKPOINTS))
def test_each_checkpoint_file_registers_its_own_entry(file):
    gen = load_generator_file(FASHION / file)
    assert gen.name == CHECKPOINTS[file] and gen.suites == ("fashion-mnist",)
    out = gen.sample(20, 3, context(FASHION))
    images, labels = out if isinstance(out, tuple) else (out, None)
    assert images.shape == (20, 1, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0.05
    if file.startswith("acgan"):
        assert labels.bincount(minlength=10).tolist() == [2] * 10
    else:
        assert labels is None


def test_checkpoints_along_training_differ():
    early, final = (load_generator_file(FASHION / f"dcgan_epoch{s}.py").sample(8, 0, context(FASHION)) for s in
                    ("0.25", "30"))
    assert (early - final).abs().mean() > 0.05


def test_a_checkpoint_that_does_not_match_its_pinned_sha256_is_refused(tmp_path):
    shutil.copy(FASHION / "acgan_epoch30.py", tmp_path)
    weights = tmp_path / "acgan_epoch30.pt"
    weights.write_bytes((FASHION / "acgan_epoch30.pt").read_bytes()[:-1000])
    gen = load_generator_file(tmp_path / "acgan_epoch30.py")
    with pytest.raises(GeneratorError, match="do not match the sha256 pinned in the generator file") as err:
        gen.sample(2, 0, context(tmp_path))
    assert "\n" not in str(err.value)


def test_missing_weights_name_the_training_command(tmp_path):
    shutil.copy(FASHION / "dcgan_epoch1.py", tmp_path)
    gen = load_generator_file(tmp_path / "dcgan_epoch1.py")
    with pytest.raises(GeneratorError, match=r"dcgan_epoch1.pt not found; train them with `python scripts/train_gan"
                                             r".py --suite fashion-mnist --arch dcgan28") as err:
        gen.sample(2, 0, context(tmp_path))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("arch", ["dcgan28", "acgan28"])
def test_training_yields_the_listed_steps_and_saves_what_it_hashes(arch, tmp_path):
    rng = torch.Generator().manual_seed(0)
    images, labels = torch.rand(48, 1, 28, 28, generator=rng), torch.arange(48) % 10
    steps = [(step, save_checkpoint(g, tmp_path / f"{step}.pt")) for step, g, _ in
             train(TrainingRun(arch, len(images), 16, 2e-4, 0), images, labels, [1, 4])]
    assert [s for s, _ in steps] == [1, 4], "4 steps span two epochs of 3 batches"
    for step, digest in steps:
        assert sha256_file(tmp_path / f"{step}.pt") == digest
        assert (tmp_path / f"{step}.pt.sha256").read_text() == f"{digest}  {step}.pt\n"
    assert steps[0][1] != steps[1][1]
    network = load_network(arch, tmp_path / "4.pt", steps[1][1], "unused")
    first, again = sample(network, 10, 0), sample(network, 10, 0)
    assert torch.equal(first[0], again[0]) and first[0].shape == (10, 1, 28, 28)


def test_training_script_is_deterministic_and_prints_the_sha256(tiny_data, tmp_path, capsys):
    script = training_script()
    args = ["--suite", "fashion-mnist", "--arch", "acgan28", "--data-dir", str(tiny_data), "--limit", "64",
            "--batch-size", "16", "--epochs", "0.5", "1"]
    assert script.main([*args, "--out", str(tmp_path / "a" / "acgan_epoch{epoch}.pt")]) == 0
    printed = capsys.readouterr().err
    assert script.main([*args, "--out", str(tmp_path / "b" / "acgan_epoch{epoch}.pt")]) == 0
    for epoch in ("0.5", "1"):
        digest = sha256_file(tmp_path / "a" / f"acgan_epoch{epoch}.pt")
        assert digest == sha256_file(tmp_path / "b" / f"acgan_epoch{epoch}.pt") and f"sha256 {digest}" in printed
    assert "epoch 0.5 (step 2," in printed and "epoch 1 (step 4," in printed
    written = json.loads((tmp_path / "a" / "acgan_epoch1.pt.json").read_text())
    assert written["step"] == 4 and written["seed"] == 0 and written["sha256"] == digest and written["cpu_s"] > 0
    assert script.main([*args, "--out", str(tmp_path / "a" / "acgan_epoch{epoch}.pt")]) == 0
    assert "not written again: the checkpoints at epochs 0.5, 1, which" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--arch", "acgan32", "--epochs", "1", "--out", "x.pt"], "makes images of shape (3, 32, 32), suite fashion"),
    (["--arch", "dcgan28", "--epochs", "1", "2", "--out", "x.pt"], "must hold {epoch} when several --epochs"),
    (["--arch", "dcgan28", "--epochs", "0", "--out", "x.pt"], "--epochs must be positive, got 0"),
])
def test_training_script_refuses_bad_arguments_in_one_line(args, message, tiny_data, capsys):
    assert training_script().main(["--suite", "fashion-mnist", "--data-dir", str(tiny_data), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("arch", ["dcgan28", "acgan32"])
def test_a_stopped_training_resumes_to_the_weights_of_an_uninterrupted_run(arch, tmp_path):
    shape = GAN_ARCHITECTURES[arch].image_shape
    images, labels = torch.rand(40, *shape, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 10
    run = TrainingRun(arch, len(images), 8, 2e-4, 3)
    whole = {step: save_checkpoint(g, tmp_path / f"whole{step}.pt")
             for step, g, _ in train(run, images, labels, [3, 7])}
    state = tmp_path / "state.pt"
    assert [step for step, _, _ in train(run, images, labels, [3], state=state, state_every=2)] == [3]
    resumed = {step: save_checkpoint(g, tmp_path / f"resumed{step}.pt") for step, g, _ in
               train(run, images, labels, [3, 7], state=state, state_every=2)}
    assert resumed == {7: whole[7]}, "the state at step 3 continues mid-epoch (5 batches an epoch) to step 7"


def test_a_training_state_of_another_run_is_refused_in_one_line(tmp_path):
    images, labels = torch.rand(16, 1, 28, 28), torch.arange(16) % 10
    state = tmp_path / "state.pt"
    list(train(TrainingRun("dcgan28", 16, 8, 2e-4, 0), images, labels, [1], state=state))
    with pytest.raises(CsbenchError, match=r"saved with other settings \(seed\); delete it") as err:
        list(train(TrainingRun("dcgan28", 16, 8, 2e-4, 1), images, labels, [2], state=state))
    assert "\n" not in str(err.value)
    state.write_bytes(b"not a state")
    with pytest.raises(CsbenchError, match="cannot be read"):
        list(train(TrainingRun("dcgan28", 16, 8, 2e-4, 0), images, labels, [2], state=state))


def test_checkpoint_steps_round_fractions_of_an_epoch():
    assert training_script().checkpoint_steps([4, 0.25, 1], 937) == {234: "0.25", 937: "1", 3748: "4"}


def test_every_architecture_makes_its_image_shape():
    for arch, spec in GAN_ARCHITECTURES.items():
        g = spec.generator().eval()
        assert g(torch.zeros(2, g.z_dim), torch.zeros(2, dtype=torch.long)).shape == (2, *spec.image_shape), arch
