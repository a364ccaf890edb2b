"""Stage 1, ingest: a GOPRO-layout tree -> validated, sharded TFRecords plus a manifest, on Apache
Beam.

Runs in process on Beam's Python runner (FnApiRunner) by default, touching no network; `beam_args`
(the pipeline's `--beam_pipeline_args`) selects any other runner (`--runner=FlinkRunner ...`,
`--runner=DataflowRunner --project=...`) for data that outgrow
one machine. Listing the tree happens in the driver (cheap); reading, validating and encoding every
pair happens in Beam workers.

Every pair is checked: both files decode as PNG, have the same size, and the sharp image is not a
single flat value (an all-black or all-white frame, which a broken export produces); pairs with the
same content (SHA-256 of both files) anywhere in the dataset are reported too, since a pair in both
splits would leak test data into training. Bad pairs stop the stage with every problem listed, or,
with `skip_bad_pairs`, are left out and counted in the manifest. Duplicates always stop it.

Outputs, written to a temporary folder renamed into place at the end (a failed run leaves nothing):
`<output_dir>/{train,test}-SSSSS-of-NNNNN.tfrecord` in `keras_deblur.data.tfrecords`'s pair format
(the train split as raw pixels, the test split as the PNG bytes: `SPLIT_PIXELS`), and
`manifest.json`: per split the pair count, image sizes, mean blurry-vs-sharp PSNR, and the sorted
list of (name, sha256 blurry, sha256 sharp) checksums.

The same source and settings give byte-identical shards on every run and runner (so the pipeline's
content-addressed stages after ingest are reused): pair i of a split, in name order, goes to shard
i mod N, and each shard holds its pairs in name order. (Beam's own sharded writers place elements
at random.) A split with fewer pairs than shards has fewer shard files.
"""

import hashlib
import json
import os

import numpy as np

from keras_deblur import file_io
from keras_deblur.data.pairs import DEFAULT_BLUR_KEY, SPLITS, Pair, discover_pairs
from keras_deblur.data.tfrecords import write_tfrecord
from keras_deblur.errors import DataError
from pipelines.beam_setup import PipelineOptions, beam, runner

PROBLEM = "problem"
# Training reads every pair once per epoch: raw pixels spare it the PNG decoding, ~70% of its input
# cost on a CPU (BUILD.md, "bench input"), for shards ~1.5-2x larger. Evaluation reads each pair
# once, and its fingerprint of PNG bytes equals the PNG tree's.
SPLIT_PIXELS = {"train": "raw", "test": "png"}


def _validate(entry):
    """Reads and checks one pair; yields its record, or a tagged problem."""
    import tensorflow as tf

    from keras_deblur import metrics

    split, shard, name, blurry_path, sharp_path = entry
    try:
        blurry_png = tf.io.gfile.GFile(blurry_path, "rb").read()
        sharp_png = tf.io.gfile.GFile(sharp_path, "rb").read()
        blurry = tf.io.decode_png(blurry_png, channels=3).numpy()
        sharp = tf.io.decode_png(sharp_png, channels=3).numpy()
    except (OSError, tf.errors.OpError) as error:
        yield beam.pvalue.TaggedOutput(
            PROBLEM, f"{split}/{name}: cannot read or decode: {str(error)[:200]}"
        )
        return
    if blurry.shape != sharp.shape:
        yield beam.pvalue.TaggedOutput(
            PROBLEM,
            f"{split}/{name}: blurry {blurry.shape[1]}x{blurry.shape[0]} vs sharp "
            f"{sharp.shape[1]}x{sharp.shape[0]}",
        )
        return
    if sharp.min() == sharp.max():
        yield beam.pvalue.TaggedOutput(
            PROBLEM, f"{split}/{name}: the sharp image is one flat value {sharp.min()}"
        )
        return
    height, width = sharp.shape[:2]
    psnr = float(metrics.psnr(blurry[None] / 255.0, sharp[None] / 255.0, quantized=False)[0])
    yield {
        "split": split,
        "shard": shard,
        "name": name,
        "height": int(height),
        "width": int(width),
        "psnr": psnr,
        "blurry": blurry_path,
        "sharp": sharp_path,
        "blurry_sha256": hashlib.sha256(blurry_png).hexdigest(),
        "sharp_sha256": hashlib.sha256(sharp_png).hexdigest(),
    }


def _shard_order(name):
    """Where a pair goes in its shard: by a hash of its name. Training reads each shard from the
    start (shuffling only which shards, `input_pipeline.encoded_pairs`), so name order gave batch
    after batch of one video's consecutive frames; a hash mixes the sequences and keeps the bytes
    the same for the same data."""
    return hashlib.sha256(name.encode()).hexdigest()


def _write_shard(shard_and_records, folder, num_shards):
    """Writes one shard, its pairs in `_shard_order` (the files are read again: grouping the
    encoded pairs would hold a whole shard's images in memory)."""
    (split, shard), records = shard_and_records
    pairs = sorted(
        (Pair(r["blurry"], r["sharp"], r["name"], r["height"], r["width"]) for r in records),
        key=lambda pair: _shard_order(pair.name),
    )
    write_tfrecord(
        os.path.join(folder, f"{split}-{shard:05d}-of-{num_shards:05d}.tfrecord"),
        pairs,
        pixels=SPLIT_PIXELS[split],
    )


