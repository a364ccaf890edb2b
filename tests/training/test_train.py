import dataclasses
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.errors import DataError
from keras_deblur.training.loop import train
from tests.training.conftest import tiny_config


def _event_tags(folder):
    tags = set()
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_run_writes_tensorboard_checkpoints_and_config(scenes_dir, tmp_path):
    run_dir = tmp_path / "run"
    summary = train(tiny_config(run_dir, scenes_dir), flags_text="--train_steps=6\n")
    assert summary["step"] == 6
    assert summary["checkpoint"].endswith("ckpt-6")
    assert summary["best"]["step"] in (3, 6)
    train_tags = _event_tags(run_dir / "train")
    assert {
        "g_loss",
        "content_loss",
        "d_loss",
        "psnr",
        "learning_rate",
        "blurry|deblurred|sharp",
    } <= train_tags
    assert {"psnr", "ssim"} <= _event_tags(run_dir / "validation")
    assert (run_dir / "generator.keras").exists()
    assert (run_dir / "flags.txt").read_text() == "--train_steps=6\n"
    assert '"git_commit"' in (run_dir / "config.json").read_text()


def test_resume_continues_from_the_last_checkpoint_and_cleans_a_kill(
    scenes_dir, tmp_path, leftover
):
    config = tiny_config(tmp_path / "run", scenes_dir, train_steps=4, num_validation_images=0)
    train(config)
    # What a kill during a save leaves: TensorFlow's temporary checkpoint folder, a half-written
    # file.
    os.makedirs(tmp_path / "run" / "checkpoints" / "ckpt-5_temp")
    (tmp_path / "run" / "checkpoints" / "ckpt-5_temp" / "part-00000-of-00001.data").write_bytes(
        b"\0" * 1000
    )
    half = leftover(tmp_path / "run", "generator.keras")
    summary = train(
        tiny_config(tmp_path / "run", scenes_dir, train_steps=6, num_validation_images=0)
    )
    assert summary["step"] == 6
    checkpoints = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
    assert checkpoints.count("ckpt-6.index") == 1 and "ckpt-5_temp" not in checkpoints
    assert half not in os.listdir(tmp_path / "run")


def test_a_finished_run_trained_on_sets_its_generator_aside_until_it_ends(
    scenes_dir, tmp_path, monkeypatch
):
    from keras_deblur import runs
    from keras_deblur.training import loop

    run = tmp_path / "run"
    train(tiny_config(run, scenes_dir, train_steps=2, num_validation_images=0))
    first = (run / "generator.keras").read_bytes()

    # Resumed to train on, then stopped before its new end (here: where it saves the generator).
    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_generator", killed)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(run, scenes_dir, train_steps=4, num_validation_images=0))
    # The run's model is not the generator of step 2 while its checkpoints are at step 4.
    assert not (run / "generator.keras").exists()
    assert (run / "generator-step2.keras").read_bytes() == first
    with pytest.raises(
        FileNotFoundError,
        match=r"when it finishes \(rerun the training command to finish it\); an earlier end's "
        r"generator is kept as .*generator-step2\.keras",
    ):
        runs.load_generator(str(run))

    monkeypatch.undo()
    summary = train(tiny_config(run, scenes_dir, train_steps=4, num_validation_images=0))
    assert summary["step"] == 4
    assert runs.load_generator(str(run)) is not None
    assert (run / "generator-step2.keras").read_bytes() == first
    # A rerun with nothing to train keeps its generator where it is.
    train(tiny_config(run, scenes_dir, train_steps=4, num_validation_images=0))
    assert sorted(p.name for p in run.glob("generator*.keras")) == [
        "generator-step2.keras",
        "generator.keras",
    ]


def test_missing_dataset_says_how_to_get_one(tmp_path):
    with pytest.raises(
        DataError,
        match=r"no training data at --data_dir=.*nowhere.*GOPRO_Large.*"
        r"python -m keras_deblur.data.scenes",
    ):
        train(tiny_config(tmp_path / "run", tmp_path / "nowhere"))
    assert not (tmp_path / "run").exists()


