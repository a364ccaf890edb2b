"""What every command-line entry point shares."""

import errno
import sys

from absl import app, flags, logging

from keras_deblur.errors import failed_data_check, op_message

# Errors of the disk, not of the program: a full disk, a read-only mount, a folder not ours.
_DISK_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}
# How TensorFlow's file system reports the same (its errors carry the message, not an errno).
_TF_DISK_MESSAGES = (
    "No space left on device",
    "Disk quota exceeded",
    "Read-only file system",
    "Permission denied",
)
_WHAT_TO_DO = "free space or choose another folder and rerun: files written completely are kept"


def disk_problem(error):
    """One line naming the path and what is wrong, for an error of the disk anywhere in the chain of
    `error` (its causes and contexts); None for any other error."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
            where = error.filename or "a file"
            return f"cannot write {where}: {_DISK_ERRNOS[error.errno]}; {_WHAT_TO_DO}"
        message = _tf_message(error, _TF_DISK_MESSAGES)
        if message:
            return f"cannot write {message}; {_WHAT_TO_DO}"
        error = error.__cause__ or error.__context__
    return None


def call_reporting_errors(main, argv):
    """Calls main(argv); a bad input or a disk problem becomes one `error:` line and status 1.

    Bad input is reported as ValueError (DataError is one), FileNotFoundError or FileExistsError (an
    output that must not be overwritten), whose messages name the file, flag or value. A full or
    read-only disk is named with the path (`disk_problem`). Ctrl-C is one line and status 130 (the
    shell's for SIGINT): every writer is atomic, so nothing half-written is left to explain.
    Anything else is a bug and keeps its traceback.
    """
    try:
        return main(argv)
    except KeyboardInterrupt:
        print(
            "error: interrupted (Ctrl-C); files written completely are kept, half-written ones "
            "are removed at the next start (training resumes from its last checkpoint)",
            file=sys.stderr,
        )
        return 130
    except (
        ValueError,
        FileNotFoundError,
        FileExistsError,
        NotADirectoryError,  # an output path that runs through a file
        IsADirectoryError,  # a file named that is a folder
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 (re-raised unless it is the disk's or a path's)
        problem = (
            disk_problem(error)
            or _tf_message(error, _TF_PATH_MESSAGES)
            or failed_data_check(getattr(error, "message", None))
        )
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 1


# How TensorFlow's file system says that a path names a file where a folder is needed, or the other
# way round (its errors carry the message, not an errno).
_TF_PATH_MESSAGES = ("is not a directory", "Not a directory", "Is a directory")


def _tf_message(error, texts):
    """The message of a TensorFlow error (`tf.errors.OpError`, whose messages name the path) that
    says one of `texts`, without the op's internals; None for any other error."""
    message = getattr(error, "message", None)
    if isinstance(message, str) and any(text in message for text in texts):
        return op_message(message)
    return None


def check_flags_read(flags_used):
    """A ValueError naming the package's flags that were given (on the command line or in a
    flagfile) to a command that does not read them. Every command parses all of the package's
    flags, so without this `pipelines.run --run_dir=X` or `deblur --train_steps=5` would run as if
    the flag were not there."""
    used = set(flags_used)
    unread = sorted(
        flag.name
        for flag in flags.FLAGS.get_flags_for_module("keras_deblur.flags")
        if flag.present and flag.name not in used
    )
    if unread:
        names = ", ".join(f"--{name}" for name in unread)
        them = "it" if len(unread) == 1 else "them"
        raise ValueError(
            f"{names}: this command does not read {them}; remove {them} (--help lists the flags "
            "it reads)"
        )


def _parse_flags(argv):
    """absl's flag parsing, with a bad or missing flag as one `error:` line and status 1 (absl
    prints "FATAL Flags parsing error" and a second line)."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        problem = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        problem = problem.removeprefix("ERROR:: ")  # absl's prefix for an unreadable --flagfile
        print(f"error: {problem} (--help lists the flags)", file=sys.stderr)
        sys.exit(1)


def run(main, flags_used):
    """`absl.app.run(main)`, with `call_reporting_errors`'s one-line errors instead of tracebacks.

    `flags_used`: the names of the flags the command reads; its `--help` lists those (absl's "key
    flags" of the main program), `--helpfull` every flag. Commands take flags only: a positional
    argument (often a flag missing its "--") is a usage error.
    """
    for name in flags_used:
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])

    def guarded(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}: every option is a --flag")
        # Only warnings and errors from absl logging unless --verbosity asks for more: each command
        # prints what it did itself, and TensorFlow's and Beam's INFO lines are noise to a user.
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)

        def checked_main(argv):
            check_flags_read(flags_used)
            return main(argv)

        return call_reporting_errors(checked_main, argv)

    app.run(guarded, flags_parser=_parse_flags)
