"""Check csbench's `paper` student training against the seed authors' own TensorFlow code (not a test).

From the same initial weights and the same data, a few steps of the authors' `lenet` and training step under
`tf.compat.v1` (their `compression_score.py`, with only the removed `tf.contrib` initialisers replaced, since the
initial weights are assigned anyway) and of `csbench.compression.train_student` under the `paper` protocol must
give the same per-step losses and final weights to float32 tolerance. The two sides run in two Python
environments (TensorFlow and PyTorch need not share one):

    python scripts/tf_parity.py torch /tmp/parity          # csbench side: writes inputs and its results
    /path/to/tf-venv/bin/python scripts/tf_parity.py tf /tmp/parity
    python scripts/tf_parity.py compare /tmp/parity        # prints the differences, writes the markdown

Five full batches of 256 plus a partial one (which the protocol must drop); inputs are 0-255 pixels minus the
mean image, targets stand in for the teacher's logits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

STEPS, BATCH, PARTIAL, SIZE, CHANNELS = 5, 256, 100, 28, 1
RESULT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "tf-parity.md"


def torch_side(folder: Path) -> None:
    import dataclasses

    import torch

    import csbench.compression as compression
    from csbench.suites import get_suite

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(STEPS * BATCH + PARTIAL, CHANNELS, SIZE, SIZE)).astype(np.float32)
    inputs = (pixels - pixels.mean(axis=0)).astype(np.float32)
    targets = rng.normal(scale=3.0, size=(len(inputs), 10)).astype(np.float32)
    suite = get_suite("fashion-mnist")
    protocol = dataclasses.replace(suite.protocol("paper"), samples=len(inputs))
    outputs, initial = [], {}
    build = compression.build_student

    def recording(s):
        model = build(s)
        initial.update({k: v.detach().clone().numpy() for k, v in model.state_dict().items()})
        model.register_forward_hook(lambda _m, _a, out: outputs.append(out.detach().clone()))
        return model

    compression.build_student = recording
    student = compression.train_student(suite, protocol, torch.from_numpy(inputs), torch.from_numpy(targets), seed=0)
    losses = [compression.distillation_loss(out, torch.from_numpy(targets[i * BATCH:(i + 1) * BATCH]),
                                            "l2-logits").item() for i, out in enumerate(outputs)]
    final = {k: v.detach().numpy() for k, v in student.state_dict().items()}
    np.savez(folder / "inputs.npz", inputs=inputs, targets=targets,
             **{f"init/{k}": v for k, v in to_tf(initial).items()})
    np.savez(folder / "torch.npz", **{f"final/{k}": v for k, v in to_tf(final).items()})
    (folder / "torch.json").write_text(json.dumps({"losses": losses, "steps": len(outputs)}))


def to_tf(state: dict) -> dict:
    """PyTorch layouts to the authors' TF variables: HWIO convolutions, (in, out) matrices, NHWC flatten order."""
    conv1, conv2, fc1, fc2 = (k.rsplit(".", 1)[0] for k in list(state)[::2])
    side = int(round((state[f"{fc1}.weight"].shape[1] / 128) ** 0.5))
    ip1 = state[f"{fc1}.weight"].reshape(1024, 128, side, side).transpose(2, 3, 1, 0).reshape(-1, 1024)
    return {"conv1_w": state[f"{conv1}.weight"].transpose(2, 3, 1, 0), "conv1_b": state[f"{conv1}.bias"],
            "conv2_w": state[f"{conv2}.weight"].transpose(2, 3, 1, 0), "conv2_b": state[f"{conv2}.bias"],
            "ip1_w": np.ascontiguousarray(ip1), "ip1_b": state[f"{fc1}.bias"],
            "ip2_w": state[f"{fc2}.weight"].T.copy(), "ip2_b": state[f"{fc2}.bias"]}