def test_crop_larger_than_the_images_stops_before_training(scenes_dir, tmp_path):
    from dataclasses import replace

    config = tiny_config(tmp_path / "run", scenes_dir)
    config = replace(
        config, input=replace(config.input, augment=replace(config.input.augment, crop_size=64))
    )
    with pytest.raises(
        DataError, match=r"--crop_size=64 .* needs images of at least 64x64, but .* is 48x48"
    ):
        train(config)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(scenes_dir, tmp_path):
    from keras_deblur.training.loop import TrainingDivergedError

    train(tiny_config(tmp_path / "run", scenes_dir, train_steps=2, num_validation_images=0))
    with pytest.raises(
        TrainingDivergedError, match=r"by step \d+: training stopped without saving.*ckpt-2"
    ):
        train(
            tiny_config(
                tmp_path / "run",
                scenes_dir,
                train_steps=50,
                learning_rate=1e30,
                num_validation_images=0,
                checkpoint_every_steps=1000,
            )
        )
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-2")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_saves_a_float32_generator(policy, scenes_dir, tmp_path):
    import json

    import keras

    try:
        summary = train(
            tiny_config(
                tmp_path / "run",
                scenes_dir,
                train_steps=2,
                num_validation_images=0,
                mixed_precision=policy,
            )
        )
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert summary["step"] == 2
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["precision"]
    assert recorded == {"policy": policy, "why": f"--mixed_precision={policy}"}
    # The precision to run it in is chosen where it runs, so the file holds float32 layers.
    saved = keras.saving.load_model(tmp_path / "run" / "generator.keras")
    assert saved.get_layer("scale1_conv_first").dtype_policy.name == "float32"


@pytest.mark.parametrize(
    "first, then", [("mixed_float16", "float32"), ("float32", "mixed_float16")]
)
def test_a_run_resumes_into_or_out_of_float16(first, then, scenes_dir, tmp_path):
    """Loss scaling wrapped the optimizer, so its checkpoint did not restore into a plain one or
    the other way round (a RestoreV2 dtype error): `auto` picks float16 on some GPUs only."""
    import keras

    config = tiny_config(tmp_path / "run", scenes_dir, train_steps=2, num_validation_images=0)
    try:
        train(dataclasses.replace(config, mixed_precision=first))
        summary = train(dataclasses.replace(config, train_steps=3, mixed_precision=then))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert summary["step"] == 3


@pytest.fixture
def new_winograd_units():
    """No Winograd unit made before (one per kernel shape, cached) is used, or kept after."""
    from keras_deblur import winograd_units

    units = (winograd_units.forward_unit, winograd_units.kernel_gradient_unit)
    for unit in units:
        unit.cache_clear()
    yield
    for unit in units:
        unit.cache_clear()


def test_winograd_convolutions_train_as_the_direct_ones_do(
    scenes_dir, tmp_path, monkeypatch, new_winograd_units, capfd
):
    import dataclasses

    import keras
    import tensorflow as tf

    from keras_deblur import winograd_units
    from keras_deblur.models.specs import GENERATOR_SPECS

    # The Winograd units traced for the run (each conv's value and its kernel's gradient, compiled
    # alone): none with direct convolutions.
    traced = set()
    forward, kernel_gradient = (
        winograd_units.winograd_forward,
        winograd_units.winograd_kernel_gradient,
    )
    monkeypatch.setattr(
        winograd_units,
        "winograd_forward",
        lambda x, kernel, bias: traced.add("forward") or forward(x, kernel, bias),
    )
    monkeypatch.setattr(
        winograd_units,
        "winograd_kernel_gradient",
        lambda x, kernel, dy: traced.add("kernel") or kernel_gradient(x, kernel, dy),
    )

    # 16 maps: the tiny spec's 8 are too few for Winograd convs (winograd.MIN_CHANNELS).
    spec = dataclasses.replace(GENERATOR_SPECS["tiny"], filters=16, kernel_size=5)
    saved = {}
    for algorithm in ("direct", "winograd"):
        run_dir = tmp_path / algorithm
        summary = train(
            tiny_config(
                run_dir,
                scenes_dir,
                generator=spec,
                train_steps=2,
                num_validation_images=1,
                conv_algorithm=algorithm,
                deterministic=True,
            )
        )
        assert summary["step"] == 2
        assert traced == ({"forward", "kernel"} if algorithm == "winograd" else set())
        # Beside the (tiny) discriminator, grappler's remapper printed an error line from C++ for
        # the Winograd step (`winograd_units.remapper_off`); it is on again after the run.
        assert "remapper failed" not in capfd.readouterr().err
        assert tf.config.optimizer.get_experimental_options().get("remapping", True)
        saved[algorithm] = keras.saving.load_model(run_dir / "generator.keras")
    # The same two steps from the same seed: the same weights, to float32 rounding.
    for got, expected in zip(saved["winograd"].get_weights(), saved["direct"].get_weights()):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_winograd_training_needs_convs_it_can_compute(scenes_dir, tmp_path):
    # The tiny spec's convs have 8 maps: none qualifies, and a run that would change nothing stops.
    config = tiny_config(tmp_path / "run", scenes_dir, conv_algorithm="winograd")
    with pytest.raises(ValueError, match="no conv of this generator qualifies.*--filters=8"):
        train(config)


