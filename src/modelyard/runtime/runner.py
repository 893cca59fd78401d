"""One job from plan to final state: stage, install, run, watch, upload, report.

The runner is written so that every way a job can end (exit code, staging error, stop
request, auto_stop, a bug in the runtime) goes through the same last two steps: the final
output upload, then the final state. The control plane therefore never sees a final phase
before the outputs are in place, and never sees a job stuck in Running because the runtime
raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from modelyard.runtime import images, jobnet, procs, sagemaker, sandbox
from modelyard.runtime.argv import Extras, TaskInfo, build_env, build_launch
from modelyard.runtime.code import stage_code
from modelyard.runtime.dataset_input import stage_dataset
from modelyard.runtime.deps import (
    LAYER_MOUNT,
    PIP_CONFIG_MOUNT,
    Layer,
    Scope,
    dry_run_command,
    engine_identity,
    ensure_layer,
    find_requirements,
    has_requirements,
    index_options,
    missing_from_report,
    pip_command,
    pip_config,
    plan_layer,
)
from modelyard.runtime.engine_env import ensure_env, installed_packages
from modelyard.runtime.identity import HostIdentity, hand_over, job_identity, passwd_files
from modelyard.runtime.jobside import PYLIB, PYLIB_MOUNT
from modelyard.runtime.layout import MA_HOME, Layout, make_layout
from modelyard.runtime.limits import CGROUPS_FILE, JobLimits, disk_usage
from modelyard.runtime.outputs import OutputChannel, OutputUploader
from modelyard.runtime.process import Confinement, JobProcess
from modelyard.runtime.report import (
    Reason,
    Reporter,
    StagingError,
    Stopped,
    human_size,
    plural,
)
from modelyard.runtime.sandbox import Bind, SandboxSpec
from modelyard.runtime.state import SANDBOX_DIR, JobFolder, RuntimeState, StopRequest
from modelyard.settings import Settings
from modelyard.spec.channels import AccessMethod
from modelyard.spec.contract import Contract
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import parse_location
from modelyard.spec.plan import ChannelPlan, RunPlan
from modelyard.spec.status import EventLevel, EventSource, Phase
from modelyard.storage import TransferEngine, TransferReport, TransientError

T = TypeVar("T")
_TICK = 0.1
_FIRST_LISTING = 0.25
"""Seconds after a process starts until its processes are first listed (then every 1 s)."""
_DISK_CHECK = 5.0
"""Seconds between two measures of the disk the job's folders use."""


