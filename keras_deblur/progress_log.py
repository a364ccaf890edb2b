"""A resumable record of work done item by item, as JSON lines (evaluation's `per_image.jsonl`,
the scene renderer's log).

The first line is a header naming what the work is (for evaluation: the model's and the test set's
fingerprints and the settings); each later line is one item's row (a dict with a "name"), written
and fsynced as soon as the item is done. A rerun with the same header skips the items already in
the file, so work that was killed (hours of evaluating the paper model on a CPU) resumes where it
stopped. A line cut short by the kill is dropped and that item done again. A file with another
header is refused (a FileExistsError naming what differs), or with `replace` set aside as
`<file>.replaced` (`.replaced2`, ... if that exists); it is never silently mixed in.
"""

import json
import os

from absl import logging

from keras_deblur import file_io


def _read_lines(path):
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    records = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if index < len(lines) - 2:  # only the last line can be cut short by a kill
                raise ValueError(
                    f"{path}: line {index + 1} is not JSON; the log is damaged, delete it"
                ) from None
            logging.warning("%s: dropping a last line cut short (that item is done again)", path)
    return records


class ProgressLog:
    """Rows already done for `header`, and appends new ones durably."""

    def __init__(self, path, header, replace=False, hint=""):
        """`hint`: what to do instead, appended to the error for a file of other work."""
        self.path = path
        header = json.loads(json.dumps(header))  # as it reads back: tuples become lists
        self.rows = {}
        self.replaced = False  # whether a file of other work was set aside
        records = _read_lines(self.path) if os.path.exists(self.path) else []
        if records and records[0].get("header") == header:
            self.rows = {row["name"]: row for row in records[1:]}
        elif records and not replace:
            there = records[0].get("header") or {}
            differ = sorted(key for key in {*there, *header} if there.get(key) != header.get(key))
            raise FileExistsError(
                f"{self.path} records other work (not this run's: {', '.join(differ)})"
                + (f"; {hint}" if hint else "")
            )
        elif records:
            aside = f"{self.path}.replaced"
            number = 1
            while os.path.exists(aside):  # an earlier replacement's rows are kept too
                number += 1
                aside = f"{self.path}.replaced{number}"
            logging.warning(
                "%s records other work (another model, data or setting): moved to %s",
                self.path,
                aside,
            )
            os.replace(self.path, aside)
            self.replaced = True
        # Rewritten whole (then renamed) so that a line cut short is gone before we append after it.
        with file_io.atomic_path(self.path) as temporary:
            self._write_lines(temporary, [{"header": header}, *self.rows.values()], mode="w")

    def append(self, row):
        self._write_lines(self.path, [row], mode="a")
        self.rows[row["name"]] = row

    @staticmethod
    def _write_lines(path, records, mode):
        with open(path, mode, encoding="utf-8") as file:
            for record in records:
                file.write(json.dumps(record, sort_keys=True, allow_nan=True) + "\n")
            file.flush()
            os.fsync(file.fileno())