def test_winograd_training_refuses_bf16(scenes_dir, tmp_path):
    with pytest.raises(ValueError, match="--conv_algorithm=winograd trains in float32"):
        tiny_config(
            tmp_path, scenes_dir, conv_algorithm="winograd", mixed_precision="mixed_bfloat16"
        )


def _still_step(run_dir, scenes_dir, **overrides):
    """Trains one step at lr ~ 0: the weights after it are (to float precision) the initial
    ones."""
    train(
        tiny_config(
            run_dir,
            scenes_dir,
            train_steps=1,
            learning_rate=1e-12,
            num_validation_images=0,
            **overrides,
        )
    )


def test_init_from_a_keras_file_or_a_run_directory(scenes_dir, tmp_path):
    import keras

    train(tiny_config(tmp_path / "first", scenes_dir, train_steps=2, num_validation_images=0))
    trained = keras.saving.load_model(tmp_path / "first" / "generator.keras").get_weights()
    for source in (str(tmp_path / "first" / "generator.keras"), str(tmp_path / "first")):
        run_dir = tmp_path / f"from_{os.path.basename(source)}"
        _still_step(run_dir, scenes_dir, init_from=source)
        started = keras.saving.load_model(run_dir / "generator.keras").get_weights()
        for a, b in zip(trained, started):
            np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(
        FileNotFoundError,
        match="--init_from=.*nothing is neither a .keras file nor a run directory",
    ):
        train(tiny_config(tmp_path / "bad", scenes_dir, init_from=str(tmp_path / "nothing")))


def test_init_from_a_shipped_preset_fine_tunes_it(scenes_dir, tmp_path):
    import keras

    from keras_deblur.models.generator import Generator
    from keras_deblur.models.specs import GENERATOR_SPECS

    shipped = Generator.from_preset("photo").get_weights()
    _still_step(
        tmp_path / "tuned", scenes_dir, generator=GENERATOR_SPECS["photo"], init_from="photo"
    )
    started = keras.saving.load_model(tmp_path / "tuned" / "generator.keras").get_weights()
    for a, b in zip(shipped, started, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="--init_from=photo: the preset's generator"):
        train(tiny_config(tmp_path / "mismatch", scenes_dir, init_from="photo"))


@pytest.mark.parametrize("source", ["preset", "keras", "run"])
def test_init_from_a_smaller_generator_grows_it_exactly(scenes_dir, tmp_path, rng, source):
    import dataclasses

    from keras_deblur.models.generator import Generator
    from keras_deblur.models.specs import GENERATOR_SPECS
    from keras_deblur.runs import load_generator

    shallow = Generator.from_preset("photo")
    if source == "keras":
        shallow.save(tmp_path / "shallow.keras")
    if source == "run":  # a run of the shallow spec, started from the preset
        _still_step(
            tmp_path / "shallow",
            scenes_dir,
            generator=GENERATOR_SPECS["photo"],
            init_from="photo",
            mixed_precision="float32",
        )
    sources = {"preset": "photo", "keras": str(tmp_path / "shallow.keras")}
    _still_step(
        tmp_path / "deeper",
        scenes_dir,
        generator=dataclasses.replace(
            GENERATOR_SPECS["photo"], num_resblocks=8, filters=GENERATOR_SPECS["photo"].filters + 8
        ),
        init_from=sources.get(source, str(tmp_path / "shallow")),
        mixed_precision="float32",
    )
    deeper = load_generator(str(tmp_path / "deeper"))
    assert (deeper.spec.num_resblocks, deeper.spec.filters) == (8, shallow.spec.filters + 8)
    image = rng.random((1, 40, 56, 3), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(deeper(image)[0]), np.asarray(shallow(image)[0]), atol=1e-5
    )
    narrower = dataclasses.replace(GENERATOR_SPECS["photo"], filters=16, num_resblocks=8)
    with pytest.raises(ValueError, match="does not match the generator flags"):
        train(tiny_config(tmp_path / "other", scenes_dir, generator=narrower, init_from="photo"))


