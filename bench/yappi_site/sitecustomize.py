"""Loaded by `bench/limit_bench.py --yappi DIR` into each `queue-server serve` (via PYTHONPATH):
yappi on CPU time, started by SIGUSR1 and written as pstats to $YAPPI_OUT-<pid>.pstat on SIGUSR2,
so only the measured interval is profiled. Does nothing in any other process."""

import os
import signal
import sys

if os.environ.get("YAPPI_OUT") and "serve" in sys.argv:
    import yappi  # type: ignore[import-not-found]  # a profiler installed by hand, not a dependency

    yappi.set_clock_type("cpu")

    def _start(*_: object) -> None:
        yappi.clear_stats()
        yappi.start(builtins=True)

    def _dump(*_: object) -> None:
        yappi.stop()
        yappi.get_func_stats().save(f"{os.environ['YAPPI_OUT']}-{os.getpid()}.pstat", type="pstat")

    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _dump)
