"""A resumable record of scored images: `<output_dir>/per_image.jsonl`.

The first line is a header naming what is evaluated (the model's and the test set's fingerprints
and the settings); each later line is one image's row, written and fsynced as soon as the image is
scored. A rerun with the same header skips the images already in the file, so an evaluation that
was killed (hours with the paper model on a CPU) resumes where it stopped. A line cut short by the
kill is dropped and that image scored again. A file with another header (a different model, test
set or setting) is set aside as `per_image.jsonl.replaced`, never silently mixed in.
"""

import json
import os

from absl import logging

LOG_NAME = "per_image.jsonl"


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
                raise ValueError(f"{path}: line {index + 1} is not JSON; the log is damaged, delete it") from None
            logging.warning("%s: dropping a last line cut short (that image is scored again)", path)
    return records


class ProgressLog:
    """Rows already scored for `header`, and appends new ones durably."""

    def __init__(self, output_dir, header):
        self.path = os.path.join(output_dir, LOG_NAME)
        self.rows = {}
        records = _read_lines(self.path) if os.path.exists(self.path) else []
        if records and records[0].get("header") == header:
            self.rows = {row["name"]: row for row in records[1:]}
        elif records:
            logging.warning("%s records another model, test set or setting: moved to %s.replaced",
                            self.path, self.path)
            os.replace(self.path, f"{self.path}.replaced")
        # Rewritten whole (then renamed) so that a line cut short is gone before we append after it.
        temporary = f"{self.path}.tmp"
        self._write_lines(temporary, [{"header": header}, *self.rows.values()], mode="w")
        os.replace(temporary, self.path)

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
