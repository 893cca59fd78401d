"""The Ray tests, run inside a network namespace of their own.

Ray binds the machine's external address and listens on every interface, so its tests run
in ``unshare -n``: loopback plus a veth pair whose two ends are the two "machines"
(10.77.0.1 the head, 10.77.0.2 the second node), with a default route so that pasta (the
job network) finds a routable interface. This outer test starts the inner suite
(``inner/``) there, shows its output and asserts it passed; the inner tests skip unless
the flag that this test sets is present.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from executors.ray.inner.clusterkit import FLAG, NETWORK, processes_under

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(1500)  # the whole inner suite (~2 min here; more on a loaded machine)
def test_the_ray_suite_passes_on_a_two_node_cluster() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (the 'ray' extra)")
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip for the cluster's network namespace")
    # Short: Ray's unix sockets live under its temp dir (a socket path has 107 bytes).
    scratch = Path(tempfile.mkdtemp(prefix="myray-", dir="/tmp"))
    inner = [sys.executable, "-m", "pytest", "tests/executors/ray/inner", "-q", "-x",
             "-p", "no:cacheprovider", "-o", "timeout=300", "-rxs",
             f"--basetemp={scratch / 't'}"]
    script = f"{NETWORK} && exec {' '.join(inner)}"
    env = {**os.environ, FLAG: str(scratch)}
    try:
        proc = subprocess.run(["unshare", "-n", "--", "sh", "-c", script], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=1200)
    finally:
        for pid in processes_under(scratch):  # whatever a failed run left behind
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)
    print(proc.stdout[-30000:])
    print(proc.stderr[-5000:], file=sys.stderr)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
