"""Distribution: MirroredStrategy over 2 logical CPUs, and 2 workers on loopback (subprocesses)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.training.conftest import TINY_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    # Before TensorFlow initialises: two logical CPUs stand in for two GPUs.
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import dataclasses
    import keras
    import numpy as np
    from tests.training.conftest import tiny_config
    from keras_deblur.training.assembly import build_gan
    from keras_deblur.training.loop import train
    from keras_deblur.training.step import make_step_function
    from keras_deblur.training.strategy import Topology

    config = tiny_config("/unused", "/unused")
    config = dataclasses.replace(config, input=dataclasses.replace(config.input, batch_size=4))
    rng = np.random.default_rng(0)
    batch = tuple(rng.random((4, 32, 32, 3), dtype=np.float32) for _ in range(2))

    def one_step(strategy, topology):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            gan = build_gan(config)
        iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
        step = make_step_function(gan, strategy, topology, iterator, False)
        logs = {k: float(v) for k, v in step().items()}
        return logs, gan.generator.get_weights() + gan.discriminator.get_weights()

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    logs2, weights2 = one_step(mirrored, Topology(2, 1, 0))
    logs1, weights1 = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), Topology(1, 1, 0))
    for name in logs1:
        tolerance = 1e-5 * max(1.0, abs(logs1[name]))
        assert abs(logs1[name] - logs2[name]) <= tolerance, (name, logs1[name], logs2[name])
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(weights1, weights2))
    assert worst < 1e-5, worst
    print("MIRRORED OK", worst)

    # A global batch that does not divide across the replicas is refused before training.
    uneven = dataclasses.replace(config.input, batch_size=3)
    try:
        train(dataclasses.replace(config, run_dir=sys.argv[1], data_dir=sys.argv[2],
                                  strategy="mirrored", input=uneven))
    except ValueError as error:
        assert "--global_batch_size=3 does not divide across 2 replicas" in str(error), error
        print("BATCH CHECK OK")
    """
)


def test_mirrored_two_devices_match_one_device(scenes_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path / "run"), scenes_dir],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "MIRRORED OK" in result.stdout and "BATCH CHECK OK" in result.stdout


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _two_workers(scenes_dir, run_dir, *flags):
    """Trains on two workers on loopback; returns [(returncode, stdout, stderr)] per worker."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            ),
        }
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "keras_deblur.train",
                    *TINY_FLAGS,
                    "--strategy=multi_worker",
                    f"--data_dir={scenes_dir}",
                    f"--run_dir={run_dir}",
                    "--checkpoint_every_steps=2",
                    *flags,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [p.communicate(timeout=600) for p in processes]
    finally:
        for p in processes:
            p.kill()
    return [(p.returncode, out, err) for p, (out, err) in zip(processes, outputs)]


@pytest.mark.slow
def test_two_workers_on_loopback_complete_and_resume_only_at_one_step(scenes_dir, tmp_path):
    import tensorflow as tf

    run = tmp_path / "run"
    outputs = _two_workers(scenes_dir, run, "--train_steps=4", "--num_validation_images=1")
    for code, out, err in outputs:
        assert code == 0, out[-2000:] + err[-4000:]
    outputs = [(out, err) for _, out, err in outputs]
    assert "trained to step 4" in outputs[0][0]
    assert "2 replica(s) in sync, worker 0 of 2" in outputs[0][0]
    assert (tmp_path / "run" / "generator.keras").exists()
    assert (tmp_path / "run" / "checkpoints" / "ckpt-4.index").exists()
    assert (tmp_path / "run" / "checkpoints" / "worker1" / "ckpt-4.index").exists()

    # Worker 1 killed before its step-4 save: it resumed at 2, worker 0 at 4, and they trained
    # different weights with the same gradients (then one hung when the other finished).
    worker1 = run / "checkpoints" / "worker1"
    for name in os.listdir(worker1):
        if name.startswith("ckpt-4."):
            os.remove(worker1 / name)
    tf.compat.v1.train.update_checkpoint_state(str(worker1), str(worker1 / "ckpt-2"))
    for code, out, err in _two_workers(
        scenes_dir, run, "--train_steps=6", "--num_validation_images=1"
    ):
        assert code == 1, out[-2000:] + err[-4000:]
        assert (
            "error: the workers resumed at different steps (worker 0 at step 4, worker 1 at step 2)"
            in err
        ), err[-2000:]
