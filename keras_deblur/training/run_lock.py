"""One writer per run directory: a lock that a second training on the same --run_dir cannot take.

Two trainings on one run directory would interleave their checkpoints, TensorBoard events and
flags.txt. The lock is an advisory `flock` on `<run_dir>/.lock` (`.lock-worker<i>` for the other
workers of a multi-worker run, which share the folder by design), holding the holder's PID. The
kernel drops it when the holder exits, however it dies, so a lock file left by a killed run is
never in the way. Run directories on object stores (gs://, ...) cannot be locked and are not.
"""

import contextlib
import fcntl
import os


class RunDirectoryBusyError(ValueError):
    """Another process is training in this run directory."""


@contextlib.contextmanager
def hold(run_dir, worker_index=0):
    """Holds the run directory's lock for this worker while the block runs. A folder it created
    that holds nothing but the lock when the block ends (a run stopped by a bad flag or bad data
    before it wrote anything) is removed again."""
    if "://" in run_dir:
        yield
        return
    created = not os.path.exists(run_dir)
    if not created and not os.path.isdir(run_dir):
        raise ValueError(f"--run_dir={run_dir} is a file; name a folder for the run")
    os.makedirs(run_dir, exist_ok=True)
    name = ".lock" if worker_index == 0 else f".lock-worker{worker_index}"
    path = os.path.join(run_dir, name)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    locked = False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunDirectoryBusyError(
                f"--run_dir={run_dir} is in use by another training (process {holder}); wait for "
                f"it to end "
                "or choose another --run_dir"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        # Only the lock's holder cleans up: a training refused because another one won the race
        # to a new folder must not remove the winner's lock. Cleaning up never hides the error.
        if created and locked:
            with contextlib.suppress(OSError):
                if os.listdir(run_dir) == [name]:
                    os.remove(path)
                    os.rmdir(run_dir)
        os.close(descriptor)  # closing releases the lock
