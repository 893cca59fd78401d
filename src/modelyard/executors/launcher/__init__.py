"""The launcher: a fork server that starts runtimes without paying for Python and imports.

Why: a runtime started as ``python -m modelyard.runtime`` spends most of a second of CPU
importing pydantic, pydantic-settings, the spec models and storage before it can stage a
single file; on a busy two-core machine that is seconds between submit and the job's first
line. One long-lived process per ModelYard home keeps those modules imported and forks a
fresh runtime per job: the child costs a fork, not an interpreter start.

How it starts (no separate start-up cost): when the launcher is missing, the executor
starts the job the old way, but as ``python -m modelyard.executors.launcher run <job dir>
--serve <home>``. That process imports what every runtime imports anyway; if it wins the
home's lock it then forks (twice, so nobody has to reap it) the launcher daemon from its
warm interpreter, and goes on to run its own job as an ordinary runtime. Only one launcher
runs per home: the daemon holds ``run/launcher.lock`` (flock) for as long as it lives.

Protocol (one unix stream connection per job, JSON lines): the executor sends
``{"op": "spawn", "version", "job_dir", "env", "umask"}``; the launcher forks and answers
``{"pid", "start_time"}`` of the child; the child, holding the same connection, prepares
itself and waits for ``go`` before it touches the job. The executor writes ``go`` only
after it has read the answer, so an executor that gave up waiting (a slow or wedged
launcher) and fell back to starting the runtime itself never gets a second runtime for the
same job: without ``go`` the child exits untouched. (``ping`` and ``shutdown`` exist for
tests and operators.) Usually the child is not forked at that moment: a spare, forked in
advance, takes the job and the connection and answers itself (``SPARE_DELAY``).

The child is made to look like a runtime started by ``Popen``: own session, the
executor's umask and environment, stdin /dev/null, stdout and stderr to ``runtime.out``,
cwd the job folder, every signal disposition as in a fresh interpreter, SIGTERM and SIGINT blocked
until the runtime's handler is installed (an early stop is a clean Terminated), and the
settings a new interpreter would build from that environment (the launcher builds them once
per distinct set of inputs, see ``settings_inputs``, not once per job). It is the
launcher's child only until the launcher dies: runtimes outlive it (they are reparented
like any orphan), the launcher reaps them while it lives (no zombies), and it never opens
the database.

Correctness never depends on the launcher: the executor falls back to starting the
runtime itself whenever the launcher is missing, dead, slow (``REPLY_TIMEOUT``), of
another code version (the modelyard package's files changed since it started) or made for
another context (``context``: variables that change how an interpreter starts, such as
``PYTHONPATH``, resource limits, CPU affinity, control group). In the last two cases the
launcher exits, and the runtime started the old way starts a launcher that fits.

The package follows the seams: ``protocol`` (what both sides share), ``client`` (what the
executor imports), ``daemon`` (the server loop and its spare) and ``child`` (the forked
runtime).
"""

from __future__ import annotations

from modelyard.executors.launcher.client import ping, request, shutdown, spawn
from modelyard.executors.launcher.daemon import try_lock, warm
from modelyard.executors.launcher.protocol import (
    DEFAULT_IDLE_SECONDS,
    LOG_NAME,
    PROTOCOL,
    REPLY_TIMEOUT,
    _environ,
    address,
    code_version,
    context,
    current_version,
    run_dir,
    settings_inputs,
    token,
)

__all__ = [
    "DEFAULT_IDLE_SECONDS", "LOG_NAME", "PROTOCOL", "REPLY_TIMEOUT", "_environ", "address",
    "code_version", "context", "current_version", "ping", "request", "run_dir",
    "settings_inputs", "shutdown", "spawn", "token", "try_lock", "warm",
]