class Runner:
    def __init__(self, job_dir: Path, settings: Settings) -> None:
        self.folder = JobFolder(job_dir)
        self.settings = settings
        pid = os.getpid()
        self.state = RuntimeState(runtime_pid=pid, runtime_start_time=procs.start_time(pid))
        self.engine = TransferEngine(settings)
        self._stop: StopRequest | None = None
        self._kill_now = False
        self._hang_message = ""
        self._plan: RunPlan | None = None
        self._reporter: Reporter | None = None
        self.uploader: OutputUploader | None = None
        self.bwrap: str | None = None
        self.proc: JobProcess | None = None
        self._early: tuple[JobProcess, tuple[object, ...]] | None = None
        """A sandbox started ahead of staging, held, with what it was started with."""
        self.identity: HostIdentity | None = None
        self.net: jobnet.JobNetwork | None = None
        self.limits: JobLimits | None = None
        self._files: dict[str, Path] = {}
        self._limit_message = ""
        self._layout: Layout | None = None
        self._input_files: dict[str, str] = {}
        """Inputs bound to one object: channel -> file name (see ``Extras``)."""
        self.python = settings.python
        """The interpreter of the job's engine as the job sees it (``python`` in an image)."""
        self.image: images.JobImage | None = None
        self._private_mounts = False
        self._holds = contextlib.ExitStack()
        """What the job holds until it ends (its image, against ``image prune``)."""

    # ------------------------------------------------------------------ stop
    def request_stop(self, request: StopRequest | None = None) -> None:
        """Called from the SIGTERM handler: only records the wish (the main loop acts on
        it). A second request skips what is left of the grace period."""
        if self._stop is None:
            self._stop = request or self.folder.read_stop_request() or StopRequest()
        else:
            self._kill_now = True

    def _save(self) -> None:
        """A state on the way: atomic, without fsync (see ``JobFolder.write_state``). Before
        the job's process starts every millisecond counts, and an fsync forces a journal
        commit that also stalls the directory creations of staging; later ones (Terminating,
        memory peaks) are superseded by the final state, which is durable."""
        self.folder.write_state(self.state, durable=False)

    def _check(self) -> None:
        if self._stop is not None:
            raise Stopped(self._stop.reason)

    def _progress(self, _n: int) -> None:
        self._check()

    @property
    def reporter(self) -> Reporter:
        assert self._reporter is not None
        return self._reporter

    # ------------------------------------------------------------------- run
    def run(self) -> RuntimeState:
        try:
            plan = self.folder.read_plan()
        except Exception as exc:
            return self._finish(Phase.FAILED, Reason.STAGING, None,
                                f"cannot read the run plan: {_line(exc)}")
        # Recorded with the sandbox decision, a moment later (one state write fewer before
        # the job's first line; the executor's fresh state already names the attempt and
        # runtime.pid the runtime).
        self.state.attempt = plan.attempt
        self._reporter = Reporter(self.folder, self.folder.log_file(plan.job_id))
        self._plan = plan
        self._pin(plan)
        code: int | None = None
        try:
            code = self._run(plan)
            phase, reason, message = self._outcome(code)
        except Stopped as exc:
            phase, reason, message = self._stopped_outcome()
            self.reporter.warning(f"Stopped before the job's code ran ({exc})")
        except StagingError as exc:
            phase, message = Phase.FAILED, str(exc)
            reason = Reason.STAGING_TRANSIENT if exc.transient else Reason.STAGING
            self.reporter.error(message)
        except SpecError as exc:
            phase, reason, message = Phase.FAILED, Reason.STAGING, str(exc)
            self.reporter.error(message)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)  # runtime.out, for us; not the user's log
            phase, reason = Phase.FAILED, Reason.STAGING
            message = f"internal error in the runtime: {_line(exc)}"
            self.reporter.error(message)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self._drop_early()
        self._release_confinement()
        if phase == Phase.FAILED:
            message = self._record_failure(plan, message)
        phase, message = self._final_upload(phase, message)
        self._holds.close()
        return self._finish(phase, reason, code, message)

    def _release_confinement(self) -> None:
        if self.net is not None:
            self.net.close()
        if self.limits is not None:
            self.limits.remove_cgroups()

    def _outcome(self, code: int) -> tuple[Phase, str, str]:
        if self._stop is not None:
            return self._stopped_outcome()
        if code == 0:
            return Phase.COMPLETED, Reason.COMPLETED, ""
        assert self.proc is not None
        if self.limits is not None and self.limits.oom_killed():
            return Phase.FAILED, Reason.LIMIT, self._limit_exceeded(
                f"memory limit: the job used more than its flavor's {self._plan_memory()}; "
                f"the kernel killed it (exit code {code})")
        if self.proc.signaled:
            return (Phase.FAILED, Reason.SIGNAL,
                    f"Process was killed by signal {_signal_name(code - 128)} (exit code {code})")
        return Phase.FAILED, Reason.EXIT_CODE, f"Process exited with code {code}"

    def _stopped_outcome(self) -> tuple[Phase, str, str]:
        assert self._stop is not None
        why = self._stop.reason
        if why == Reason.HANG:
            return Phase.FAILED, Reason.HANG, self._hang_message
        if why == Reason.AUTO_STOP:
            return Phase.TERMINATED, Reason.AUTO_STOP, "auto_stop"
        if why == Reason.LIMIT:
            return Phase.FAILED, Reason.LIMIT, self._limit_message
        return Phase.TERMINATED, Reason.STOPPED, why

    def _run(self, plan: RunPlan) -> int:
        r = self.reporter
        r.info(f"Runtime started for job {plan.job_id} on {socket.gethostname()}")
        if plan.node_count > 1:
            raise StagingError(f"multi-node jobs (node_count={plan.node_count}) need a cluster "
                               "executor; the local executor runs one node")
        if not os.access(self.settings.python, os.X_OK):
            raise StagingError(f"The engine's Python {self.settings.python} does not exist or "
                               "is not executable (setting MODELYARD_PYTHON)")
        self.bwrap, warning = sandbox.choose(self.settings.sandbox, self.settings.home / "run")
        if self.bwrap is None and os.geteuid() == 0 and self.settings.sandbox != "none":
            raise StagingError(f"Refusing to run a job as root without the sandbox ({warning}); "
                               "install bubblewrap, or set sandbox=none to accept the risk")
        self.identity = job_identity(self.settings.job_user) if self.bwrap else None
        layout = make_layout(self.folder, self.bwrap is not None, plan.contract)
        self._clear_previous_attempt(plan)
        layout.create()
        self._layout = layout
        if self.bwrap:  # the mount point of the job's libraries (moxing)
            layout.to_host(PYLIB_MOUNT).mkdir(parents=True, exist_ok=True)
        if layout.host.opt_ml is not None:
            sagemaker.write_config(plan, layout.host.opt_ml)
        self.state.sandbox = "bwrap" if self.bwrap else "none"
        self._save()
        if warning:
            r.warning(f"Running without a sandbox: {warning}. /home/ma-user is "
                      f"{layout.host.home} and every MA_* variable points there; scripts that "
                      "hard-code /home/ma-user need the sandbox")
        self._confine(plan)
        self._prepare_engine(plan)
        self._check_mounts(plan)
        channels = [OutputChannel(ch.name, ch.url, layout.host.output_dir(ch.name),
                                  layout.host.root_of(layout.host.output_dir(ch.name)))
                    for ch in plan.outputs]
        for ch in channels:
            ch.local.mkdir(parents=True, exist_ok=True)
        self.uploader = OutputUploader(channels, self.settings, r, plan.upload_period,
                                       self._open_files)
        self._start_early(plan, layout)
        code_name = self._stage_code(plan, layout)
        self._stage_inputs(plan, layout)
        self._prefetch_outputs(plan, layout)
        self.uploader.mark_present()
        if self.image is not None:
            images.lay_out_home(self.image, layout.host.home, self.folder.root / "sandbox",
                                self.reporter, self._private_mounts, self.identity)
        layer = self._install_requirements(plan, layout, code_name)
        return self._run_user(plan, layout, code_name, layer)

    # ----------------------------------------------------------------- engine
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
            self._files.update(images.generated_files(self.folder.root / "sandbox",
                                                      _hostname(plan)))
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

    def _run_logged(self, argv: list[str]) -> int:
        """A host command of the platform's (building an engine), its output in the job's
        log; a stop request ends it."""
        self.reporter.line("Command: " + shlex.join(argv))
        proc = subprocess.Popen(argv, stdout=self.reporter.log_fd, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        while (code := proc.poll()) is None:
            if self._stop is not None:
                proc.kill()
                proc.wait()
                self._check()
            time.sleep(_TICK)
        return code

    # ------------------------------------------------------------ confinement
    def _confine(self, plan: RunPlan) -> None:
        """The job's limits, and in the sandbox its network and user files (issue 13)."""
        memory = int(plan.memory_gb * 2**30) if plan.memory_gb else None
        shm_mb = self.settings.job_shm_mb
        self.limits = JobLimits(
            max_processes=self.settings.job_max_processes, memory_bytes=memory,
            disk_bytes=int(self.settings.job_disk_gb * 2**30),
            tmp_bytes=self.settings.job_tmp_mb * 2**20,
            shm_bytes=shm_mb * 2**20 if shm_mb else (memory // 2 if memory else 2**30))
        private = self.folder.root / SANDBOX_DIR
        self.limits.create_cgroups(f"modelyard-{plan.job_id or 'job'}-{plan.attempt}-"
                                   f"{os.getpid()}", private / CGROUPS_FILE)
        if self.bwrap is None:
            return
        self._files = passwd_files(private)
        if self.identity is None:
            if self.settings.job_network == "outbound":
                self.reporter.warning("Outbound network needs a service running as root "
                                      "(pasta); this job has its own loopback only")
            return
        outbound = self.settings.job_network == "outbound"
        if outbound and not jobnet.pasta_available():
            self.reporter.warning("pasta (package passt) is not installed: this job has no "
                                  "outbound network, only its own loopback")
            outbound = False
        self.net = jobnet.new_network(outbound, private / jobnet.PASTA_PID)

    def _confinement(self) -> Confinement:
        return Confinement(net_fd=self.net.fd if self.net else None, limits=self.limits)

    def _hand_over(self, layout: Layout) -> None:
        """The job's folders (and the file systems it mounts writable) to the job user, and
        its network up, right before the job's code (or pip) runs."""
        mounts = self._plan.mounts if self._plan else []
        writable = [Path(m.source) for m in mounts if not m.read_only]
        opt_ml = [layout.host.opt_ml] if layout.host.opt_ml is not None else []
        hand_over(self.identity, layout.host.home, layout.host.cache, *opt_ml, *writable)
        if self.net is not None:
            self.net.ready()

    def _limit_exceeded(self, message: str) -> str:
        self._limit_message = message
        self.reporter.error(message)
        return message

    def _plan_memory(self) -> str:
        return f"{self._plan.memory_gb:g} GB" if self._plan and self._plan.memory_gb else "memory"

    # --------------------------------------------------------------- staging
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
                                   f"{_line(exc)}") from None
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
            raise StagingError(f"{what} failed: {_line(exc)}", _transient(exc)) from exc

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

    # ---------------------------------------------------------- requirements
    def _install_requirements(self, plan: RunPlan, layout: Layout,
                              code_name: str | None) -> Layer | None:
        if code_name is None:
            return None
        req = find_requirements(layout.host.code_dir(code_name))
        if req is None or not has_requirements(req):
            return None
        r = self.reporter
        env, config, installation = self._pip_env(plan, layout)
        job_vars = dict(plan.environments)
        job_vars.update({ch.name: str(layout.job.input_dir(ch.name)) for ch in plan.inputs
                         if ch.access_method == AccessMethod.ENV})
        job_vars.update({ch.name: str(layout.job.output_dir(ch.name)) for ch in plan.outputs
                         if ch.access_method == AccessMethod.ENV})
        where = plan_layer(req, code_dir=layout.host.code_dir(code_name), pip_env=env,
                           installation=installation, pip_conf=config,
                           engine=self._engine_identity(plan), job_vars=job_vars,
                           project=plan.project_id, job_id=plan.job_id)
        short = where.key[:12]
        if where.scope == Scope.PROJECT:
            r.line(f"The environment layer is private to project {plan.project_id}: {where.why}")
        elif where.scope == Scope.JOB:
            r.line(f"The environment layer is private to this job and not cached: {where.why}")

        def install(target: Path, key: str) -> int:
            r.info(f"Installing {req.name} into a new environment layer ({short}), on top of "
                   "the engine's packages")
            return self._run_pip(plan, layout, code_name, req, target, key, env, config)

        t0 = time.monotonic()
        root = self.folder.envs if where.scope == Scope.JOB else self.settings.envs_root
        layer = ensure_layer(where.key, root, install, self._check, req.name)
        if layer.cached:
            r.info(f"{req.name}: using the cached environment layer {short}, nothing to "
                   "install")
        else:
            r.info(f"Installed {req.name} in {time.monotonic() - t0:.1f} s (layer {short})")
        return layer

    def _engine_identity(self, plan: RunPlan) -> str:
        """What decides the engine's packages: the image's digest, or the interpreter (its
        path and executable) with the engine's pinned packages."""
        if self.image is not None:
            return f"image {self.image.record.digest}"
        ep = plan.engine_plan
        return f"{engine_identity(self.python)} {sorted(ep.packages) if ep else ''}"

    def _pip_env(self, plan: RunPlan, layout: Layout
                 ) -> tuple[dict[str, str], Path | None, dict[str, str]]:
        """(pip's environment, the installation's pip.conf, the installation's own
        ``PIP_*`` settings): the job's environment with the installation's pip settings
        on top (they win over the job's)."""
        installation, config = pip_config(os.environ)
        extra = dict(installation)
        if config is not None:
            extra["PIP_CONFIG_FILE"] = str(PIP_CONFIG_MOUNT if self.bwrap else config)
        env = build_env(plan, layout, python=self.python, layer=None, task=self._task(),
                        base_env=os.environ,
                        image_env=self.image.record.env if self.image else None) | extra
        return env, config, installation

    def _run_pip(self, plan: RunPlan, layout: Layout, code_name: str, req: Path,
                 target: Path, key: str, env: dict[str, str], config: Path | None) -> int:
        """pip in two steps (CONTRACT.md "Dependencies"): resolve the file against the
        engine, installing nothing; then install into the layer only what the engine
        lacks, without dependencies (the resolution already has them)."""
        python = self.python
        binds: list[Bind] = []
        if self.bwrap:
            target_seen = LAYER_MOUNT / key
            binds = [*self._python_binds(), Bind(target, target_seen, read_only=False)]
            if config is not None:
                binds.append(Bind(config, PIP_CONFIG_MOUNT))
        else:
            target_seen = target
        binds += self.image.home_binds if self.image else []
        report, resolved = target / ".modelyard-report.json", target / ".modelyard-missing.txt"
        hand_over(self.identity, target)
        self._hand_over(layout)
        cwd = str(layout.job.code_dir(code_name))
        code = self._pip_step(layout, dry_run_command(
            python, layout.to_job(req), target_seen / report.name), env, cwd, binds)
        if code != 0:
            return code
        try:
            lines, conflicts = missing_from_report(
                json.loads(report.read_text()),
                installed_packages(python) if self.image is None else {})
        except (OSError, ValueError) as exc:
            raise StagingError(f"pip's resolution of {req.name} cannot be read: {exc}") from None
        finally:
            report.unlink(missing_ok=True)
        for conflict in conflicts:
            self.reporter.warning(conflict.message(req.name))
        if not lines:
            self.reporter.info(f"{req.name}: the engine already has everything it asks for")
            return 0
        resolved.write_text("".join(f"{line}\n" for line in [*index_options(req), *lines]))
        try:
            return self._pip_step(layout, pip_command(python, target_seen,
                                                      target_seen / resolved.name,
                                                      no_deps=True), env, cwd, binds)
        finally:
            resolved.unlink(missing_ok=True)

    def _pip_step(self, layout: Layout, argv: list[str], env: dict[str, str], cwd: str,
                  binds: list[Bind]) -> int:
        self.reporter.line("Command: " + shlex.join(argv))
        proc = self._spawn(layout, argv, env, cwd, binds)
        code = self._supervise(proc, None)
        self._check()
        return code

    # -------------------------------------------------------------- the code
    def _run_user(self, plan: RunPlan, layout: Layout, code_name: str | None,
                  layer: Layer | None) -> int:
        r = self.reporter
        python = self.python
        binds = self._python_binds() if self.bwrap else []
        binds += self.image.home_binds if self.image else []
        layer_seen = None
        if layer is not None:
            layer_seen = LAYER_MOUNT / layer.key if self.bwrap else layer.path
            if self.bwrap:
                binds.append(Bind(layer.path, layer_seen))
        binds += [Bind(Path(m.source), Path(m.target), m.read_only) for m in plan.mounts]
        launch = build_launch(plan, layout, python=python, code_name=code_name,
                              layer=layer_seen, task=self._task(), base_env=os.environ,
                              extras=self._extras(self._input_files),
                              image_env=self.image.record.env if self.image else None)
        self._check_cwd(plan, layout, launch.cwd)
        self._check_mount_sources(plan)
        self._check()
        self._hand_over(layout)
        r.line("Command: " + shlex.join(launch.argv))
        assert self.uploader is not None
        proc = (self._take_early(launch.argv, launch.env, launch.cwd, binds)
                or self._spawn(layout, launch.argv, launch.env, launch.cwd, binds))
        self.proc = proc
        self.state.phase = Phase.RUNNING
        self.state.started_at = time.time()
        self.state.user_pgid = proc.pgid
        # Durable from here on: the job runs, and after a power loss its record (runtime pid,
        # process group) is what tells the control plane it was lost. The fsync comes after
        # the spawn, so the job does not wait for it.
        self.folder.write_state(self.state)
        r.info("Job started", EventSource.TASK)
        self.uploader.start()
        deadline = (time.monotonic() + plan.max_run_seconds) if plan.max_run_seconds else None
        code = self._supervise(proc, deadline, plan.max_run_seconds, plan.hang_seconds)
        self.uploader.stop()
        if self._stop is not None:
            r.warning(f"Process ended with code {code} after the stop request", EventSource.TASK)
        else:
            r.event(f"Process exited with code {code}",
                    EventLevel.INFO if code == 0 else EventLevel.ERROR, EventSource.TASK)
        return code

    def _check_cwd(self, plan: RunPlan, layout: Layout, cwd: str) -> None:
        path = Path(cwd)
        if any(path == Path(m.target) or Path(m.target) in path.parents for m in plan.mounts):
            return
        if self.image is not None and path != MA_HOME and MA_HOME not in path.parents:
            return  # a folder of the image's: bubblewrap says so if it is missing
        if not layout.to_host(path).is_dir():
            raise StagingError(f"The working directory {cwd} does not exist")

    def _python_binds(self) -> list[Bind]:
        if self.image is not None:  # the image's own interpreter
            return [Bind(PYLIB, PYLIB_MOUNT)]
        roots = [Bind(p, p) for p in sandbox.python_roots(self.python)]
        return [*roots, Bind(PYLIB, PYLIB_MOUNT)]

    def _extras(self, input_files: dict[str, str]) -> Extras:
        return Extras(input_files=dict(input_files),
                      pylib=PYLIB_MOUNT if self.bwrap else PYLIB)

    def _record_failure(self, plan: RunPlan, message: str) -> str:
        """SageMaker contract: ``/opt/ml/output/failure`` holds why the job failed; what
        the code wrote there itself joins the job's message."""
        layout = self._layout
        if plan.contract is not Contract.SAGEMAKER or layout is None or layout.host.opt_ml is None:
            return message
        try:
            own = sagemaker.record_failure(layout.host.opt_ml, message,
                                           _tail(self.reporter.log_file))
        except OSError as exc:
            self.reporter.warning(f"Could not write /opt/ml/output/failure: {exc}")
            return message
        return f"{message}; /opt/ml/output/failure: {own}" if own else message

    def _spawn(self, layout: Layout, argv: list[str], env: dict[str, str], cwd: str,
               binds: list[Bind], hold: bool = False) -> JobProcess:
        log_fd = self.reporter.log_fd
        if self.bwrap is None:
            return JobProcess(argv, env, cwd, log_fd, confine=self._confinement())
        limits = self.limits
        spec = SandboxSpec(
            home=layout.host.home, cache=layout.host.cache, cwd=cwd, binds=binds,
            hide=[self.settings.home.resolve()],
            job_user=(self.identity.uid, self.identity.gid) if self.identity else None,
            hostname=_hostname(self._plan), own_network=self.net is not None,
            tmp_bytes=limits.tmp_bytes if limits else None,
            shm_bytes=limits.shm_bytes if limits else None, files=self._files,
            gpus=bool(self._plan and self._plan.gpus), opt_ml=layout.host.opt_ml,
            rootfs=self.image.rootfs if self.image else None)
        if self.image is not None and self.image.overlay_home is not None:
            spec.home = self.image.overlay_home
        return JobProcess(argv, env, cwd, log_fd, self.bwrap, spec, hold=hold,
                          confine=self._confinement())

    # ------------------------------------------------------- the early sandbox
    def _start_early(self, plan: RunPlan, layout: Layout) -> None:
        """Building the sandbox (namespaces, mounts) takes 5-20 ms of bubblewrap's time.
        Whatever the job's process will be is mostly known before staging: start the
        sandbox for it now, held, and release it after staging if the process turns out
        the same (no requirements layer, same argv, environment, folder, binds). Only
        without file-system mounts (their checks come first) and when the working folder
        already exists. Any doubt: no early sandbox, the job starts as it always did."""
        if self.bwrap is None or plan.mounts or self.image is not None:
            return
        try:
            code_name = (parse_location(plan.code_dir, "code_dir").as_dir().name
                         if plan.code_dir else None)
            launch = build_launch(plan, layout, python=self.python,
                                  code_name=code_name, layer=None, task=self._task(),
                                  base_env=os.environ, extras=self._extras({}))
            if not layout.to_host(Path(launch.cwd)).is_dir():
                return
            binds = self._python_binds()
            proc = self._spawn(layout, launch.argv, launch.env, launch.cwd, binds, hold=True)
        except Exception:
            return
        self._early = (proc, (launch.argv, launch.env, launch.cwd, binds))

    def _take_early(self, argv: list[str], env: dict[str, str], cwd: str,
                    binds: list[Bind]) -> JobProcess | None:
        """The early sandbox, released, if it was made for exactly this process."""
        early, self._early = self._early, None
        if early is None:
            return None
        proc, made_for = early
        if made_for == (argv, env, cwd, binds) and proc.poll() is None:
            proc.release()
            return proc
        proc.discard()
        return None

    def _drop_early(self) -> None:
        early, self._early = self._early, None
        if early is not None:
            early[0].discard()

    def _pin(self, plan: RunPlan) -> None:
        """Issue 5: the job's processes inherit the runtime's CPU affinity, so pinning the
        runtime to the reserved cores limits the whole job to its flavor."""
        if not plan.cpu_set:
            return
        try:
            os.sched_setaffinity(0, plan.cpu_set)
            self.reporter.line(f"Pinned to cores {','.join(map(str, plan.cpu_set))}")
        except (OSError, ValueError) as exc:
            self.reporter.warning(f"Could not pin the job to cores {plan.cpu_set}: {exc}")

    def _account_memory(self, proc: JobProcess, plan: RunPlan) -> None:
        """Issue 5: memory accounting against the flavor (no cgroups here to enforce it)."""
        used = procs.resident_bytes(proc.job_pids())
        if used <= (self.state.peak_memory_bytes or 0):
            return
        limit = (plan.memory_gb or 0) * 2**30
        crossed = limit and used > limit >= (self.state.peak_memory_bytes or 0)
        self.state.peak_memory_bytes = used
        self._save()
        if crossed:
            self.reporter.warning(f"The job uses {used / 2**30:.1f} GB, more than its flavor's "
                                  f"{plan.memory_gb:g} GB")

    def _supervise(self, proc: JobProcess, deadline: float | None,
                   max_seconds: int | None = None, hang_seconds: float | None = None) -> int:
        """Waits for ``proc``; acts on stop requests, auto_stop and hangs: SIGTERM, then
        SIGKILL after the grace period (or at once on a second stop request)."""
        r = self.reporter
        stop_since: float | None = None
        term_sent = killed = False
        grace = 0.0
        watch = HangWatch(proc, self.reporter.log_size, hang_seconds) if hang_seconds else None
        # The first look at the job's processes (a scan of all of /proc) waits a moment: at
        # the spawn there is only the process we started, and on a busy machine the scan
        # would compete with it for the CPU while it starts.
        listed = time.monotonic() - 1.0 + _FIRST_LISTING
        disk_checked = time.monotonic()
        while (code := proc.poll()) is None:
            now = time.monotonic()
            if self._stop is None and now - disk_checked >= _DISK_CHECK:
                disk_checked = now
                self._check_disk()
            if now - listed >= 1.0:  # remember the job's processes, to kill strays at the end
                if self._plan is not None:
                    self._account_memory(proc, self._plan)
                else:
                    proc.job_pids()
                listed = now
            if self._stop is None and deadline is not None and now >= deadline:
                self._stop = StopRequest(reason=Reason.AUTO_STOP)
                r.warning(f"auto_stop: the job reached its maximum run time ({max_seconds} s)")
            if self._stop is None and watch is not None and watch.hung(now):
                self._hang_message = (f"hang: no log output and no CPU progress for "
                                      f"{hang_seconds:g} s")
                self._stop = StopRequest(reason=Reason.HANG)
                r.error(f"The job looks hung ({self._hang_message})")
            if self._stop is not None and stop_since is None:
                stop_since = now
                grace = (self._stop.grace_seconds if self._stop.grace_seconds is not None
                         else self.settings.stop_grace_period)
                self.state.phase = Phase.TERMINATING
                self._save()
                r.warning(f"Stopping ({self._stop.reason}): SIGTERM to the job's processes, "
                          f"SIGKILL after {grace:g} s")
            if stop_since is not None and not term_sent:
                term_sent = proc.terminate() > 0
            if stop_since is not None and not killed and (
                    self._kill_now or now - stop_since >= grace):
                r.warning("Grace period over: SIGKILL to every process of the job")
                proc.kill()
                killed = True
            proc.wait_exit(_TICK)
        proc.reap()
        return code

    def _check_disk(self) -> None:
        """The disk watcher: a job whose folders pass the limit is stopped (no quota on
        most file systems; measured with lstat, following nothing)."""
        limit = self.limits.disk_bytes if self.limits else None
        if limit is None:
            return
        used = disk_usage(self.folder.home, self.folder.cache, self.folder.opt_ml,
                          stop_at=limit)
        if used > limit:
            self._limit_exceeded(f"disk limit: the job's folders hold more than "
                                 f"{limit / 2**30:g} GB (setting job_disk_gb); stopping it")
            self._stop = StopRequest(reason=Reason.LIMIT, grace_seconds=0)

    def _open_files(self) -> set[tuple[int, int]]:
        proc = self.proc
        return procs.open_for_writing(proc.job_pids()) if proc is not None else set()

    def _task(self) -> TaskInfo:
        ip = current_ip()
        return TaskInfo(index=0, hosts=(ip,), current_ip=ip, num_gpus=num_gpus())

    # ------------------------------------------------------------------- end
    def _final_upload(self, phase: Phase, message: str) -> tuple[Phase, str]:
        if self.uploader is None or not self.uploader.channels:
            return phase, message
        self.uploader.stop()
        result = self.uploader.sync(final=True)
        if not result.files and not result.errors:
            self.reporter.line("Outputs: nothing new to upload")
        for error in result.errors or []:
            self.reporter.error(f"Final upload failed: {error}; the files stay in the job "
                                "folder")
        if result.errors:
            summary = "final upload failed: " + "; ".join(result.errors)
            if phase == Phase.COMPLETED:
                return Phase.FAILED, summary
            return phase, f"{message}; {summary}" if message else summary
        return phase, message

    def _finish(self, phase: Phase, reason: str, code: int | None,
                message: str) -> RuntimeState:
        self.state.phase = phase
        self.state.reason = reason
        self.state.exit_code = code
        self.state.message = message
        self.state.ended_at = time.time()
        self.folder.write_state(self.state)
        for engine in (self.engine, self.uploader.engine if self.uploader else None):
            close = getattr(engine, "close", None)
            if close is not None:
                close()
        if self._reporter is not None:
            self._reporter.line(f"Job {phase.value.lower()}" + (f": {message}" if message else ""))
            self._reporter.close()
        return self.state


class HangWatch:
    """Hang detection (issue 5, fault-tolerance/hang-retry): a job is hung when its log has
    not grown and its processes have used no CPU for ``seconds``."""

    def __init__(self, proc: JobProcess, log_size: Callable[[], int], seconds: float) -> None:
        self.proc = proc
        self.log_size = log_size
        self.seconds = seconds
        self._last: tuple[int, int] | None = None
        self._since = time.monotonic()
        self._checked = 0.0

    def hung(self, now: float) -> bool:
        if now - self._checked < 1.0:
            return False
        self._checked = now
        try:
            size = self.log_size()
        except OSError:
            size = 0
        progress = (size, procs.cpu_ticks(self.proc.job_pids()))
        if progress != self._last:
            self._last, self._since = progress, now
            return False
        return now - self._since >= self.seconds


def remove_tree(path: Path) -> None:
    """``rm -rf`` that never follows a symlink (``shutil.rmtree`` works through descriptors
    on Linux; a symlink given as ``path`` is removed, not followed) and gets past folders a
    job made unwritable."""
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return

    def unlock(fn: Callable[..., object], name: str, _exc: object) -> None:
        parent = os.path.dirname(name)
        if not os.path.islink(parent):
            os.chmod(parent, 0o700)
        fn(name)

    shutil.rmtree(path, onerror=unlock)


def _transient(exc: BaseException) -> bool:
    """Worth a retry: the store could not be reached, as opposed to a mistake in the job."""
    if getattr(exc, "transient", False):  # storage's TransferError knows
        return True
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    name = type(exc).__name__
    return any(word in name for word in ("Connection", "Timeout", "Throttl"))


def _hostname(plan: RunPlan | None) -> str:
    """``modelarts-job-<id>-worker-0``, as ModelArts names a job's first node."""
    job = plan.job_id if plan and plan.job_id else "local"
    return f"modelarts-job-{job}-worker-0"[:63]


def current_ip() -> str:
    """The address other nodes would reach this one at (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def num_gpus() -> int:
    """``/dev/nvidia<N>`` devices (a listing, not ``glob``, which compiles a pattern in
    every freshly forked runtime)."""
    try:
        names = os.listdir("/dev")
    except OSError:
        return 0
    return sum(1 for n in names if n.startswith("nvidia") and n[6:7].isdigit())


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return str(num)


def _tail(log_file: Path, lines: int = 20) -> str:
    """The last lines of the job's log (where a traceback ends up)."""
    try:
        with open(log_file, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 8192))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

