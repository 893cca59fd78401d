"""Ending a process without the interpreter's teardown.

Once a process has imported pydantic, typer and rich (a CLI command) or the whole runtime
stack (a runtime forked by the launcher), Python's final teardown, which destroys every
module and object one by one, takes about 0.1 s, and nothing of ours needs it. What does
matter of a normal exit happens, in the order Python does it: non-daemon threads are
joined, atexit handlers run, the standard streams are flushed; then ``os._exit``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def quick_exit(code: int) -> NoReturn:
    with contextlib.suppress(BaseException):
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code)


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` would end with (a message is printed to stderr)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
