"""Choosing the tf.distribute strategy, and the facts about it that the loop needs."""

import dataclasses
import json
import os

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Topology:
    """Where this process sits among the replicas."""

    num_replicas: int  # in sync, over all workers
    num_workers: int
    worker_index: int

    @property
    def is_chief(self):
        return self.worker_index == 0

    @property
    def local_replicas(self):
        return self.num_replicas // self.num_workers


def _check_tf_config():
    """Parses TF_CONFIG for multi_worker and returns (num_workers, worker_index); errors name it."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "--strategy=multi_worker needs the TF_CONFIG environment variable (cluster and task)"
        )
    try:
        tf_config = json.loads(raw)
        workers = tf_config["cluster"]["worker"]
        task = tf_config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"TF_CONFIG does not parse as "
            f"{{'cluster': {{'worker': [...]}}, 'task': {{'type', 'index'}}}}: "
            f"{error!r}; TF_CONFIG={raw!r}"
        ) from error
    if task.get("type") != "worker" or not 0 <= index < len(workers):
        raise ValueError(
            f"TF_CONFIG task must be a worker with an index below {len(workers)}; TF_CONFIG={raw!r}"
        )
    return len(workers), index


def make_strategy(name):
    """Returns (strategy, Topology) for --strategy=auto|mirrored|multi_worker|one_device.

    auto is MirroredStrategy when more than one GPU is visible, one device otherwise; multi_worker
    is
    MultiWorkerMirroredStrategy over the cluster that TF_CONFIG describes, on TensorFlow's own
    collectives. Create it before any other TensorFlow work: multi_worker must start first.
    """
    if name == "multi_worker":
        num_workers, worker_index = _check_tf_config()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        topology = Topology(strategy.num_replicas_in_sync, num_workers, worker_index)
    else:
        gpus = tf.config.list_logical_devices("GPU")
        if name == "mirrored" or (name == "auto" and len(gpus) > 1):
            strategy = tf.distribute.MirroredStrategy()
        else:
            strategy = tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
        topology = Topology(strategy.num_replicas_in_sync, 1, 0)
    print(
        f"strategy: {type(strategy).__name__}, {topology.num_replicas} replica(s) in sync, worker "
        f"{topology.worker_index} of {topology.num_workers}",
        flush=True,
    )
    return strategy, topology
