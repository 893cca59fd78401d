"""One job from plan to final state: stage, install, run, watch, upload, report.

The runner is written so that every way a job can end (exit code, staging error, stop
request, auto_stop, a bug in the runtime) goes through the same last two steps: the final
output upload, then the final state. The control plane therefore never sees a final phase
before the outputs are in place, and never sees a job stuck in Running because the runtime
raised.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import time
import traceback
from pathlib import Path

from modelyard.runtime import images, sagemaker, sandbox
from modelyard.runtime.argv import build_launch
from modelyard.runtime.cluster import cluster_task
from modelyard.runtime.deps import (
    LAYER_MOUNT,
    Layer,
)
from modelyard.runtime.identity import job_identity
from modelyard.runtime.jobside import PYLIB_MOUNT
from modelyard.runtime.layout import MA_HOME, Layout, make_layout
from modelyard.runtime.outputs import OutputChannel, OutputUploader
from modelyard.runtime.report import (
    Reason,
    Reporter,
    StagingError,
    Stopped,
)
from modelyard.runtime.requirements import Installing
from modelyard.runtime.run_core import (
    current_ip,
    log_tail,
    num_gpus,
    one_line,
    remove_tree,
    signal_name,
)
from modelyard.runtime.sandbox import Bind
from modelyard.runtime.staging import Staging
from modelyard.runtime.state import RuntimeState
from modelyard.settings import Settings
from modelyard.spec.contract import Contract
from modelyard.spec.errors import SpecError
from modelyard.spec.plan import RunPlan
from modelyard.spec.status import EventLevel, EventSource, Phase

__all__ = ["Runner", "current_ip", "num_gpus", "remove_tree"]


class Runner(Installing, Staging):
    # ------------------------------------------------------------------- run
    def run(self) -> RuntimeState:
        try:
            plan = self.folder.read_plan()
        except Exception as exc:
            return self._finish(Phase.FAILED, Reason.STAGING, None,
                                f"cannot read the run plan: {one_line(exc)}")
        # Recorded with the sandbox decision, a moment later (one state write fewer before
        # the job's first line; the executor's fresh state already names the attempt and
        # runtime.pid the runtime).
        self.state.attempt = plan.attempt
        self._reporter = Reporter(self.folder, self.folder.log_file(plan.job_id, _task_index(plan)))
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
            message = f"internal error in the runtime: {one_line(exc)}"
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
                    f"Process was killed by signal {signal_name(code - 128)} (exit code {code})")
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
        if plan.node_count > 1 and plan.cluster is None:
            raise StagingError(f"multi-node jobs (node_count={plan.node_count}) need a cluster "
                               "executor; the local executor runs one node")
        self._cluster = cluster_task(plan)
        if self._cluster is not None:
            _check_cluster_settings(plan, self.settings)
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

    def _record_failure(self, plan: RunPlan, message: str) -> str:
        """SageMaker contract: ``/opt/ml/output/failure`` holds why the job failed; what
        the code wrote there itself joins the job's message."""
        layout = self._layout
        if plan.contract is not Contract.SAGEMAKER or layout is None or layout.host.opt_ml is None:
            return message
        try:
            own = sagemaker.record_failure(layout.host.opt_ml, message,
                                           log_tail(self.reporter.log_file))
        except OSError as exc:
            self.reporter.warning(f"Could not write /opt/ml/output/failure: {exc}")
            return message
        return f"{message}; /opt/ml/output/failure: {own}" if own else message

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


def _task_index(plan: RunPlan) -> int:
    """The task whose log this runtime writes (``worker-<i>``); a bad index is refused at
    staging, in task 0's log."""
    c = plan.cluster
    return c.task_index if c is not None and 0 <= c.task_index < plan.node_count else 0


def _check_cluster_settings(plan: RunPlan, settings: Settings) -> None:
    """What a task of a multi-node job needs besides its plan, checked before staging."""
    if settings.job_network != "outbound":
        raise StagingError(f"multi-node jobs (node_count={plan.node_count}) need the job "
                           f"network: with job_network = {settings.job_network} the workers "
                           "cannot reach each other; set job_network = outbound")
    if plan.contract is Contract.SAGEMAKER:
        raise StagingError(f"multi-node jobs (node_count={plan.node_count}) under the "
                           "SageMaker contract are not supported yet; use the ModelArts contract")
