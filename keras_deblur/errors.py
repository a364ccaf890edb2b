"""The project's error for bad input, which every command reports as one `error:` line (cli.py),
and TensorFlow's error messages made fit for such a line."""

import re


class DataError(ValueError):
    """A data file, folder or value that cannot be used; the message names it."""


def op_message(message):
    """A TensorFlow error's message (`tf.errors.OpError.message`) without the op's internals around
    what it says: "{{function_node __wrapped__DecodePng...}} WHAT [Op:DecodePng]" -> "WHAT"."""
    return re.sub(r"\s*\[Op:\w+\]", "", re.sub(r"\{\{.*?\}\}\s*", "", message))


# How an in-graph check on the data (`tf.debugging.Assert`, its first item) starts its message, by
# which the command line tells it from a bug (`failed_data_check`): raised inside tf.data or a
# step, it reaches the command as a TensorFlow error.
DATA_CHECK = "data check: "


def failed_data_check(message):
    """What a failed data check says, as one line, from a TensorFlow error's message
    ("... assertion failed: [data check: WHAT] [MORE] ..." -> "WHAT MORE"); None for another."""
    if not isinstance(message, str) or f"[{DATA_CHECK}" not in message:
        return None
    said = message[message.index(f"[{DATA_CHECK}") + len(DATA_CHECK) + 1 :].splitlines()[0]
    return re.sub(r"\] \[", " ", said).rstrip("]").strip()
