"""Installing a job's requirements file into an environment layer."""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

from modelyard.runtime.argv import build_env
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
from modelyard.runtime.engine_env import installed_packages
from modelyard.runtime.identity import hand_over
from modelyard.runtime.layout import Layout
from modelyard.runtime.report import (
    StagingError,
)
from modelyard.runtime.sandbox import Bind
from modelyard.runtime.sandboxing import Sandboxing
from modelyard.runtime.supervision import Supervising
from modelyard.spec.channels import AccessMethod
from modelyard.spec.plan import RunPlan


class Installing(Sandboxing, Supervising):
    """The code's requirements file, installed by pip in the sandbox into a layer on top of
    the engine (docs/contract.md "Dependencies")."""

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
        """pip in two steps (docs/contract.md "Dependencies"): resolve the file against the
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
