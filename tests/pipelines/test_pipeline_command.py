"""`python -m pipelines.run` as a user runs it: no network, and a short, readable log."""

import os
import subprocess
import sys
import textwrap

from tests.training.conftest import TINY_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Loaded by every Python process of the command (sitecustomize): refuses and records any
# connection or name lookup that is not loopback. Beam 2.77's default runner, for one, tries to
# download its Prism binary from the internet when a pipeline starts.
NETWORK_GUARD = textwrap.dedent("""
    import os
    import socket

    LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}
    _connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def _refuse(what):
        with open(os.environ["NETWORK_ATTEMPTS"], "a") as file:
            file.write(f"{what}\\n")
        raise ConnectionRefusedError(f"network guard: {what}")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            _refuse(f"connect {address}")
        return _connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            _refuse(f"lookup {host}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo
""")


def test_the_pipeline_touches_no_network_and_prints_a_short_log(scenes_dir, tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    attempts = tmp_path / "attempts.txt"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(guard), ROOT]),
        "NETWORK_ATTEMPTS": str(attempts),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.run",
            *TINY_FLAGS,
            "--train_steps=3",
            f"--data_dir={scenes_dir}",
            f"--pipeline_root={tmp_path / 'root'}",
            f"--serving_dir={tmp_path / 'savedmodels' / 'deblur'}",
            "--num_shards=2",
            "--gate_min_gain=-100",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not attempts.exists(), attempts.read_text()
    log = (result.stdout + result.stderr).splitlines()
    # One line per stage start and end, the precision, progress and validation lines, the table.
    assert len(log) <= 40, "\n".join(log)
    noise = [
        line
        for line in log
        if any(
            word in line
            for word in (
                "cuda",
                "cuInit",
                "absl::InitializeLog",
                "I0000",
                "E0000",
                "apitools",
                "Renamed",
                "statecache",
            )
        )
    ]
    assert not noise, "\n".join(noise)
    assert "gate: blessed" in result.stdout and "pushed " in result.stdout
