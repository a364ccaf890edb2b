r"""Blur synthesis from high-speed frames: `python -m keras_deblur.data.synthesize`.

    python -m keras_deblur.data.synthesize --frames_dir=GOPRO_Large_all --output_dir=my_gopro \
        [--min_frames=7 --max_frames=13 --gamma=2.2 --test_fraction=0.3 --seed=0 --skip_bad_pairs]

An existing `--output_dir` of the same settings is resumed; other settings need `--overwrite`.
`--frames_dir` holds one folder of consecutive sharp PNG frames per sequence (for example 240 fps
video), optionally under `train/` and `test/` (that split is kept; otherwise sequences are split at
random by `--seed`). The output is a GOPRO-layout tree: `blur` (linear average), `blur_gamma`
(the paper's eq. 3 with `--gamma`) and `sharp` (the middle frame). See `blur_synthesis.py`.
"""

from keras_deblur import cli
from keras_deblur import flags as deblur_flags
from keras_deblur.data.blur_synthesis import SynthesisConfig, synthesize_tree

FLAGS_USED = (
    "frames_dir",
    "output_dir",
    "min_frames",
    "max_frames",
    "gamma",
    "test_fraction",
    "seed",
    "skip_bad_pairs",
    "overwrite",
)


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    config = SynthesisConfig(
        min_frames=deblur_flags.MIN_FRAMES.value,
        max_frames=deblur_flags.MAX_FRAMES.value,
        gamma=deblur_flags.GAMMA.value,
        test_fraction=deblur_flags.TEST_FRACTION.value,
        seed=deblur_flags.SEED.value,
        skip_bad_pairs=deblur_flags.SKIP_BAD_PAIRS.value,
    )
    result = synthesize_tree(
        deblur_flags.FRAMES_DIR.value,
        deblur_flags.OUTPUT_DIR.value,
        config,
        overwrite=deblur_flags.OVERWRITE.value,
    )
    print(
        f"wrote {result['pairs']['train']} train + {result['pairs']['test']} test pairs "
        f"to {deblur_flags.OUTPUT_DIR.value}; skipped {len(result['skipped'])} sequence(s)"
    )
    for folder, reason in result["skipped"]:
        print(f"  skipped {folder}: {reason}")


if __name__ == "__main__":
    deblur_flags.flags.mark_flags_as_required(["frames_dir", "output_dir"])
    cli.run(main, FLAGS_USED)
