"""Imports the authors' released PyTorch weights:
`python -m keras_deblur.import_weights --torch_checkpoint=<file.pt> [--output=<file.keras>]
[--export_dir=savedmodels/<name>]` (at least one of the two outputs).

The checkpoint is read without PyTorch and without unpickling anything but tensors and dicts
(`importing/torch_pickle.py`); its generator is mapped by name and shape onto our `pixel_shuffle`
generator, with biases divided by 255 for our [0, 1] pixel range (`importing/deepdeblur_torch.py`).
The .keras file is written atomically and never replaces an existing file.
"""

import os

from absl import flags

from keras_deblur import cli
from keras_deblur import flags as f


def import_checkpoint(torch_checkpoint):
    """(Keras generator, architecture dict) of a DeepDeblur PyTorch checkpoint file."""
    from keras_deblur.importing import deepdeblur_torch, torch_pickle

    state = deepdeblur_torch.generator_state_dict(
        torch_pickle.load(torch_checkpoint), torch_checkpoint
    )
    return deepdeblur_torch.build_imported_generator(state, torch_checkpoint)


FLAGS_USED = ("torch_checkpoint", "output", "export_dir", "export_version")


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    if not f.OUTPUT_KERAS.value and not f.EXPORT_DIR.value:
        raise ValueError("give --output=<file.keras>, --export_dir=savedmodels/<name>, or both")
    output = f.OUTPUT_KERAS.value
    if output and not output.endswith(".keras"):
        raise ValueError(f"--output={output} must end in .keras")
    if output and os.path.exists(
        output
    ):  # checked before the import too: fail before the slow part
        raise FileExistsError(f"--output={output} exists already; choose another name or delete it")
    if f.EXPORT_DIR.value:  # an export that cannot be written stops us before --output is written
        from keras_deblur.serving.saved_model import new_version_dir

        new_version_dir(f.EXPORT_DIR.value, f.EXPORT_VERSION.value)
    from keras_deblur.runs import save_generator

    generator, architecture = import_checkpoint(f.TORCH_CHECKPOINT.value)
    print(
        f"imported {f.TORCH_CHECKPOINT.value}: "
        + ", ".join(f"{k}={v}" for k, v in architecture.items())
        + f", {generator.count_params():,} parameters"
    )
    if output:
        save_generator(generator, output, overwrite=False)
        print(f"wrote {output}")
    if f.EXPORT_DIR.value:
        from keras_deblur.serving import saved_model
        from keras_deblur.training import run_info

        metadata = {
            "source": {
                "torch_checkpoint": os.path.abspath(f.TORCH_CHECKPOINT.value),
                **architecture,
            },
            "exported_with": {
                "git_commit": run_info.git_commit(),
                "versions": run_info.package_versions(),
            },
        }
        print(
            f"exported "
            f"{saved_model.export(generator, f.EXPORT_DIR.value, f.EXPORT_VERSION.value, metadata)}"
        )
    return 0


if __name__ == "__main__":
    flags.mark_flags_as_required(["torch_checkpoint"])
    cli.run(main, FLAGS_USED)
