"""The project's error for bad input, which every command reports as one `error:` line (cli.py)."""


class DataError(ValueError):
    """A data file, folder or value that cannot be used; the message names it."""