def test_trains_on_tfrecord_shards_with_validation_from_shards(scenes_dir, tmp_path):
    from keras_deblur.data.pairs import discover_pairs
    from keras_deblur.data.tfrecords import write_tfrecord

    train_pairs = discover_pairs(scenes_dir, "train").pairs
    for index in range(2):
        write_tfrecord(str(tmp_path / f"train-{index}.tfrecord"), train_pairs[index::2])
    write_tfrecord(str(tmp_path / "test-0.tfrecord"), discover_pairs(scenes_dir, "test").pairs)
    config = tiny_config(
        tmp_path / "run",
        "",
        train_steps=3,
        train_tfrecords=(str(tmp_path / "train-*.tfrecord"),),
        test_tfrecords=(str(tmp_path / "test-*.tfrecord"),),
    )
    summary = train(config)
    assert summary["step"] == 3 and summary["best"]["step"] == 3
    assert {"psnr", "ssim"} <= _event_tags(tmp_path / "run" / "validation")
    with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
        train(
            tiny_config(tmp_path / "run2", "", train_tfrecords=(str(tmp_path / "none-*.tfrecord"),))
        )


def test_profile_steps_writes_a_tensorboard_profiler_trace(scenes_dir, tmp_path):
    run_dir = tmp_path / "run"
    train(
        tiny_config(
            run_dir, scenes_dir, train_steps=4, num_validation_images=0, profile_steps=(2, 3)
        )
    )
    traces = glob.glob(str(run_dir / "train" / "plugins" / "profile" / "*" / "*.xplane.pb"))
    assert len(traces) == 1 and os.path.getsize(traces[0]) > 0


def test_profile_steps_must_be_first_and_last(scenes_dir, tmp_path):
    for bad in [(3,), (3, 2), (0, 2)]:
        with pytest.raises(ValueError, match="--profile_steps"):
            tiny_config(tmp_path / "run", scenes_dir, profile_steps=bad)


def test_a_second_training_on_the_same_run_dir_is_refused_naming_the_first(scenes_dir, tmp_path):
    from keras_deblur.training import run_lock

    config = tiny_config(tmp_path / "run", scenes_dir, train_steps=2, num_validation_images=0)
    with run_lock.hold(str(tmp_path / "run")):  # another training holds the folder
        with pytest.raises(
            run_lock.RunDirectoryBusyError,
            match=rf"--run_dir=.*run is in use by another training \(process {os.getpid()}\)",
        ):
            train(config)
    assert not (tmp_path / "run" / "checkpoints").exists()
    # A lock file left by a run that died holds no lock: the next training goes ahead.
    (tmp_path / "run").mkdir(exist_ok=True)
    (tmp_path / "run" / ".lock").write_text("999999\n")
    assert train(config)["step"] == 2


def test_a_run_stopped_before_it_wrote_anything_leaves_no_folder(scenes_dir, tmp_path):
    from keras_deblur.training import run_lock

    with pytest.raises(ValueError, match="bad data"):
        with run_lock.hold(str(tmp_path / "new")):
            raise ValueError("bad data")
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    with run_lock.hold(str(tmp_path / "mine")):  # a folder the user made is theirs to keep
        pass
    assert (tmp_path / "mine").is_dir()
    (tmp_path / "a_file").write_text("notes")
    with pytest.raises(ValueError, match=r"--run_dir=.*a_file is a file; name a folder"):
        with run_lock.hold(str(tmp_path / "a_file")):
            pass


