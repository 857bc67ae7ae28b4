"""Check csbench's PyTorch conversion of the authors' NIN teacher against TensorFlow itself (not a test).

A synthetic `teacher.npy` in the authors' format (random weights, NIN-sized layers) is converted by csbench
(`csbench.cifar_teachers.authors_nin_state`, `AuthorsNIN`) and run on random images; the same file is run through
the authors' forward pass as `nin` in RuishanLiu/GAN-TSC `functions/cifar10/net.py` builds it under
`tf.compat.v1` (written here from its layer-by-layer description, since the repository cannot be fetched on this
machine: `tf.nn.conv2d` SAME stride 1 + ReLU, `tf.nn.max_pool` / `tf.nn.avg_pool` 3x3 stride 2 SAME, dropout with
`keep_prob`, an NHWC reshape, ip1 + ReLU, ip2). The two sides run in two Python environments:

    python scripts/nin_tf_parity.py torch /tmp/nin-parity        # csbench side: writes the file, inputs, logits
    /tmp/tfvenv/bin/python scripts/nin_tf_parity.py tf /tmp/nin-parity
    python scripts/nin_tf_parity.py compare /tmp/nin-parity      # prints the differences, writes the markdown
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

CONVS = ("conv1", "cccp1", "cccp2", "conv2", "cccp3", "cccp4", "conv3", "cccp5")
CHANNELS, KERNELS, HIDDEN, IMAGES = (3, 192, 160, 96, 192, 192, 192, 192, 192), (5, 1, 1, 5, 1, 1, 3, 1), 512, 32
RESULT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "nin-tf-parity.md"


def synthetic_layers(rng: np.random.Generator) -> dict:
    """He-scaled random weights in TF layout, so that activations neither vanish nor blow up."""
    layers = {}
    for name, cin, cout, k in zip(CONVS, CHANNELS, CHANNELS[1:], KERNELS):
        layers[name] = {"weights": rng.standard_normal((k, k, cin, cout)) * np.sqrt(2 / (k * k * cin)),
                        "biases": rng.standard_normal(cout) * 0.1}
    flat = 8 * 8 * CHANNELS[-1]
    layers["ip1"] = {"weights": rng.standard_normal((flat, HIDDEN)) * np.sqrt(2 / flat),
                     "biases": rng.standard_normal(HIDDEN) * 0.1}
    layers["ip2"] = {"weights": rng.standard_normal((HIDDEN, 10)) / np.sqrt(HIDDEN),
                     "biases": rng.standard_normal(10) * 0.1}
    return {n: {k: v.astype(np.float32) for k, v in layer.items()} for n, layer in layers.items()}


def torch_side(folder: Path) -> None:
    import torch

    from csbench.cifar_teachers import authors_nin_state, build

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "teacher.npy", synthetic_layers(rng), allow_pickle=True)
    pixels = rng.integers(0, 256, size=(IMAGES, 3, 32, 32)).astype(np.uint8)
    mean = rng.integers(0, 256, size=(200, 3, 32, 32)).mean(axis=0, keepdims=True)  # a float64 mean image
    state = authors_nin_state(folder / "teacher.npy", "synthetic teacher.npy")
    model = build("nin", state, 10)
    model.load_state_dict(state)
    model.features.input.mean = torch.from_numpy(mean)
    with torch.inference_mode():
        logits = model.eval()(torch.from_numpy(pixels).float().div(255)).numpy()
    inputs = (np.float32(pixels) - mean).astype(np.float32).transpose(0, 2, 3, 1)  # the authors' preprocessing
    np.savez(folder / "torch.npz", inputs=inputs, logits=logits)


def tf_side(folder: Path) -> None:
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    v1 = tf.compat.v1
    layers = np.load(folder / "teacher.npy", allow_pickle=True).item()  # our own synthetic file
    inputs = np.load(folder / "torch.npz")["inputs"]

    def conv_relu(x, name):
        w, b = layers[name]["weights"], layers[name]["biases"]
        return tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], padding="SAME") + b)

    x = v1.placeholder(tf.float32, [None, 32, 32, 3])
    keep_prob = v1.placeholder(tf.float32)
    h = conv_relu(conv_relu(conv_relu(x, "conv1"), "cccp1"), "cccp2")
    h = v1.nn.dropout(tf.nn.max_pool(h, [1, 3, 3, 1], [1, 2, 2, 1], padding="SAME"), keep_prob)
    h = conv_relu(conv_relu(conv_relu(h, "conv2"), "cccp3"), "cccp4")
    h = v1.nn.dropout(tf.nn.avg_pool(h, [1, 3, 3, 1], [1, 2, 2, 1], padding="SAME"), keep_prob)
    h = conv_relu(conv_relu(h, "conv3"), "cccp5")
    h = tf.reshape(h, [-1, int(np.prod(h.shape[1:]))])
    h = tf.nn.relu(tf.matmul(h, layers["ip1"]["weights"]) + layers["ip1"]["biases"])
    logits = tf.matmul(h, layers["ip2"]["weights"]) + layers["ip2"]["biases"]
    with v1.Session() as sess:
        out = sess.run(logits, {x: inputs, keep_prob: 1.0})
    np.savez(folder / "tf.npz", logits=out, version=tf.__version__)


def compare(folder: Path) -> None:
    ours, theirs = np.load(folder / "torch.npz")["logits"], np.load(folder / "tf.npz")
    ref = theirs["logits"]
    diff = np.abs(ours - ref)
    summary = {"images": len(ref), "max_abs_diff": float(diff.max()), "logit_scale": float(np.abs(ref).max()),
               "relative": float(diff.max() / np.abs(ref).max()),
               "argmax_agree": float((ours.argmax(1) == ref.argmax(1)).mean()),
               "tensorflow": str(theirs["version"])}
    print(json.dumps(summary, indent=2))
    RESULT.write_text(
        "# The authors' NIN teacher: csbench's PyTorch conversion against TensorFlow\n\n"
        "Written by `scripts/nin_tf_parity.py`. A synthetic `teacher.npy` in the authors' format (random weights; "
        f"channels {list(CHANNELS)}, kernels {list(KERNELS)}, ip1 width {HIDDEN}) is converted by csbench and run on "
        f"{len(ref)} random images (0–255 pixels minus a float64 mean image); the same file runs through the "
        f"authors' `nin` forward pass under `tf.compat.v1` (TensorFlow {summary['tensorflow']}, CPU), rebuilt from "
        "its layer-by-layer description (the repository could not be fetched here), with `keep_prob` 1.\n\n"
        "| | value |\n|---|---|\n"
        f"| largest logit difference | {summary['max_abs_diff']:.3g} |\n"
        f"| largest logit magnitude | {summary['logit_scale']:.3g} |\n"
        f"| relative difference | {summary['relative']:.2g} (the tests require 1e-4 against a NumPy reference) |\n"
        f"| same predicted class | {summary['argmax_agree']:.0%} |\n\n"
        "Covered: the HWIO→OIHW and (in, out)→(out, in) transposes, SAME convolutions, the SAME 3x3/2 max-pool "
        "(padding 0 top/left, 1 bottom/right, -inf) and average pool (divisor = non-padded values), the NHWC "
        "flatten before ip1, and the preprocessing inside the module. Not covered: dropout masks (random on "
        "both sides; both keep units with probability 0.5 and scale them by 2), and the real file, which could "
        "not be fetched here.\n")


if __name__ == "__main__":
    step, folder = sys.argv[1], Path(sys.argv[2])
    {"torch": torch_side, "tf": tf_side, "compare": compare}[step](folder)
