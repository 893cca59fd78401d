"""The CONTRACT.md directory tree, seen from two sides.

The runtime always works on the host side (``<job folder>/home``, ``<job folder>/cache``);
the job sees the same folders as ``/home/ma-user`` and ``/cache`` when it runs in the
sandbox, or at their host paths when it does not. Keeping both views in one object is what
lets every other module stay ignorant of whether a sandbox is in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.state import JobFolder

MA_HOME = Path("/home/ma-user")
CACHE = Path("/cache")


@dataclass(frozen=True)
class Tree:
    """``/home/ma-user`` and ``/cache`` rooted somewhere."""

    home: Path
    cache: Path

    @property
    def mount_path(self) -> Path:
        return self.home / "modelarts"

    @property
    def job_dir(self) -> Path:
        return self.mount_path / "user-job-dir"

    @property
    def log_dir(self) -> Path:
        return self.mount_path / "log"

    def input_dir(self, name: str) -> Path:
        return self.mount_path / "inputs" / f"{name}_0"

    def output_dir(self, name: str) -> Path:
        return self.mount_path / "outputs" / f"{name}_0"

    def code_dir(self, code_name: str) -> Path:
        """Seed S2.2: ``obs://b/x/demo-code`` lands in ``${MA_JOB_DIR}/demo-code``."""
        return self.job_dir / code_name


@dataclass(frozen=True)
class Layout:
    host: Tree
    job: Tree
    sandboxed: bool

    def to_job(self, host_path: Path) -> Path:
        """Where the job sees a host path inside its tree."""
        for h, j in ((self.host.home, self.job.home), (self.host.cache, self.job.cache)):
            if host_path == h or h in host_path.parents:
                return j / host_path.relative_to(h)
        return host_path

    def to_host(self, job_path: Path) -> Path:
        """The host path behind a path the job sees (inverse of ``to_job``)."""
        for h, j in ((self.host.home, self.job.home), (self.host.cache, self.job.cache)):
            if job_path == j or j in job_path.parents:
                return h / job_path.relative_to(j)
        return job_path

    def translate(self, path: str) -> str:
        """A path as a user wrote it (``/home/ma-user/...``, ``/cache/...``) in the job's
        view: unchanged in the sandbox, moved into the job folder without it."""
        p = Path(path)
        for canonical, j in ((MA_HOME, self.job.home), (CACHE, self.job.cache)):
            if p == canonical or canonical in p.parents:
                return str(j / p.relative_to(canonical))
        return path

    def create(self) -> None:
        for d in (self.host.home, self.host.cache, self.host.job_dir, self.host.log_dir,
                  self.host.mount_path / "inputs", self.host.mount_path / "outputs"):
            d.mkdir(parents=True, exist_ok=True)


def make_layout(folder: JobFolder, sandboxed: bool) -> Layout:
    host = Tree(folder.home.resolve(), folder.cache.resolve())
    job = Tree(MA_HOME, CACHE) if sandboxed else host
    return Layout(host=host, job=job, sandboxed=sandboxed)