def test_several_steps_per_call_train_the_same_and_stop_at_the_same_steps(scenes_dir, tmp_path):
    import glob

    import keras

    weights, checkpoints, logged = {}, {}, {}
    for steps_per_loop in (1, 5):
        run_dir = tmp_path / f"loop{steps_per_loop}"
        train(
            tiny_config(
                run_dir,
                scenes_dir,
                train_steps=7,
                steps_per_loop=steps_per_loop,
                deterministic=True,
                checkpoint_every_steps=3,
                log_every_steps=2,
                validate_every_steps=4,
            )
        )
        weights[steps_per_loop] = keras.saving.load_model(run_dir / "generator.keras").get_weights()
        checkpoints[steps_per_loop] = sorted(os.listdir(run_dir / "checkpoints"))
        events = glob.glob(str(run_dir / "train" / "events.out.tfevents.*"))
        logged[steps_per_loop] = sorted(
            {
                e.step
                for path in events
                for e in tf.compat.v1.train.summary_iterator(path)
                if any(v.tag == "g_loss" for v in e.summary.value)
            }
        )
    for a, b in zip(weights[1], weights[5]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert checkpoints[1] == checkpoints[5] and "ckpt-6.index" in checkpoints[5]
    assert logged[1] == logged[5] == [2, 4, 6]


def test_a_training_refused_in_a_race_for_a_new_folder_leaves_the_winners_lock(
    tmp_path, monkeypatch
):
    from keras_deblur.training import run_lock

    run_dir = str(tmp_path / "new")
    with run_lock.hold(run_dir):  # the winner, running
        # The loser saw no folder either, just before the winner made it.
        monkeypatch.setattr(run_lock.os.path, "exists", lambda path: False)
        with pytest.raises(run_lock.RunDirectoryBusyError):
            with run_lock.hold(run_dir):
                pass
        monkeypatch.undo()
        assert os.listdir(run_dir) == [".lock"]


def test_a_kill_between_the_best_checkpoint_and_its_record_is_repaired(tmp_path, monkeypatch):
    """best.json was written after the best checkpoint: a kill between the two left the record
    of the checkpoint before, and a later validation between the two scores replaced the best
    weights."""
    import json
    import math

    from keras_deblur.models import build_generator_from_spec
    from keras_deblur.training import actions

    generator = build_generator_from_spec("tiny")
    best = actions.Best(str(tmp_path), generator)
    best.offer(1, {"psnr": 20.0, "ssim": math.nan})

    def killed(path, text):
        raise KeyboardInterrupt

    monkeypatch.setattr(actions, "write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        best.offer(2, {"psnr": 25.0, "ssim": math.nan})
    monkeypatch.undo()
    assert json.loads((tmp_path / "best" / "best.json").read_text())["step"] == 1
    again = actions.Best(str(tmp_path), generator)
    assert again.record["step"] == 2 and again.record["psnr"] == 25.0
    assert json.loads((tmp_path / "best" / "best.json").read_text())["step"] == 2
    again.offer(3, {"psnr": 22.0, "ssim": math.nan})  # worse than the checkpoint: kept
    assert tf.train.latest_checkpoint(str(tmp_path / "best")).endswith("ckpt-2")


@pytest.mark.parametrize(
    "name, value",
    [
        ("train_minutes", float("inf")),  # was an OverflowError traceback in the budget's plan
        ("train_minutes", float("nan")),  # trained, then failed at the first plan
        ("learning_rate", float("nan")),
        ("lr_decay_factor", -10.0),  # trained to a loss of 1e18 and exited 0
        ("lr_decay_factor", 0.0),
        ("adversarial_weight", float("nan")),  # trained without the discriminator
        ("seed", -1),  # Keras's message did not name the flag
    ],
)
def test_numbers_that_cannot_train_are_refused_before_the_run(scenes_dir, tmp_path, name, value):
    with pytest.raises(ValueError, match=f"--{name} must be "):
        tiny_config(tmp_path / "run", scenes_dir, **{name: value})
    assert not os.path.exists(tmp_path / "run")


def test_each_split_comes_from_the_flag_given_for_it(scenes_dir, tmp_path):
    """--train_tfrecords or --test_tfrecords took both splits: beside --data_dir (a flagfile's,
    say), the other split's source was dropped without a word and validation was off."""
    from keras_deblur.data.pairs import Pair, discover_pairs
    from keras_deblur.data.tfrecords import write_tfrecord
    from keras_deblur.training.assembly import discover

    shard = str(tmp_path / "pairs.tfrecord")
    write_tfrecord(shard, discover_pairs(scenes_dir, "test", "blur").pairs, "png")
    train, validation = discover(tiny_config(tmp_path / "a", scenes_dir, test_tfrecords=(shard,)))
    assert len(train) == 6 and all(isinstance(pair, Pair) for pair in train)
    assert validation == (shard,)
    train, validation = discover(tiny_config(tmp_path / "b", scenes_dir, train_tfrecords=(shard,)))
    assert train == (shard,)
    assert len(validation) == 2 and all(isinstance(pair, Pair) for pair in validation)


def test_a_damaged_init_from_file_is_named_as_such(scenes_dir, tmp_path):
    """Keras said "File not found" of a file that is there."""
    damaged = tmp_path / "generator.keras"
    damaged.write_bytes(b"PK\x03\x04 cut short")
    config = tiny_config(tmp_path / "run", scenes_dir, init_from=str(damaged))
    with pytest.raises(ValueError, match=r"generator.keras is not a Keras model file .*damaged"):
        train(config)


def test_a_run_without_validation_reports_no_best(scenes_dir, tmp_path):
    """It printed "best validation: {'psnr': -inf}"."""
    config = tiny_config(tmp_path / "run", scenes_dir, train_steps=1, validate_every_steps=100)
    assert train(config)["best"] is None