def _duplicates(content_and_names):
    content, names = content_and_names
    names = sorted(names)
    if len(names) > 1:
        yield f"the same pair content appears {len(names)} times: {', '.join(names)}"


def _listing(source_dir, blur_key, num_shards):
    """(split, shard, name, blurry path, sharp path) of every pair; header checks only, pixels are
    Beam's job."""
    entries = []
    for split in SPLITS:
        if not os.path.isdir(os.path.join(source_dir, split)):
            continue
        found = discover_pairs(
            source_dir, split, blur_key, skip_bad_pairs=False, check_pixels=False
        ).pairs
        for index, pair in enumerate(sorted(found, key=lambda pair: pair.name)):
            entries.append((split, index % num_shards, pair.name, pair.blurry, pair.sharp))
    if not entries:
        raise DataError(f"ingest: no pairs under {source_dir} (expected the GOPRO layout)")
    return entries


def _summary(records, skipped):
    splits = {}
    for split in SPLITS:
        mine = sorted((r for r in records if r["split"] == split), key=lambda r: r["name"])
        if not mine:
            continue
        splits[split] = {
            "pairs": len(mine),
            "sizes": sorted({f"{r['width']}x{r['height']}" for r in mine}),
            "mean_blurry_psnr": float(np.mean([r["psnr"] for r in mine])),
            "checksums": [[r["name"], r["blurry_sha256"], r["sharp_sha256"]] for r in mine],
        }
    return {"splits": splits, "skipped": sorted(skipped)}


def ingest(
    source_dir,
    output_dir,
    blur_key=DEFAULT_BLUR_KEY,
    num_shards=4,
    skip_bad_pairs=False,
    beam_args=(),
):
    """Runs the ingest pipeline; returns the manifest dict. See the module docstring."""
    if num_shards < 1:
        raise ValueError(f"--num_shards must be >= 1, got {num_shards}")
    if os.path.exists(output_dir):
        raise FileExistsError(
            f"ingest: {output_dir} exists; the stage runner gives each run a new folder"
        )
    entries = _listing(source_dir, blur_key, num_shards)
    file_io.remove_dead_leftovers(os.path.dirname(os.path.abspath(output_dir)))
    with file_io.atomic_path(output_dir, overwrite=False) as scratch:
        os.makedirs(scratch)
        with beam.Pipeline(
            runner=runner(beam_args), options=PipelineOptions(list(beam_args))
        ) as pipeline:
            checked = (
                pipeline
                | "List" >> beam.Create(entries)
                | "Validate" >> beam.FlatMap(_validate).with_outputs(PROBLEM, main="pairs")
            )
            duplicates = (
                checked.pairs
                | "ByContent"
                >> beam.Map(
                    lambda r: (r["blurry_sha256"] + r["sharp_sha256"], f"{r['split']}/{r['name']}")
                )
                | "Group" >> beam.GroupByKey()
                | "Duplicates" >> beam.FlatMap(_duplicates)
            )
            (
                checked.pairs
                | "ByShard" >> beam.Map(lambda r: ((r["split"], r["shard"]), r))
                | "GroupShards" >> beam.GroupByKey()
                | "WriteShards" >> beam.Map(_write_shard, folder=scratch, num_shards=num_shards)
            )
            (
                checked.pairs
                | "Describe" >> beam.Map(json.dumps)
                | "WriteRecords"
                >> beam.io.WriteToText(
                    os.path.join(scratch, "records"), num_shards=1, shard_name_template=""
                )
            )
            (
                (checked[PROBLEM], duplicates)
                | "AllProblems" >> beam.Flatten()
                | "WriteProblems"
                >> beam.io.WriteToText(
                    os.path.join(scratch, "problems"), num_shards=1, shard_name_template=""
                )
            )
        records = [json.loads(line) for line in _read_lines(os.path.join(scratch, "records"))]
        problems = sorted(_read_lines(os.path.join(scratch, "problems")))
        duplicated = [p for p in problems if p.startswith("the same pair content")]
        if duplicated or (problems and not skip_bad_pairs):
            raise DataError(
                f"ingest: {len(problems)} bad pairs in {source_dir}"
                + ("" if duplicated else " (--skip_bad_pairs leaves them out)")
                + ":\n  "
                + "\n  ".join(problems[:50])
            )
        os.remove(os.path.join(scratch, "records"))
        os.remove(os.path.join(scratch, "problems"))
        manifest = {
            "source": os.path.abspath(source_dir),
            "blur_key": blur_key,
            "num_shards": num_shards,
            **_summary(records, problems),
        }
        with open(os.path.join(scratch, "manifest.json"), "w") as file:
            json.dump(manifest, file, indent=2)
    return manifest


def _read_lines(path):
    with open(path, encoding="utf-8") as file:
        return [line for line in file.read().split("\n") if line]


def shard_pattern(ingest_dir, split):
    """The glob of one split's shards, as training and evaluation take them."""
    return os.path.join(ingest_dir, f"{split}-*.tfrecord")
