"""Choose the `tf.distribute` strategy the training loop runs under, and who writes the outputs."""

from __future__ import annotations

import os

from fashionlab.common.backend import tf
from fashionlab.common.errors import TrainingError


def make_strategy(name: str) -> tf.distribute.Strategy:
    """ "none": TensorFlow's default strategy; "mirrored": every local GPU (the CPU when there is none);
    "multi_worker": `MultiWorkerMirroredStrategy` over the cluster in `TF_CONFIG`.

    Call it before any other TensorFlow work: a multi-worker strategy must set up its collectives first.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise TrainingError(
                "train.distribute: multi_worker expected the cluster in the TF_CONFIG environment variable, got none"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes outputs: the only process, the "chief" task, or worker 0 without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().jobs
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
