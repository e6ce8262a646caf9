"""Several processes for chat turns (``web.workers: N``): the parent that ``bot.py run`` becomes.

The parent serves nothing. It checks that the web port is free (:func:`port_taken`), then starts N workers
(``bot.py run --worker I``, each a whole bot process that binds ``web.port`` with ``SO_REUSEPORT``, so the
kernel spreads the incoming connections over them), starts again a worker that ends while it should run
(at once, or after a pause that doubles while it keeps ending within :data:`QUICK_END_S`, up to
:data:`RESTART_PAUSE_MAX_S`), and on SIGTERM or SIGINT stops them all: each gets SIGTERM and stops as a
single bot does (the webhooks in hand are answered); one still running after ``grace`` seconds is killed.
A parent that is itself killed takes its workers with it (each gets SIGTERM: ``PR_SET_PDEATHSIG``).

Worker 0 also runs what must run once: Telegram's webhook registration and command menu, the reminders
(planner, dispatcher, retention), the SATUSEHAT sync and the register imports; the others answer the
webhooks, the puskesmas web, ``/healthz`` and ``/metrics``. Their counters are kept in files in one
directory (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``), which any worker's
``/metrics`` reads whole (``web.monitoring``). This module imports nothing of the bot.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("workers")

#: a worker that ends sooner than this after its start is started again only after a pause
QUICK_END_S = 10.0
#: the longest pause before a worker that keeps ending is started again
RESTART_PAUSE_MAX_S = 30.0
#: how often the parent looks at its workers
TICK_S = 0.2
#: prctl's option: the signal a process gets when its parent ends
PR_SET_PDEATHSIG = 1
#: the environment variable of prometheus-client's multiprocess mode
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def port_taken(host: str, port: int) -> str | None:
    """Why ``host``:``port`` cannot be listened on (another process listens there), or None when it is free.
    The workers bind it with SO_REUSEPORT, which would let them share it with an older bot of the same user
    without a word: this check, without SO_REUSEPORT, refuses to start beside one."""
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


class Supervisor:
    """Starts ``count`` workers (``command`` + their index), keeps them running, stops them on SIGTERM."""

    def __init__(self, command: list[str], count: int, *, grace: float, env: dict[str, str] | None = None) -> None:
        self.command, self.count, self.grace = command, count, grace
        self.env = dict(os.environ if env is None else env)
        self.processes: dict[int, subprocess.Popen] = {}
        self.started_at: dict[int, float] = {}
        self.next_start: dict[int, float] = {}
        self.pause: dict[int, float] = {}
        self.stopping = False

    def _stop(self, _signum, _frame) -> None:
        self.stopping = True

    def run(self) -> int:
        """Serves until SIGTERM or SIGINT; 0 once every worker has ended."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        own_dir = MULTIPROC_DIR not in self.env
        metrics_dir = Path(self.env.get(MULTIPROC_DIR) or tempfile.mkdtemp(prefix="ilpbot-metrics-"))
        for stale in metrics_dir.glob("*.db"):  # counts of an earlier run (prometheus-client: wipe at start)
            stale.unlink()
        self.env[MULTIPROC_DIR] = str(metrics_dir)
        log.info("starting %d workers (pid %d supervises them)", self.count, os.getpid())
        try:
            while not self.stopping:
                for index in range(self.count):
                    self._look_after(index)
                time.sleep(TICK_S)
        finally:
            self._stop_all()
            if own_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        return 0

    def _look_after(self, index: int) -> None:
        """Starts worker ``index`` when it is not running and its pause (if any) is over."""
        process = self.processes.get(index)
        now = time.monotonic()
        if process is not None:
            code = process.poll()
            if code is None:
                return
            del self.processes[index]
            lived = now - self.started_at[index]
            pause = 0.0 if lived >= QUICK_END_S else min(RESTART_PAUSE_MAX_S, max(1.0, 2 * self.pause.get(index, 0.0)))
            self.pause[index], self.next_start[index] = pause, now + pause
            log.warning("worker %d (pid %d) ended with %s after %.0f s; starting it again%s", index, process.pid,
                        _ending(code), lived, f" in {pause:.0f} s" if pause else "")
        if now < self.next_start.get(index, 0.0) or self.stopping:
            return
        self.processes[index] = subprocess.Popen([*self.command, str(index)], env=self.env, stdin=subprocess.DEVNULL,
                                                 preexec_fn=_stop_with_parent)
        self.started_at[index] = now

    def _stop_all(self) -> None:
        """SIGTERM to every worker; a worker still running after the grace is killed."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for index, process in sorted(self.processes.items()):
            try:
                code = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d (pid %d) still running after %.0f s: killed", index, process.pid, self.grace)
                process.kill()
                code = process.wait()
            if code != 0:
                log.warning("worker %d (pid %d) ended with %s", index, process.pid, _ending(code))
        self.processes.clear()
        log.info("workers stopped")


def _stop_with_parent() -> None:
    """In a worker about to start (Linux): SIGTERM when the parent ends, however it ends (killed too), so
    that no worker serves on without the parent that restarts and stops them (``PR_SET_PDEATHSIG``)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _ending(code: int) -> str:
    """An exit code in words: "exit code 1" or "signal SIGKILL"."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"
