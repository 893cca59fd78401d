"""Staging: the engine, the code directory, the inputs and prefetched outputs, before
the job's code starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from modelyard.runtime import images, sandbox
from modelyard.runtime.code import stage_code
from modelyard.runtime.dataset_input import stage_dataset
from modelyard.runtime.engine_env import ensure_env
from modelyard.runtime.layout import Layout
from modelyard.runtime.report import (
    StagingError,
    Stopped,
    human_size,
    plural,
)
from modelyard.runtime.run_core import (
    RunnerCore,
    is_transient,
    one_line,
    remove_tree,
)
from modelyard.spec.contract import Contract
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import parse_location
from modelyard.spec.plan import ChannelPlan, RunPlan
from modelyard.storage import TransferReport

T = TypeVar("T")


class Staging(RunnerCore):
    """Everything the job finds in place when it starts: its engine, its code, its inputs,
    its prefetched outputs."""

    def _prepare_engine(self, plan: RunPlan) -> None:
        """The job's engine (issue 15): its image pulled and held, or its environment built
        on first use, or the host interpreter; the job's events say which."""
        r = self.reporter
        url = plan.image_url
        if url is not None:
            if self.bwrap is None:
                raise StagingError(f"Image {url}: running a job in an image needs the sandbox "
                                   "(bubblewrap), which is not in use")
            if plan.contract is Contract.SAGEMAKER:
                raise StagingError(f"Image {url}: the SageMaker contract (/opt/ml) in an image "
                                   "is not supported yet; use the ModelArts contract")
            self._private_mounts = (self.settings.image_home_overlay
                                    and images.enter_private_mounts(r))
            self.image = images.pull(self.settings, url, plan.image_digest, plan.project_id,
                                     r, self._check, self._holds)
            self.python = "python"  # the image's, found on its PATH (seed S2.4)
            generated = images.generated_files(self.folder.root / "sandbox", self._hostname())
            if self._cluster is not None:  # the workers' names are there already
                generated.pop("/etc/hosts")
            self._files.update(generated)
            r.info(f"Engine: image {url} at {self.image.record.digest}")
            return
        ep = plan.engine_plan
        if ep is None or ep.kind != "env":
            return
        t0 = time.monotonic()
        env = ensure_env(ep, self.settings.engine_envs_root, self._run_logged, self._check)
        self.python = env.python
        if env.built:
            r.info(f"Engine {ep.engine_id}: built its environment ({len(ep.packages)} pinned "
                   f"packages) in {time.monotonic() - t0:.1f} s; later jobs reuse it")
        else:
            r.info(f"Engine {ep.engine_id}: environment {env.path.name}, already built")

    def _clear_previous_attempt(self, plan: RunPlan) -> None:
        """A retry starts from empty staging folders, as a new container would: nothing a
        previous attempt left in ``home``, ``cache`` or ``opt-ml`` (a symlink where an
        output folder was, a doctored pip.conf, a planted module) survives; checkpoints
        come back through the outputs' prefetch. The removal never follows a symlink."""
        stale = [d for d in (self.folder.home, self.folder.cache, self.folder.opt_ml)
                 if os.path.lexists(d)]
        if not stale:
            return
        for folder in stale:
            try:
                remove_tree(folder)
            except OSError as exc:
                raise StagingError(f"cannot clear the previous attempt's folder {folder}: "
                                   f"{one_line(exc)}") from None
        if plan.attempt:
            self.reporter.line(f"Attempt {plan.attempt}: the job's folders start empty "
                               "again (outputs come back only through prefetch_to_local)")

    def _check_mounts(self, plan: RunPlan) -> None:
        if plan.mounts and self.bwrap is None:
            raise StagingError("file-system mounts need the sandbox (bubblewrap), which is "
                               "not in use")
        for m in plan.mounts:
            if not Path(m.source).is_dir():
                raise StagingError(f"Mount {m.target}: the storage location {m.source} does "
                                   "not exist (seed S5.3)")
            target = Path(m.target)
            if sandbox.is_visible(target) and not target.is_dir():
                raise StagingError(f"Mount {m.target}: cannot be created inside the read-only "
                                   "host system folders; choose a path such as /mnt/data")
        self._check_mount_sources(plan)

    @staticmethod
    def _check_mount_sources(plan: RunPlan) -> None:
        """Each source was resolved when the job was created; since then another job with
        the same file system mounted writable may have swapped a folder on the way for a
        symlink (to /root, say), which bubblewrap would follow. Checked before staging and
        again right before the sandbox starts."""
        for m in plan.mounts:
            if os.path.realpath(m.source) != os.path.normpath(m.source):
                raise StagingError(f"Mount {m.target}: the storage location {m.source} is "
                                   "now a symbolic link or lies below one; refused (a job "
                                   "may have replaced it)")

    def _transfer(self, what: str, fn: Callable[[], T]) -> T:
        """Runs a transfer; storage failures become one clear line naming ``what``."""
        try:
            return fn()
        except (Stopped, StagingError, SpecError):
            raise
        except Exception as exc:
            if self._stop is not None:  # our own Stopped, wrapped by a transfer worker
                raise Stopped(self._stop.reason) from exc
            raise StagingError(f"{what} failed: {one_line(exc)}", is_transient(exc)) from exc

    def _stage_code(self, plan: RunPlan, layout: Layout) -> str | None:
        if not plan.code_dir:
            return None
        url = plan.code_dir
        staged = self._transfer(
            f"Staging the code directory {url}",
            lambda: stage_code(url, plan.boot_file, layout, self.engine, self.reporter,
                               self._progress, self._check))
        return staged.name

    def _download(self, what: str, url: str, dest: Path) -> TransferReport:
        dest.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        assert self._layout is not None
        beneath = self._layout.host.root_of(dest)
        report = self._transfer(f"Downloading {what} from {url}",
                                lambda: self.engine.download(url, dest, self._progress,
                                                             beneath=beneath))
        if report.files or report.skipped:
            self.reporter.info(
                f"Downloaded {what}: {plural(report.files, 'file')} "
                f"({human_size(report.bytes)}) in {time.monotonic() - t0:.1f} s"
                + (f", {report.skipped} already there" if report.skipped else ""))
        return report

    def _stage_inputs(self, plan: RunPlan, layout: Layout) -> None:
        for ch in plan.inputs:
            self._check()
            self.reporter.info(f"Downloading input {ch.name} from {ch.url}")
            got = self._download(f"input {ch.name}", ch.url, layout.host.input_dir(ch.name))
            if not got.files + got.skipped:
                raise StagingError(f"Input {ch.name}: there is nothing at {ch.url}")
            if ch.dataset is not None:
                self._stage_dataset(ch, layout)
                continue
            single = self._single_object(ch.url)
            if single is not None:
                self._input_files[ch.name] = single

    def _single_object(self, url: str) -> str | None:
        """The object's name if ``url`` is one object (not a prefix): the code then gets
        the file's path (docs/contract.md "Inputs bound to one object")."""
        loc = parse_location(url)
        if loc.is_dir:
            return None
        info = self._transfer(f"Reading {url}",
                              lambda: self.engine.store(loc).stat(loc.bucket, loc.key))
        return loc.name if info is not None else None

    def _stage_dataset(self, ch: ChannelPlan, layout: Layout) -> None:
        """Issue 18: the version's manifest, with local sources, next to its samples."""
        assert ch.dataset is not None
        host = layout.host.input_dir(ch.name)
        count = self._transfer(
            f"Staging dataset version {ch.dataset.version_id} for input {ch.name}",
            lambda: stage_dataset(self.engine, ch, host, layout.to_job(host)))
        self.reporter.info(f"Input {ch.name}: dataset manifest {ch.dataset.manifest_name} "
                           f"with {plural(count, 'sample')}")

    def _prefetch_outputs(self, plan: RunPlan, layout: Layout) -> None:
        """Seed S7.3: what is already at the output location is there before the code
        starts, so it finds its last checkpoint."""
        for ch in plan.outputs:
            if not ch.prefetch_to_local:
                continue
            self._check()
            self.reporter.info(f"Pre-downloading output {ch.name} from {ch.url} "
                               "(prefetch_to_local)")
            got = self._download(f"output {ch.name}", ch.url, layout.host.output_dir(ch.name))
            if not got.files + got.skipped:
                self.reporter.info(f"Output {ch.name}: nothing at {ch.url} yet")
