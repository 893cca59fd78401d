"""The docs/contract.md directory tree, seen from two sides.

The runtime always works on the host side (``<job folder>/home``, ``<job folder>/cache``,
``<job folder>/opt-ml``); the job sees the same folders as ``/home/ma-user``, ``/cache`` and
``/opt/ml`` when it runs in the sandbox, or at their host paths when it does not. Keeping
both views in one object is what lets every other module stay ignorant of whether a sandbox
is in use, and of which contract (ModelArts, SageMaker) puts the channels where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime import sagemaker
from modelyard.runtime.state import JobFolder
from modelyard.spec.contract import Contract

MA_HOME = Path("/home/ma-user")
CACHE = Path("/cache")


@dataclass(frozen=True)
class Tree:
    """``/home/ma-user`` and ``/cache`` (and ``/opt/ml`` under the SageMaker contract)
    rooted somewhere."""

    home: Path
    cache: Path
    opt_ml: Path | None = None
    """Set only under contract 'sagemaker': channels and code then live below it."""

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
        if self.opt_ml is not None:
            return sagemaker.input_dir(self.opt_ml, name)
        return self.mount_path / "inputs" / f"{name}_0"

    def output_dir(self, name: str) -> Path:
        if self.opt_ml is not None:
            return sagemaker.output_dir(self.opt_ml, name)
        return self.mount_path / "outputs" / f"{name}_0"

    def root_of(self, path: Path) -> Path:
        """The tree's folder above ``path`` (home, cache or ``/opt/ml``): the folder a job
        cannot change, below which host-side code follows no link (``beneath``)."""
        for root in (self.home, self.cache, self.opt_ml):
            if root is not None and (path == root or root in path.parents):
                return root
        raise ValueError(f"{path} is not in the job's tree")

    def code_dir(self, code_name: str) -> Path:
        """Seed S2.2: ``obs://b/x/demo-code`` lands in ``${MA_JOB_DIR}/demo-code``; under
        the SageMaker contract in ``/opt/ml/code``."""
        if self.opt_ml is not None:
            return sagemaker.code_dir(self.opt_ml)
        return self.job_dir / code_name


@dataclass(frozen=True)
class Layout:
    host: Tree
    job: Tree
    sandboxed: bool

    def _pairs(self) -> list[tuple[Path, Path]]:
        pairs = [(self.host.home, self.job.home), (self.host.cache, self.job.cache)]
        if self.host.opt_ml is not None and self.job.opt_ml is not None:
            pairs.append((self.host.opt_ml, self.job.opt_ml))
        return pairs

    def to_job(self, host_path: Path) -> Path:
        """Where the job sees a host path inside its tree."""
        for h, j in self._pairs():
            if host_path == h or h in host_path.parents:
                return j / host_path.relative_to(h)
        return host_path

    def to_host(self, job_path: Path) -> Path:
        """The host path behind a path the job sees (inverse of ``to_job``)."""
        for h, j in self._pairs():
            if job_path == j or j in job_path.parents:
                return h / job_path.relative_to(j)
        return job_path

    def translate(self, path: str) -> str:
        """A path as a user wrote it (``/home/ma-user/...``, ``/cache/...``, ``/opt/ml/...``)
        in the job's view: unchanged in the sandbox, moved into the job folder without it."""
        p = Path(path)
        canonical = [(MA_HOME, self.job.home), (CACHE, self.job.cache)]
        if self.job.opt_ml is not None:
            canonical.append((sagemaker.OPT_ML, self.job.opt_ml))
        for c, j in canonical:
            if p == c or c in p.parents:
                return str(j / p.relative_to(c))
        return path

    def create(self) -> None:
        for d in (self.host.home, self.host.cache, self.host.job_dir, self.host.log_dir,
                  self.host.mount_path / "inputs", self.host.mount_path / "outputs"):
            d.mkdir(parents=True, exist_ok=True)
        if self.host.opt_ml is not None:
            sagemaker.create_tree(self.host.opt_ml)


def make_layout(folder: JobFolder, sandboxed: bool,
                contract: Contract = Contract.MODELARTS) -> Layout:
    opt_ml = folder.opt_ml.resolve() if contract is Contract.SAGEMAKER else None
    host = Tree(folder.home.resolve(), folder.cache.resolve(), opt_ml)
    job = Tree(MA_HOME, CACHE, sagemaker.OPT_ML if opt_ml else None) if sandboxed else host
    return Layout(host=host, job=job, sandboxed=sandboxed)
