"""Reading and writing the project's files safely: atomic writes, their temporaries, JSON, digests.

Every file or folder the package writes atomically is first written as
`<name>.tmp-<pid>-<host>-<hex>`
(hidden when the final name is) and then renamed. A writer that is killed, or whose disk fills,
leaves that temporary behind: readers ignore such names (`is_temporary`), and the next command that
writes into the folder removes those whose writer is dead (`remove_dead_leftovers`): the process
named by the PID no longer runs on this host. Temporaries of live writers, or of writers on other
hosts (a shared or gs:// folder), are left alone.
"""

import contextlib
import hashlib
import json
import os
import posixpath
import re
import shutil
import socket
import uuid

_PATTERN = re.compile(r"\.tmp-(?P<pid>\d+)-(?P<host>[A-Za-z0-9_]+)-[0-9a-f]{8}$")


def _host():
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def temporary_path(path):
    """A unique temporary name beside `path`, marked with this process and host."""
    return f"{path}.tmp-{os.getpid()}-{_host()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def atomic_path(path, overwrite=True, hidden=False):
    """Yields a temporary path to write `path` (a file or a folder) at; renames it into place when
    the block succeeds, and removes it when the block fails. Any tf.io.gfile path.

    `hidden`: the temporary's name starts with a dot (in users' folders, and where a reader such as
    TF Serving lists the folder). With `overwrite=False` an existing `path`, even one created
    while the block ran, is tf.errors.AlreadyExistsError and is kept.
    """
    import tensorflow as tf

    folder, name = os.path.split(path)
    temporary = temporary_path(os.path.join(folder, f".{name}" if hidden else name))
    try:
        yield temporary
        if overwrite or not _link_into_place(temporary, path):
            tf.io.gfile.rename(temporary, path, overwrite=overwrite)
    finally:
        if tf.io.gfile.isdir(temporary):
            tf.io.gfile.rmtree(temporary)
        elif tf.io.gfile.exists(temporary):
            tf.io.gfile.remove(temporary)


def _link_into_place(temporary, path):
    """Gives a local file `temporary` the name `path` unless `path` exists, in one step: a hard
    link fails if the name is taken, where checking first and renaming after would replace a file
    that appeared between the two. False where it cannot (a folder, a gs:// path, a file system
    without hard links): the caller then renames."""
    import tensorflow as tf

    if "://" in path or not os.path.isfile(temporary):
        return False
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise tf.errors.AlreadyExistsError(None, None, f"{path} exists") from None
    except OSError:  # no hard links here
        return False
    os.remove(temporary)
    return True


def is_temporary(name):
    """True for a name `temporary_path` made (a write in progress, or a dead writer's leftover)."""
    return bool(_PATTERN.search(name))


def _writer_is_dead(name):
    match = _PATTERN.search(name)
    if not match or match["host"] != _host():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, but another user's
        return False
    return False


def remove_dead_leftovers(folder, also=None):
    """Removes temporaries of dead writers directly in `folder` (a local path); returns their paths.

    `also`: a regular expression of other names to remove as leftovers, for a caller that owns the
    folder while it runs (a training, under its run lock, and TensorFlow's `ckpt-N_temp` folders).
    """
    if "://" in folder or not os.path.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        if (also and re.fullmatch(also, name)) or _writer_is_dead(name):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.remove(path)
                except FileNotFoundError:
                    pass
            removed.append(path)
    return removed


def write_bytes(path, data):
    """Writes `data` to `path` (any tf.io.gfile path) atomically: a temporary beside it, then a
    rename.

    A killed process never leaves a half-written file under `path`. (On object stores such as gs://,
    a single-object upload is atomic already.)
    """
    import tensorflow as tf

    folder = os.path.dirname(path)
    if folder:
        tf.io.gfile.makedirs(folder)
    with atomic_path(path) as temporary, tf.io.gfile.GFile(temporary, "wb") as f:
        f.write(data)


def write_text(path, text):
    """Writes a small text file atomically, like `write_bytes`."""
    write_bytes(path, text.encode("utf-8"))


def is_inside(path, folder):
    """Whether `path` is `folder` or lies under it: local paths compared as real absolute paths
    (relative ones, links), others (gs://...) as normalised strings."""

    def as_folder(name):
        return (posixpath.normpath(name) if "://" in name else os.path.realpath(name)) + "/"

    return as_folder(path).startswith(as_folder(folder))


def read_json(path):
    """The JSON document in `path` (any tf.io.gfile path), or None if there is no such file; a
    ValueError naming the file if it is not JSON (cut short, or not what it should be)."""
    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        return None
    try:
        return json.loads(tf.io.gfile.GFile(path).read())
    except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"{path} is not a JSON document: {error}") from None


def files_digest(paths):
    """SHA-256 over the contents of `paths`, in the order given."""
    import tensorflow as tf

    digest = hashlib.sha256()
    for path in paths:
        with tf.io.gfile.GFile(path, "rb") as file:
            while chunk := file.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()
