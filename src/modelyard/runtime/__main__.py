"""``python -m modelyard.runtime <job folder>``: run the job whose plan.json is there.

Started by an executor as its own session, so it outlives whoever started it. SIGTERM (or
SIGINT) asks for a stop: the reason and grace period are read from ``stop.json`` if the
requester wrote one; a second signal skips the rest of the grace period. The exit status is
0 whenever the job's end was recorded in state.json (whatever the phase), 2 for bad usage.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

from modelyard.runtime.runner import Runner
from modelyard.settings import Settings


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """``settings``: already built from this process's environment (the launcher builds
    them while it waits for the executor's go); by default built here."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m modelyard.runtime <job folder with plan.json>", file=sys.stderr)
        return 2
    runner = Runner(Path(args[0]), settings or Settings())

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        runner.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # An executor starts us with these blocked so that an early stop waits for the handler;
    # unblocking also keeps the block from reaching the job's processes.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    runner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
