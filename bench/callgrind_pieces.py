"""Instructions of single per-turn pieces, for bench/RESULTS.md (issue 16, fixed work). Run under callgrind

    valgrind --tool=callgrind --callgrind-out-file=OUT.N python bench/callgrind_pieces.py WHAT N

with N = 0 and N = 2000; (Ir of N - Ir of 0) / N is one use. WHAT: prometheus (a turn's two metrics, as
``Engine.handle_durably``), lock (``async with asyncio.Lock``), lock_timeout (``asyncio.timeout`` around
acquiring it, as ``Database._write_turn``), timer (``loop.call_later`` + ``cancel``, as asyncpg's
command timeout arms for each statement).
"""
import asyncio
import sys

from prometheus_client import CollectorRegistry, Counter, Histogram


async def main(what: str, n: int) -> None:
    registry = CollectorRegistry()
    turns = Counter("t", "t", ["channel", "outcome"], registry=registry)
    seconds = Histogram("s", "s", ["channel"], registry=registry)
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    for _ in range(n):
        if what == "prometheus":
            turns.labels("telegram", "ok").inc()
            seconds.labels("telegram").observe(0.012)
        elif what == "lock":
            async with lock:
                pass
        elif what == "lock_timeout":
            async with asyncio.timeout(10):
                await lock.acquire()
            lock.release()
        elif what == "timer":
            loop.call_later(11.0, print).cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
