"""The test set of an evaluation, and its fingerprint.

The fingerprint is a SHA-256 over the pairs' names and the SHA-256 of each pair's encoded blurry
and sharp files, sorted by name: it changes with any pixel, any added or removed pair and the
blur folder (`--blur_key`), and it is the same for a PNG tree and TFRecords of it that keep the PNG
bytes (the ingest stage writes test splits so); shards of raw pixels hash the pixels instead. Two
evaluations are comparable only if their fingerprints are equal.
"""

import dataclasses
import hashlib
import posixpath

from keras_deblur.data.input_pipeline import encoded_pairs
from keras_deblur.data.pairs import DEFAULT_BLUR_KEY, discover_pairs
from keras_deblur.errors import DataError


@dataclasses.dataclass(frozen=True)
class TestSet:
    """Pairs to evaluate, in a fixed order.

    Attributes:
      source: a tuple of pairs.Pair (a PNG tree) or of TFRecord files.
      description: where the pairs come from, for the report.
      max_images: evaluate only the first N pairs (None: all).
    """

    source: tuple
    description: str
    max_images: int | None = None

    def encoded(self):
        """The pairs still encoded (`input_pipeline.encoded_pairs`)."""
        return self._limit(encoded_pairs(self.source))

    def _limit(self, dataset):
        return dataset if self.max_images is None else dataset.take(self.max_images)

    def fingerprint(self):
        """(fingerprint, number of pairs); reads every file once. Duplicate names are an error."""
        entries = {}
        for pair in self.encoded().as_numpy_iterator():
            name = pair["name"].decode("utf-8")
            if name in entries:
                raise DataError(f"{self.description}: the pair name {name!r} occurs twice")
            # Raw pixels are only an image with their shape: it joins their hashes.
            shape = (
                ":".join(map(str, pair["raw_shape"].tolist())) if pair["raw_shape"].any() else ""
            )
            entries[name] = (
                hashlib.sha256(pair["blurry"]).hexdigest() + shape,
                hashlib.sha256(pair["sharp"]).hexdigest() + shape,
            )
        if not entries:
            raise DataError(f"{self.description}: no pairs to evaluate")
        digest = hashlib.sha256()
        for name in sorted(entries):
            digest.update(f"{name}\t{entries[name][0]}\t{entries[name][1]}\n".encode("utf-8"))
        return digest.hexdigest(), len(entries)


def load_test_set(
    data_dir=None,
    test_tfrecords=(),
    blur_key=DEFAULT_BLUR_KEY,
    skip_bad_pairs=False,
    max_images=None,
):
    """The test split of a GOPRO-layout `data_dir`, or TFRecord shards (exactly one of the two)."""
    if bool(data_dir) == bool(test_tfrecords):
        raise ValueError(
            "give the test set as exactly one of --data_dir (GOPRO layout) or --test_tfrecords "
            "(shards)"
        )
    if max_images is not None and max_images < 1:
        raise ValueError(f"--max_images must be >= 1, got {max_images}")
    if data_dir:
        pairs = discover_pairs(data_dir, "test", blur_key, skip_bad_pairs).pairs
        if not pairs:
            raise DataError(f"no test pairs under {posixpath.join(data_dir, 'test')}")
        return TestSet(tuple(pairs), f"--data_dir={data_dir} (test split, {blur_key})", max_images)
    from keras_deblur.data.tfrecords import tfrecord_files

    files = tfrecord_files(list(test_tfrecords))
    return TestSet(tuple(files), f"--test_tfrecords={','.join(test_tfrecords)}", max_images)
