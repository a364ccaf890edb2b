"""Trains DeepDeblur: `python -m keras_deblur.train --flagfile=gopro.flags --run_dir=DIR
[--flag=value ...]`.

The flagfile names an experiment (`--experiment`, keras_deblur/experiments.py) and the data; every
training flag given, in the flagfile or after it, overrides the experiment's value (later wins).
The run directory (--run_dir) receives TensorBoard logs, checkpoints, best/, config.json, flags.txt
and the final generator.keras; rerunning the same command resumes from the last complete
checkpoint. See BUILD.md for the flagfiles and what to expect.
"""

from absl import flags

from keras_deblur import cli
from keras_deblur import flags as f


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    config = f.train_config()
    # TensorFlow starts here, after the flags are checked.
    from keras_deblur.training.loop import train

    summary = train(config, flags_text=f.training_flagfile())
    print(f"trained to step {summary['step']}; latest checkpoint {summary['checkpoint']}")
    if summary["best"]:
        print(f"best validation: {summary['best']}")
    print(f"TensorBoard: tensorboard --logdir={config.run_dir}")


if __name__ == "__main__":
    flags.mark_flag_as_required("run_dir")
    cli.run(main, f.TRAINING_FLAGS)
