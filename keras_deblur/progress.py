"""Progress of a long stage: a live bar on a terminal, one line per interval otherwise.

Keras's Progbar redraws in place on a terminal, but when stdout is a file or a pipe (CI, nohup,
the pipeline's logs) it prints a new line per update: thousands of lines in a training run. Here,
off a terminal, a line is printed at most every `interval_seconds` and once at the end.
"""

import sys
import time

import keras

LINE_INTERVAL_SECONDS = 30.0


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Progress:
    """`update(done, values)` as work advances; `values` is a list of (name, number) to show.

    Args:
      total: the units of work in all (its `total` attribute may be changed as plans change).
      unit: what one unit is ("step", "image").
      label: the stage's name, at the start of each plain line.
      verbose: False shows nothing (other workers of a distributed run).
      interval_seconds: off a terminal, the least time between two lines.
      stream: where plain lines go (default stdout); a terminal gets Keras's live bar.
    """

    def __init__(
        self, total, unit, label, verbose=True, interval_seconds=LINE_INTERVAL_SECONDS, stream=None
    ):
        self.total, self.unit, self.label = total, unit, label
        self.verbose, self.interval = verbose, interval_seconds
        self.stream = stream or sys.stdout
        self.live = verbose and self.stream.isatty()
        self._bar = keras.utils.Progbar(total, unit_name=unit) if self.live else None
        self._start = time.perf_counter()
        self._last_line = self._start
        self._first_done = None  # a resumed stage starts past 0: its rate counts from there

    def update(self, done, values=()):
        if not self.verbose:
            return
        if self.live:
            self._bar.target = self.total
            self._bar.stateful_metrics.update(
                name for name, _ in values
            )  # shown as given, not averaged
            self._bar.update(done, list(values))
            return
        if self._first_done is None:
            self._first_done = done - 1
        now = time.perf_counter()
        if done < self.total and now - self._last_line < self.interval:
            return
        self._last_line = now
        elapsed = now - self._start
        rate = (done - self._first_done) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 and done < self.total else 0.0
        shown = " ".join(f"{name}={_format(value)}" for name, value in values)
        print(
            f"{self.label}: {done}/{self.total} {self.unit}s, {elapsed:.0f} s, {rate:.3g} "
            f"{self.unit}s/s, "
            f"ETA {eta:.0f} s{' ' + shown if shown else ''}",
            file=self.stream,
            flush=True,
        )
