"""Exports a trained generator for TF Serving:
`python -m keras_deblur.export --run_dir=<run> --export_dir=savedmodels/<model_name>
[--export_version=N]`, or the model the package ships: `--preset=photo` instead of `--run_dir`.
`--ensemble=N` makes the signatures average over N flips and transpositions (2, 4 or 8; N times
the time).

Writes `<export_dir>/<version>/` (see `serving/saved_model.py` for the signatures and the atomic
write), its warm-up requests, the run's metadata, and `models.config` beside the model folders.
"""

import os

from absl import flags

from keras_deblur import cli
from keras_deblur import flags as f
from keras_deblur.runs import generator_to_export
from keras_deblur.training import run_info

FLAGS_USED = ("run_dir", "model_dir", "preset", "export_dir", "export_version", "ensemble")


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    from keras_deblur.serving import saved_model

    generator, origin = generator_to_export(f.run_dir(), f.PRESET.value)
    metadata = {
        **origin,
        "exported_with": {
            "git_commit": run_info.git_commit(),
            "versions": run_info.package_versions(),
        },
    }
    path = saved_model.export(
        generator, f.EXPORT_DIR.value, f.EXPORT_VERSION.value, metadata, f.ENSEMBLE.value
    )
    print(f"exported {path}")
    base = (
        os.path.abspath(f.EXPORT_DIR.value)
        if "://" not in f.EXPORT_DIR.value
        else f.EXPORT_DIR.value
    )
    print(
        f"serve it: tensorflow_model_server --rest_api_port=8501 --port=8500 "
        f"--model_name={os.path.basename(base.rstrip('/'))} --model_base_path={base}"
    )


if __name__ == "__main__":
    flags.mark_flags_as_required(["export_dir"])
    cli.run(main, FLAGS_USED)