def tf_side(folder: Path) -> None:
    """The authors' `lenet`, loss, optimizer and loop (`get_compression_acc`), initial weights assigned."""
    import tensorflow as tf

    tf = tf.compat.v1
    tf.disable_eager_execution()
    data = np.load(folder / "inputs.npz")
    init = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("init/")}
    x = tf.placeholder(tf.float32, [BATCH, SIZE, SIZE, CHANNELS])
    teacher = tf.placeholder(tf.float32, [BATCH, 10])
    w = {name: tf.Variable(value, name=name) for name, value in init.items()}
    conv1 = tf.nn.bias_add(tf.nn.conv2d(x, w["conv1_w"], strides=[1, 1, 1, 1], padding="VALID"), w["conv1_b"])
    pool1 = tf.nn.max_pool(conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    conv2 = tf.nn.bias_add(tf.nn.conv2d(pool1, w["conv2_w"], strides=[1, 1, 1, 1], padding="VALID"), w["conv2_b"])
    pool2 = tf.nn.max_pool(conv2, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
    ip1 = tf.reshape(pool2, [-1, w["ip1_w"].get_shape().as_list()[0]])
    ip1 = tf.nn.relu(tf.add(tf.matmul(ip1, w["ip1_w"]), w["ip1_b"]))
    student = tf.add(tf.matmul(ip1, w["ip2_w"]), w["ip2_b"])
    loss = tf.nn.l2_loss(teacher - student) / BATCH
    step = tf.train.AdamOptimizer(learning_rate=1e-4).minimize(loss)
    inputs = data["inputs"].transpose(0, 2, 3, 1)  # NCHW to the authors' NHWC
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for j in range(int(len(inputs) / BATCH)):
            _, cost = sess.run([step, loss], feed_dict={x: inputs[j * BATCH:(j + 1) * BATCH],
                                                        teacher: data["targets"][j * BATCH:(j + 1) * BATCH]})
            losses.append(float(cost))
        final = sess.run(w)
    np.savez(folder / "tf.npz", **{f"final/{k}": v for k, v in final.items()})
    (folder / "tf.json").write_text(json.dumps({"losses": losses, "steps": len(losses),
                                                "tensorflow": tf.__version__ if hasattr(tf, "__version__") else ""}))


def compare(folder: Path) -> None:
    mine, theirs = json.loads((folder / "torch.json").read_text()), json.loads((folder / "tf.json").read_text())
    a, b = np.load(folder / "torch.npz"), np.load(folder / "tf.npz")
    init = np.load(folder / "inputs.npz")
    loss_rel = max(abs(p - q) / abs(q) for p, q in zip(mine["losses"], theirs["losses"]))
    rows = []
    for k in sorted(a.files):
        moved = np.abs(b[k] - init[k.replace("final/", "init/")]).max()
        diff = np.abs(a[k] - b[k])
        rows.append(f"| `{k.split('/')[1]}` | {diff.max():.2e} | {np.percentile(diff, 99.9):.2e} | "
                    f"{(diff > 1e-6).sum():,} of {diff.size:,} | {moved:.2e} |")
    lines = ["# csbench `paper` training against the authors' TensorFlow code", "",
             "Written by `scripts/tf_parity.py compare`. Same initial weights, same inputs and targets, "
             f"{STEPS} full batches of {BATCH} plus a partial batch of {PARTIAL}.", "",
             f"- steps taken: csbench {mine['steps']}, TensorFlow {theirs['steps']} (the partial batch dropped)",
             "- per-step losses, csbench: " + ", ".join(f"{v:.6g}" for v in mine["losses"]),
             "- per-step losses, TensorFlow: " + ", ".join(f"{v:.6g}" for v in theirs["losses"]),
             f"- largest relative loss difference: {loss_rel:.2e}", "",
             "| variable | max abs difference after training | 99.9th percentile | entries differing by > 1e-6 "
             "| max abs change by training (TF) |", "|---|---|---|---|---|", *rows, "",
             "Adam divides each step by the root of its running squared gradient, so an entry whose gradient is zero "
             "up to rounding (a unit at its ReLU's edge) moves by up to a full step of the learning rate on either "
             "side; those few entries are where the two frameworks' float summation orders and TF's epsilon-hat "
             "placement (`eps` added before, not after, the bias correction) show.", ""]
    RESULT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    side, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    {"torch": torch_side, "tf": tf_side, "compare": compare}[side](folder)
