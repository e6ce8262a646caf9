"""Runs a script (the bot) with cProfile switched on by SIGUSR1 and dumped by SIGUSR2, so that a profile
holds the turns between the two signals only (start-up and warm-up left out); ``chat_turns.py --turns N
--profile PATH`` sends them around the N measured turns.

    python bench/profile_on_signal.py OUT.prof SCRIPT [ARGS...]
"""
from __future__ import annotations

import cProfile
import runpy
import signal
import sys
from pathlib import Path


def main() -> None:
    out, script, *args = sys.argv[1:]
    profiler = cProfile.Profile()

    def start(_signum, _frame) -> None:
        profiler.enable()

    def stop(_signum, _frame) -> None:
        profiler.disable()
        profiler.dump_stats(out + ".part")
        Path(out + ".part").rename(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).resolve().parent)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
