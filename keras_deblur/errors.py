"""The project's error for bad input, which every command reports as one `error:` line (cli.py),
and TensorFlow's error messages made fit for such a line."""

import re


class DataError(ValueError):
    """A data file, folder or value that cannot be used; the message names it."""


def op_message(message):
    """A TensorFlow error's message (`tf.errors.OpError.message`) without the op's internals around
    what it says: "{{function_node __wrapped__DecodePng...}} WHAT [Op:DecodePng]" -> "WHAT"."""
    return re.sub(r"\s*\[Op:\w+\]", "", re.sub(r"\{\{.*?\}\}\s*", "", message))
