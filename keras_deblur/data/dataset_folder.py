"""A dataset writer's claim on its output folder: two datasets are never mixed, one is resumed.

`claim(output_dir, writer, settings, overwrite)` runs before a writer (`data.scenes`,
`data.synthesize`) writes anything:
- a missing or empty folder: the writer and its settings are recorded in
  `<output_dir>/dataset.json`, with the git commit and package version that wrote it (for the
  record: they are not compared, since a commit that changes no pixels must not stop a resume;
  writers put a version of their pixels in their settings instead);
- a folder whose dataset.json records the same writer and settings: resumed; the writer skips the
  pairs that are done (its files are written atomically, so a file that exists is complete);
- a dataset written with other settings: refused, naming them, unless `overwrite`: then the folder
  is deleted and written anew;
- a non-empty folder without dataset.json: refused even with `overwrite` (it is not a dataset this
  package wrote, and deleting it could delete someone's data).
(The pipeline's ingest stage writes a new folder by design and refuses an existing one.)
"""

import json
import posixpath

import tensorflow as tf

import keras_deblur
from keras_deblur import file_io
from keras_deblur.errors import DataError
from keras_deblur.training import run_info

SETTINGS_FILE = "dataset.json"


def claim(output_dir, writer, settings, overwrite=False):
    """Makes `output_dir` ready for `writer` (a module name) with `settings` (JSON-able).

    Returns True if it resumes a dataset begun with the same settings. Raises DataError otherwise
    when the folder holds something else (see the module docstring).
    """
    record = {"writer": writer, "settings": json.loads(json.dumps(settings))}
    if tf.io.gfile.isdir(output_dir) and tf.io.gfile.listdir(output_dir):
        found = file_io.read_json(posixpath.join(output_dir, SETTINGS_FILE))
        if found is not None and {key: found.get(key) for key in record} == record:
            file_io.remove_dead_leftovers(output_dir)
            return True
        if found is None:
            raise DataError(
                f"--output_dir={output_dir} is not empty and holds no dataset written by {writer} "
                f"(no {SETTINGS_FILE}); choose a new or empty folder"
            )
        if not overwrite:
            raise DataError(
                f"--output_dir={output_dir} holds a dataset written with other settings "
                f"({_differences(found, record)}); choose another folder, or pass --overwrite "
                "to delete it and write this one"
            )
        tf.io.gfile.rmtree(output_dir)
    elif tf.io.gfile.exists(output_dir) and not tf.io.gfile.isdir(output_dir):
        raise DataError(f"--output_dir={output_dir} is a file, not a folder")
    tf.io.gfile.makedirs(output_dir)
    written_by = {"git_commit": run_info.git_commit(), "keras_deblur": keras_deblur.__version__}
    file_io.write_text(
        posixpath.join(output_dir, SETTINGS_FILE),
        json.dumps({**record, "written_by": written_by}, indent=2),
    )
    return False


def _differences(found, wanted):
    if found.get("writer") != wanted["writer"]:
        return f"written by {found.get('writer')}, not {wanted['writer']}"
    old, new = _flatten(found.get("settings", {})), _flatten(wanted["settings"])

    def shown(settings, key):
        # A setting the other version of the writer did not have is named as such, even when
        # this one's value is None.
        return repr(settings[key]) if key in settings else "not recorded"

    changed = [
        f"{key} {shown(old, key)} there, {shown(new, key)} now"
        for key in sorted(set(old) | set(new))
        if key not in old or key not in new or old[key] != new[key]
    ]
    return "; ".join(changed[:5])


def _flatten(settings, prefix=""):
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
