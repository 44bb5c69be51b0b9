"""Progress on every long step: a tqdm bar on stderr when a person watches (stderr is a terminal and the log
level shows INFO), else a log line at each quarter, so a log file shows the same at a few intervals.

>>> for batch in progress(batches, total=len(batches), desc="embedding", unit="batch"):  # doctest: +SKIP
...     work(batch)
"""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger(__name__)


def watched() -> bool:
    """Whether a person watches: stderr is a terminal and ``topicfit`` logs at INFO (``-q`` silences it)."""
    return sys.stderr.isatty() and logging.getLogger("topicfit").isEnabledFor(logging.INFO)


class _Logged:
    """The stand-in for a bar where nobody watches: logs ``desc`` at 25, 50, 75 and 100% (with rate and ETA)."""

    def __init__(self, iterable, total: int | None, desc: str, unit: str):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n, self.start, self.next_mark = 0, time.perf_counter(), 1

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.total:
            return
        while self.next_mark <= 4 and self.n >= self.total * self.next_mark / 4:
            elapsed = time.perf_counter() - self.start
            rate = self.n / max(elapsed, 1e-9)
            logger.info("%s: %d/%d %s (%d%%), %.1f %s/s, %.0fs left", self.desc, self.n, self.total, self.unit, 25 * self.next_mark, rate,
                        self.unit, (self.total - self.n) / max(rate, 1e-9))
            self.next_mark += 1

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it"):
    """``iterable`` wrapped in a progress display (a tqdm bar, or quarter-way log lines); without ``iterable``, an
    object with ``update(n)`` and ``close()`` (use it as a context manager)."""
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if watched():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
    return _Logged(iterable if iterable is not None else (), total, desc, unit)
