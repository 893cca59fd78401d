"""A job's confinement and the processes the runtime starts in its sandbox."""

from __future__ import annotations

import os
from pathlib import Path

from modelyard.runtime import jobnet, sandbox
from modelyard.runtime.argv import Extras, TaskInfo, build_launch
from modelyard.runtime.cluster import write_hosts
from modelyard.runtime.identity import hand_over, passwd_files
from modelyard.runtime.jobside import PYLIB, PYLIB_MOUNT
from modelyard.runtime.layout import Layout
from modelyard.runtime.limits import CGROUPS_FILE, JobLimits
from modelyard.runtime.process import Confinement, JobProcess
from modelyard.runtime.report import StagingError
from modelyard.runtime.run_core import RunnerCore, current_ip, num_gpus
from modelyard.runtime.sandbox import Bind, SandboxSpec
from modelyard.runtime.state import SANDBOX_DIR
from modelyard.spec.paths import parse_location
from modelyard.spec.plan import RunPlan


class Sandboxing(RunnerCore):
    """The job's confinement (limits, network, user files) and the sandboxed processes
    started in it, including the one started ahead of staging."""

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
        if self._cluster is not None and self.identity is None:
            raise StagingError(f"multi-node jobs (node_count={plan.node_count}) need the "
                               "sandbox (bubblewrap) and a service running as root: each task "
                               "needs a network namespace of its own that its peers can reach")
        if self.bwrap is None:
            return
        self._files = passwd_files(private)
        if self.identity is None:
            if self.settings.job_network == "outbound":
                self.reporter.warning("Outbound network needs a service running as root "
                                      "(pasta); this job has its own loopback only")
            return
        if self._cluster is not None:
            self._cluster_network(private)
            return
        outbound = self.settings.job_network == "outbound"
        if outbound and not jobnet.pasta_available():
            self.reporter.warning("pasta (package passt) is not installed: this job has no "
                                  "outbound network, only its own loopback")
            outbound = False
        self.net = jobnet.new_network(outbound, private / jobnet.PASTA_PID)

    def _cluster_network(self, private: Path) -> None:
        """A task of a multi-node job: its peers' names in ``/etc/hosts``, and a network
        that takes their connections on the node's address (``jobnet.Inbound``)."""
        task = self._cluster
        assert task is not None
        if not jobnet.pasta_available():
            raise StagingError(f"multi-node jobs (node_count={len(task.hosts)}) need pasta "
                               "(package passt) for the job's network; it is not installed")
        self._files["/etc/hosts"] = write_hosts(private, task)
        inbound = jobnet.Inbound(task.node_ip, task.master_port, task.last_port)
        self.net = jobnet.new_network(True, private / jobnet.PASTA_PID, inbound)
        self.reporter.line(f"Task {task.index} of {len(task.hosts)} ({task.name}) on "
                           f"{task.node_ip}: peers reach it on TCP ports "
                           f"{task.master_port}-{task.last_port}")

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

    def _python_binds(self) -> list[Bind]:
        if self.image is not None:  # the image's own interpreter
            return [Bind(PYLIB, PYLIB_MOUNT)]
        roots = [Bind(p, p) for p in sandbox.python_roots(self.python)]
        return [*roots, Bind(PYLIB, PYLIB_MOUNT)]

    def _extras(self, input_files: dict[str, str]) -> Extras:
        return Extras(input_files=dict(input_files),
                      pylib=PYLIB_MOUNT if self.bwrap else PYLIB)

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
            hostname=self._hostname(), own_network=self.net is not None,
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

    def _task(self) -> TaskInfo:
        if self._cluster is not None:
            return self._cluster.task_info(num_gpus())
        ip = current_ip()
        return TaskInfo(index=0, hosts=(ip,), current_ip=ip, num_gpus=num_gpus())
