import csv
import json
import math
import os
import posixpath
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.data import images
from keras_deblur.data.blur_math import to_uint8
from keras_deblur.data.pairs import discover_pairs
from keras_deblur.data.tfrecords import write_tfrecord
from keras_deblur.evaluation import evaluator, report
from keras_deblur.evaluation.dataset import load_test_set
from keras_deblur.models import build_generator_from_spec
from keras_deblur.serving import saved_model

SIZES = [
    (48, 64),
    (24, 40),
    (64, 48),
    (30, 30),
    (48, 48),
]  # mixed sizes, one too small for 2 MS-SSIM scales


@pytest.fixture(scope="module")
def test_tree(tmp_path_factory):
    """5 test pairs of mixed sizes: smooth sharp images and a shifted average as the blurry one."""
    rng = np.random.default_rng(3)
    root = str(tmp_path_factory.mktemp("gopro"))
    for index, (height, width) in enumerate(SIZES):
        sharp = tf.image.resize(rng.random((1, height // 4, width // 4, 3)), (height, width))[
            0
        ].numpy()
        blurry = (sharp + np.roll(sharp, 2, axis=1) + np.roll(sharp, 4, axis=1)) / 3
        frame = f"{index:06d}.png"
        images.write_png(posixpath.join(root, "test", "seq", "blur_gamma", frame), to_uint8(blurry))
        images.write_png(posixpath.join(root, "test", "seq", "sharp", frame), to_uint8(sharp))
    return root


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    generator = build_generator_from_spec("tiny")
    path = str(tmp_path_factory.mktemp("model") / "generator.keras")
    generator.save(path)
    return path


class _Killed(Exception):
    pass


def _counting(model, fail_after=None):
    calls = []

    def forward(blurry):
        if fail_after is not None and len(calls) == fail_after:
            raise _Killed()
        calls.append(blurry.shape)
        return model.forward(blurry)

    return evaluator.ModelUnderTest(forward, model.info), calls


def _scores_only(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _read_csv_rows(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def test_evaluation_writes_every_output(test_tree, generator_file, tmp_path):
    model = evaluator.keras_model(generator_file)
    summary = evaluator.evaluate(
        model, load_test_set(test_tree), str(tmp_path), all_scales=True, verbose=0
    )
    rows = _read_csv_rows(tmp_path / "per_image.csv")
    assert [int(r["height"]) for r in rows] == [h for h, _ in SIZES]
    assert summary["deblurred"]["psnr"] == pytest.approx(np.mean([float(r["psnr"]) for r in rows]))
    assert summary["blurry"]["psnr"] == pytest.approx(
        np.mean([float(r["blurry_psnr"]) for r in rows])
    )
    assert summary["gain"]["psnr"] == pytest.approx(
        summary["deblurred"]["psnr"] - summary["blurry"]["psnr"]
    )
    assert [int(r["ms_ssim_scales"]) for r in rows] == [3, 2, 3, 2, 3]
    assert set(summary["scales"]) == {"1", "2"}
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["test_set"]["fingerprint"] == summary["test_set"]["fingerprint"]
    assert on_disk["model"]["num_scales"] == 3 and on_disk["num_images"] == 5
    figures = sorted(os.listdir(tmp_path / "figures"))
    assert figures == ["example_0.png", "example_1.png", "example_2.png", "psnr_gain.png"]
    assert tf.io.decode_png(tf.io.read_file(str(tmp_path / "figures" / "example_0.png"))).shape[
        -1
    ] in (3, 4)
    events = [
        e
        for f in tf.io.gfile.glob(str(tmp_path / "events.out.tfevents.*"))
        for e in tf.compat.v1.train.summary_iterator(f)
    ]
    tags = {v.tag for e in events for v in e.summary.value}
    assert {"evaluation/deblurred/psnr", "evaluation/gain/ssim", "evaluation/psnr_gain"} <= tags


def test_the_blurry_baseline_is_the_input_scored(test_tree, tmp_path, leftover):
    killed = leftover(tmp_path / "figures", "example_0.png")  # a figure write killed midway
    in_progress = leftover(
        tmp_path / "figures", "example_1.png", pid=os.getpid()
    )  # another writer's, alive
    identity = evaluator.ModelUnderTest(
        lambda blurry: [blurry], {"fingerprint": "identity", "kind": "keras"}
    )
    summary = evaluator.evaluate(
        identity, load_test_set(test_tree), str(tmp_path), num_examples=0, verbose=0
    )
    for key in ("psnr", "ssim", "ms_ssim"):
        assert summary["gain"][key] == pytest.approx(0.0, abs=1e-6)
    assert 15 < summary["blurry"]["psnr"] < 40
    assert sorted(os.listdir(tmp_path / "figures")) == [
        in_progress,
        "psnr_gain.png",
    ]  # killed's is gone
    assert killed not in os.listdir(tmp_path / "figures")


def test_pairs_whose_blurry_image_is_the_sharp_one_are_scored(tmp_path):
    """A static scene's blurry frame equals its sharp one: infinite PSNR, whose gain the
    histogram could not bin, so the evaluation failed after scoring every pair."""
    rng = np.random.default_rng(4)
    root = str(tmp_path / "gopro")
    for index in range(2):
        sharp = to_uint8(rng.random((16, 20, 3)))
        for key in ("blur_gamma", "sharp"):
            images.write_png(posixpath.join(root, "test", "seq", key, f"{index:06d}.png"), sharp)
    identity = evaluator.ModelUnderTest(
        lambda blurry: [blurry], {"fingerprint": "identity", "kind": "keras"}
    )
    summary = evaluator.evaluate(
        identity, load_test_set(root), str(tmp_path / "eval"), num_examples=0, verbose=0
    )
    assert summary["num_images"] == 2 and math.isinf(summary["blurry"]["psnr"])
    assert os.path.exists(tmp_path / "eval" / "figures" / "psnr_gain.png")
    assert len(_read_csv_rows(tmp_path / "eval" / "per_image.csv")) == 2


def test_an_interrupted_evaluation_resumes_where_it_stopped(test_tree, generator_file, tmp_path):
    model = evaluator.keras_model(generator_file)
    test_set = load_test_set(test_tree)
    reference = evaluator.evaluate(model, test_set, str(tmp_path / "whole"), verbose=0)

    interrupted, calls = _counting(model, fail_after=3)
    with pytest.raises(_Killed):
        evaluator.evaluate(interrupted, test_set, str(tmp_path / "resumed"), verbose=0)
    assert len(calls) == 3
    with open(tmp_path / "resumed" / "per_image.jsonl", "a") as log:
        log.write('{"name": "seq/0000')  # a line cut short by the kill
    resumed, calls = _counting(model)
    summary = evaluator.evaluate(resumed, test_set, str(tmp_path / "resumed"), verbose=0)
    assert len(calls) == 2  # only the two images not scored before
    assert summary["deblurred"] == pytest.approx(reference["deblurred"])
    assert _scores_only(_read_csv_rows(tmp_path / "resumed" / "per_image.csv")) == _scores_only(
        _read_csv_rows(tmp_path / "whole" / "per_image.csv")
    )
    again, calls = _counting(model)
    evaluator.evaluate(again, test_set, str(tmp_path / "resumed"), verbose=0)
    assert calls == []  # everything was scored already


def test_another_model_is_refused_unless_overwrite_then_the_old_log_is_kept(
    test_tree, generator_file, tmp_path
):
    model = evaluator.keras_model(generator_file)
    evaluator.evaluate(model, load_test_set(test_tree, max_images=2), str(tmp_path), verbose=0)
    written = {name: (tmp_path / name).read_bytes() for name in ("metrics.json", "per_image.csv")}
    other, calls = _counting(
        evaluator.ModelUnderTest(model.forward, {**model.info, "fingerprint": "other"})
    )
    with pytest.raises(FileExistsError, match=r"records other work \(not this run's: model\)"):
        evaluator.evaluate(other, load_test_set(test_tree, max_images=2), str(tmp_path), verbose=0)
    assert calls == []
    assert {name: (tmp_path / name).read_bytes() for name in written} == written
    assert sorted(os.listdir(tmp_path / "figures")) == [
        "example_0.png",
        "example_1.png",
        "psnr_gain.png",
    ]
    evaluator.evaluate(
        other,
        load_test_set(test_tree, max_images=2),
        str(tmp_path),
        verbose=0,
        overwrite=True,
        num_examples=0,
    )
    assert len(calls) == 2
    assert (tmp_path / "per_image.jsonl.replaced").exists()
    # The replaced evaluation's figures and events were kept, and logged as this one's.
    assert os.listdir(tmp_path / "figures") == ["psnr_gain.png"]
    assert len([n for n in os.listdir(tmp_path) if n.startswith("events.out")]) == 1
    third = evaluator.ModelUnderTest(model.forward, {**model.info, "fingerprint": "third"})
    evaluator.evaluate(
        third, load_test_set(test_tree, max_images=2), str(tmp_path), verbose=0, overwrite=True
    )
    assert (tmp_path / "per_image.jsonl.replaced").exists()  # a second replacement kept it
    assert (tmp_path / "per_image.jsonl.replaced2").exists()


def test_bf16_evaluation_scores_the_same_weights_and_never_resumes_an_fp32_log(
    test_tree, generator_file, tmp_path
):
    fp32 = evaluator.evaluate(
        evaluator.keras_model(generator_file), load_test_set(test_tree), str(tmp_path), verbose=0
    )
    bf16, calls = _counting(evaluator.keras_model(generator_file, "mixed_bfloat16"))
    summary = evaluator.evaluate(
        bf16, load_test_set(test_tree), str(tmp_path), verbose=0, overwrite=True
    )
    assert len(calls) == len(SIZES)
    assert (summary["settings"]["precision"], fp32["settings"]["precision"]) == (
        "mixed_bfloat16",
        "float32",
    )
    assert abs(summary["deblurred"]["psnr"] - fp32["deblurred"]["psnr"]) < 0.5


def test_export_and_keras_model_score_the_same(test_tree, generator_file, tmp_path):
    export = saved_model.export(
        keras.saving.load_model(generator_file), str(tmp_path / "savedmodels" / "m")
    )
    test_set = load_test_set(test_tree, max_images=3)
    from_keras = evaluator.evaluate(
        evaluator.keras_model(generator_file),
        test_set,
        str(tmp_path / "k"),
        num_examples=0,
        verbose=0,
    )
    from_export = evaluator.evaluate(
        evaluator.exported_model(str(tmp_path / "savedmodels" / "m")),
        test_set,
        str(tmp_path / "e"),
        num_examples=0,
        verbose=0,
    )
    assert from_export["deblurred"] == pytest.approx(from_keras["deblurred"], abs=1e-4)
    assert from_export["model"]["source"] == export and from_export["model"]["num_scales"] == 3
    with pytest.raises(ValueError, match="--all_scales needs --run_dir"):
        evaluator.evaluate(
            evaluator.exported_model(export), test_set, str(tmp_path / "e"), all_scales=True
        )


def test_fingerprint_is_the_content_whatever_the_container(test_tree, tmp_path):
    tree = load_test_set(test_tree)
    shard = str(tmp_path / "test.tfrecord")
    write_tfrecord(shard, discover_pairs(test_tree, "test").pairs)
    assert load_test_set(test_tfrecords=[shard]).fingerprint() == tree.fingerprint()
    assert load_test_set(test_tree, max_images=4).fingerprint()[0] != tree.fingerprint()[0]
    changed = str(tmp_path / "changed")
    shutil.copytree(test_tree, changed)
    sharp = posixpath.join(changed, "test", "seq", "sharp", "000001.png")
    pixels = images.read_png(sharp)
    pixels[0, 0, 0] = 1.0 - pixels[0, 0, 0]
    images.write_png(sharp, to_uint8(pixels))
    assert load_test_set(changed).fingerprint()[0] != tree.fingerprint()[0]


def test_compare_lays_models_side_by_side_only_on_the_same_test_set(
    test_tree, generator_file, tmp_path
):
    model = evaluator.keras_model(generator_file)
    identity = evaluator.ModelUnderTest(
        lambda blurry: [blurry], {"fingerprint": "identity", "kind": "keras", "num_scales": 1}
    )
    evaluator.evaluate(
        identity, load_test_set(test_tree), str(tmp_path / "k1"), num_examples=0, verbose=0
    )
    evaluator.evaluate(
        model, load_test_set(test_tree), str(tmp_path / "k3"), num_examples=0, verbose=0
    )
    table = report.compare_table([str(tmp_path / "k1"), str(tmp_path / "k3" / "metrics.json")])
    assert "| Measure | Blurry | K=1 | K=3 |" in table
    psnr_line = next(line for line in table.splitlines() if line.startswith("| PSNR"))
    blurry, k1, _ = (float(cell) for cell in psnr_line.strip("|").split("|")[1:])
    assert k1 == pytest.approx(blurry, abs=0.01)
    evaluator.evaluate(
        model,
        load_test_set(test_tree, max_images=2),
        str(tmp_path / "fewer"),
        num_examples=0,
        verbose=0,
    )
    with pytest.raises(ValueError, match="different test sets"):
        report.compare_table([str(tmp_path / "k3"), str(tmp_path / "fewer")])
    with pytest.raises(FileNotFoundError, match="no evaluation at"):
        report.compare_table([str(tmp_path / "nowhere")])
    # Each was a message naming no file, or a KeyError's traceback.
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "dataset.json").write_text('{"pairs": 3}')
    with pytest.raises(ValueError, match=f"{tmp_path}/empty.json is not a JSON document"):
        report.compare_table([str(tmp_path / "empty.json")])
    with pytest.raises(ValueError, match=f"{tmp_path}/dataset.json is not an evaluation's"):
        report.compare_table([str(tmp_path / "k3"), str(tmp_path / "dataset.json")])


def test_bad_test_set_arguments_are_named(test_tree):
    with pytest.raises(ValueError, match="exactly one of --data_dir"):
        load_test_set()
    with pytest.raises(ValueError, match="--max_images must be >= 1, got 0"):
        load_test_set(test_tree, max_images=0)
    with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
        load_test_set(test_tfrecords=["/nonexistent/*.tfrecord"])
    assert math.isfinite(load_test_set(test_tree).fingerprint()[1])


def test_a_keras_model_runs_mixed_sizes_with_one_trace(generator_file, test_tree):
    model = evaluator.keras_model(generator_file)
    for height, width in SIZES:
        outputs = model.forward(tf.zeros((1, height, width, 3)))
        assert outputs[0].shape == (1, height, width, 3)
    assert model.forward.experimental_get_tracing_count() == 1


def test_a_bf16_trained_model_is_evaluated_in_fp32_by_default(tmp_path):
    from keras_deblur.models.generator import with_dtype_policy
    from keras_deblur.precision import dtype_policy

    with dtype_policy("mixed_bfloat16"):
        generator = build_generator_from_spec("tiny")
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    image = tf.random.stateless_uniform((1, 24, 32, 3), seed=(1, 2))
    expected = with_dtype_policy(generator, "float32")(image)[0]
    np.testing.assert_allclose(evaluator.keras_model(path).forward(image)[0], expected, atol=1e-6)
