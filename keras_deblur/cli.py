"""What every command-line entry point shares."""

import sys

from absl import app, flags, logging


def run(main):
    """`absl.app.run(main)`, but a bad input ends the command with its message, not a traceback.

    Bad input is reported as ValueError (DataError is one), FileNotFoundError or FileExistsError (an
    output that must not be overwritten), whose messages name
    the file, flag or value; the command then exits with status 1. Anything else is a bug and keeps
    its traceback. Commands take flags only: a positional argument (often a flag missing its "--")
    is a usage error.
    """
    def guarded(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}: every option is a --flag")
        # Only warnings and errors from absl logging unless --verbosity asks for more: each command
        # prints what it did itself, and TensorFlow's and Beam's INFO lines are noise to a user.
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        try:
            return main(argv)
        except (ValueError, FileNotFoundError, FileExistsError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1

    app.run(guarded)
