"""Train one epoch of a small model under a strategy and save the losses and weights (run as a process).

Usage: python distributed_run.py MODE OUT.npz [--cpus N] [--jit] [--batch B] [--steps-per-call K];
MODE is none, mirrored or multi_worker.
A separate process, because the CPU must be split into logical devices before TensorFlow starts.
"""

import argparse

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("mode")
parser.add_argument("out")
parser.add_argument("--cpus", type=int, default=1)
parser.add_argument("--jit", action="store_true")
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--steps-per-call", type=int, default=1)
args = parser.parse_args()
if args.cpus > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpus)

from fashionlab.common.params import ModelParams, OptimizerGroup  # noqa: E402
from fashionlab.model.mlp import build_model  # noqa: E402
from fashionlab.training.distribution import ReplicatedTrainer, is_chief, make_strategy  # noqa: E402
from fashionlab.training.loop import Position, fit, seed_everything  # noqa: E402
from fashionlab.training.steps import Trainer  # noqa: E402

if args.mode == "mirrored":
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.cpus)])
else:
    strategy = make_strategy(args.mode)
seed_everything(0)
rng = np.random.default_rng(0)
labels = (np.arange(600) % 10).astype(np.uint8)
images = (rng.integers(0, 60, size=(600, 28, 28)) + labels[:, None, None] * 19).astype(np.uint8)
model_params = ModelParams(hidden_units=(32, 16), dense="custom", norm="custom", epsilon=1e-3, epsilon_placement="std")
groups = {
    "lower": OptimizerGroup(layers=("dense1", "norm1", "dense2", "norm2"), optimizer="adam", learning_rate=1e-3),
    "upper": OptimizerGroup(layers=("logits",), optimizer="sgd", learning_rate=1e-1),
}
if strategy is None:  # one device: several steps per call
    model = build_model(model_params)
    trainer = Trainer(model, groups, jit_compile=args.jit, steps_per_call=args.steps_per_call)
else:
    with strategy.scope():
        model = build_model(model_params)
    trainer = ReplicatedTrainer(model, groups, args.jit, strategy)
losses = []
history = fit(
    trainer,
    (images[:500], labels[:500]),
    (images[500:], labels[500:]),
    epochs=1,
    batch_size=args.batch,
    seed=0,
    start=Position(),
    history=[],
    on_step=lambda _p, _s, loss, _a: losses.append(loss),
)
np.savez(
    args.out,
    replicas=strategy.num_replicas_in_sync if strategy else 1,
    steps_per_call=trainer.steps_per_call,
    chief=is_chief(strategy),
    running_loss=np.array(losses),
    val=np.array([history[0].val_loss, history[0].val_accuracy]),
    **{f"w{i}": w for i, w in enumerate(model.get_weights())},
)
