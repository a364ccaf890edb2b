import io

from keras_deblur.progress import Progress


def test_off_a_terminal_one_line_per_interval_and_one_at_the_end(monkeypatch):
    clock = iter(range(0, 1000, 10))  # every reading of the clock is 10 s after the previous one
    monkeypatch.setattr("keras_deblur.progress.time.perf_counter", lambda: next(clock))
    stream = io.StringIO()
    progress = Progress(10, "step", "train", interval_seconds=25, stream=stream)
    for done in range(1, 11):
        progress.update(done, [("loss", 0.5)])
    lines = stream.getvalue().splitlines()
    # Readings at 10, 20, ..., 100 s after the start at 0: lines at 30, 60, 90 s and at the end.
    assert len(lines) == 4
    assert lines[0] == "train: 3/10 steps, 30 s, 0.1 steps/s, ETA 70 s loss=0.5"
    assert lines[-1].startswith("train: 10/10 steps, 100 s") and "ETA 0 s" in lines[-1]


def test_silent_when_not_verbose():
    stream = io.StringIO()
    progress = Progress(2, "image", "evaluate", verbose=False, stream=stream)
    progress.update(2)
    assert stream.getvalue() == ""
