"""SavedModel export in TF Serving's layout, and loading it back.

Layout: `<export_dir>/<version>/` holds one SavedModel per integer version (TF Serving's
`--model_base_path` is `<export_dir>`). A version is written to a temporary folder beside it and
renamed into place, so TF Serving never sees a half-written version and an existing version is
never overwritten. On object stores (gs://) a rename is a copy then a delete: a reader could see
a partial version while it is copied, so there, export locally and upload, or let TF Serving's
polling pick the version up only after the copy (it loads a version once its directory appears,
which on gs:// happens object by object).

Signatures (unknown batch, height and width: one trace serves every size):
- `serving_default`: `images_bytes` (string [N], PNG or JPEG bytes) -> `deblurred_bytes` (string
  [N], PNG). TF Serving's REST API takes such inputs as {"b64": ...} and returns outputs whose name
  ends in `_bytes` as base64.
- `deblur_float`: `images` (float32 [N, H, W, 3] in [0, 1]) -> `deblurred` (float32, same shape,
  clipped to [0, 1]).
The model inside holds the pyramid, the padding to a multiple of 2^(K-1) and the cropping.
"""

import json
import posixpath

import numpy as np
import tensorflow as tf

from keras_deblur import file_io
from keras_deblur.file_io import read_json, write_text
from keras_deblur.serving.ensemble import check_size, self_ensemble
from keras_deblur.serving.scale_tiling import ScaleFunctions

WARMUP_FILE = "tf_serving_warmup_requests"
METADATA_FILE = "keras_deblur.json"


class DeblurModule(tf.Module):
    """The generator's finest output behind the two serving signatures."""

    def __init__(self, generator, ensemble=1, conv_algorithm="direct"):
        super().__init__()
        self.generator = generator
        self.ensemble = check_size(ensemble)
        # The scales one by one, for exact tiling of large images (`scale_tiling.py`); TF Serving
        # ignores them (they are not signatures). Exports keep the direct convolutions.
        self.scales = ScaleFunctions.from_generator(generator, conv_algorithm)
        self.scales.attach_to(self)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")])
    def deblur_float(self, images):
        def finest(batch):
            return tf.cast(self.generator(batch, training=False)[0], tf.float32)

        deblurred = self_ensemble(finest, images, self.ensemble)
        return {"deblurred": tf.clip_by_value(deblurred, 0.0, 1.0)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images_bytes")])
    def deblur_encoded(self, images_bytes):
        def one(encoded):
            # decode_image reads PNG (8 or 16 bit), JPEG, GIF and BMP, scaling to [0, 1]; bytes that
            # are none of these fail with "Unknown image file format".
            image = tf.io.decode_image(
                encoded, channels=3, dtype=tf.float32, expand_animations=False
            )
            deblurred = self.deblur_float(image[None])["deblurred"][0]
            return tf.io.encode_png(tf.cast(tf.round(deblurred * 255.0), tf.uint8))

        # Images of one request may differ in size, so each is deblurred on its own.
        return {"deblurred_bytes": tf.map_fn(one, images_bytes, fn_output_signature=tf.string)}


def versions(export_dir):
    """The integer versions under `export_dir`, sorted ([] if there are none or no folder)."""
    if not tf.io.gfile.isdir(export_dir):
        return []
    found = []
    for name in tf.io.gfile.listdir(export_dir):
        name = name.rstrip("/")
        if name.isdigit() and tf.io.gfile.isdir(posixpath.join(export_dir, name)):
            found.append(int(name))
    return sorted(found)


def _warmup_requests(path, model_name):
    """A TFRecord of PredictionLog warm-up requests for both signatures (small, two sizes)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(path) as writer:
        for height, width in ((32, 48), (64, 64)):
            pixels = rng.random((1, height, width, 3), dtype=np.float32)
            for signature, key, tensor in (
                (
                    "serving_default",
                    "images_bytes",
                    tf.make_tensor_proto([tf.io.encode_png(np.uint8(pixels[0] * 255)).numpy()]),
                ),
                ("deblur_float", "images", tf.make_tensor_proto(pixels)),
            ):
                request = predict_pb2.PredictRequest(
                    model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
                )
                request.inputs[key].CopyFrom(tensor)
                log = prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
                writer.write(log.SerializeToString())


MODELS_CONFIG = "models.config"


def _read_models_config(base_dir):
    """The ModelServerConfig in `<base_dir>/models.config` (empty if there is none); a file that
    is not one is a ValueError naming it, raised before anything is exported."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = posixpath.join(base_dir, MODELS_CONFIG)
    config = model_server_config_pb2.ModelServerConfig()
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as file:
            text = file.read()
        try:
            text_format.Parse(text, config)
        except text_format.ParseError as error:
            raise ValueError(
                f"{path} is not a TF Serving model config ({error}); the export adds its model "
                "there, so mend or move the file first"
            ) from None
    return config


def write_models_config(base_dir):
    """Adds to `<base_dir>/models.config` (TF Serving's --model_config_file) an entry for every
    model folder with versions that it does not name yet, and drops the entries written so (base
    path `/models/<name>`) whose folder has no versions any more; every other entry, a user's own
    included, is kept as it is.

    New paths are those inside the TF Serving container when `base_dir` is mounted at /models
    (`docker run -v $PWD/savedmodels:/models ...`); edit them for a server run outside docker.
    """
    from google.protobuf import text_format

    config = _read_models_config(base_dir)
    entries = config.model_config_list.config
    for entry in list(entries):
        if entry.base_path == f"/models/{entry.name}" and not versions(
            posixpath.join(base_dir, entry.name)
        ):
            entries.remove(entry)
    named = {entry.name for entry in entries}
    for name in sorted(tf.io.gfile.listdir(base_dir)):
        name = name.rstrip("/")
        if name not in named and versions(posixpath.join(base_dir, name)):
            entries.add(name=name, base_path=f"/models/{name}", model_platform="tensorflow")
    write_text(posixpath.join(base_dir, MODELS_CONFIG), text_format.MessageToString(config))


def new_version_dir(export_dir, version=None):
    """The folder version `version` (default: one more than the highest) will be exported to; a
    ValueError or FileExistsError naming what stops it if that version cannot be written (the
    version exists, or a models.config beside the model folder that cannot be extended)."""
    if tf.io.gfile.exists(posixpath.join(export_dir, "saved_model.pb")):
        # An export there would nest a model inside a version, and register a model named "1".
        raise ValueError(
            f"--export_dir={export_dir} is a version of an export (it holds saved_model.pb); give "
            f"the model's base path, {posixpath.dirname(export_dir.rstrip('/')) or '.'}"
        )
    _read_models_config(posixpath.dirname(export_dir.rstrip("/")) or ".")
    existing = versions(export_dir)
    version = (existing[-1] + 1 if existing else 1) if version is None else int(version)
    if version < 1:
        raise ValueError(f"--export_version must be a positive integer, got {version}")
    target = posixpath.join(export_dir, str(version))
    if tf.io.gfile.exists(target):
        raise FileExistsError(f"{target} exists already; versions are never overwritten")
    return target


def export(generator, export_dir, version=None, metadata=None, ensemble=1):
    """Exports `generator` as version `version` (default: the next integer) under `export_dir`.

    Args:
      generator: the Keras generator (its finest output is served).
      export_dir: TF Serving's model base path, `savedmodels/<model_name>`.
      version: an integer, or None for one more than the highest existing version.
      metadata: a JSON-able dict (config, metrics, test-set fingerprint, commit, versions) stored as
        `assets.extra/keras_deblur.json`.
      ensemble: the number of flips and transpositions the signatures average over (1, 2, 4 or
        8; `ensemble.py`): what TF Serving returns then costs that many forward passes.

    Returns:
      The path of the new version.
    """
    check_size(ensemble)  # before anything is written
    target = new_version_dir(export_dir, version)  # stops here if it cannot be written
    tf.io.gfile.makedirs(export_dir)
    file_io.remove_dead_leftovers(export_dir)
    try:
        # Hidden: TF Serving only loads folders named by an integer, and lists the others' names.
        with file_io.atomic_path(target, overwrite=False, hidden=True) as temporary:
            module = DeblurModule(generator, ensemble)
            tf.saved_model.save(
                module,
                temporary,
                signatures={
                    "serving_default": module.deblur_encoded,
                    "deblur_float": module.deblur_float,
                },
            )
            extra = posixpath.join(temporary, "assets.extra")
            tf.io.gfile.makedirs(extra)
            _warmup_requests(
                posixpath.join(extra, WARMUP_FILE), posixpath.basename(export_dir.rstrip("/"))
            )
            write_text(
                posixpath.join(extra, METADATA_FILE),
                json.dumps(
                    {
                        "num_scales": len(generator.outputs),
                        "scale_tiling": module.scales.facts(),
                        "ensemble": ensemble,
                        **(metadata or {}),
                    },
                    indent=2,
                    default=str,
                ),
            )
    except tf.errors.AlreadyExistsError:
        raise FileExistsError(
            f"{target} was written by another export meanwhile; versions are never "
            "overwritten: run the export again for the next version"
        ) from None
    write_models_config(posixpath.dirname(export_dir.rstrip("/")) or ".")
    return target


def resolve_version(path):
    """A SavedModel folder: `path` itself, or the highest version if `path` is a model base path."""
    if tf.io.gfile.exists(posixpath.join(path, "saved_model.pb")):
        return path
    found = versions(path)
    if not found:
        raise FileNotFoundError(
            f"{path} is neither a SavedModel nor a model base path with integer versions "
            f"(<path>/<N>/saved_model.pb)"
        )
    return posixpath.join(path, str(found[-1]))


def load(path):
    """Loads an export (a version folder or a base path: its highest version). Returns (model,
    metadata)."""
    version_dir = resolve_version(path)
    try:
        model = tf.saved_model.load(version_dir)
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise ValueError(f"cannot load the SavedModel {version_dir}: {error}") from error
    if "deblur_float" not in model.signatures:
        raise ValueError(
            f"{version_dir} is a SavedModel but not a deblurring export (its signatures: "
            f"{', '.join(sorted(model.signatures)) or 'none'}; ours have deblur_float): export "
            "one with python -m keras_deblur.export"
        )
    return model, read_metadata(version_dir)


def read_metadata(version_dir):
    """The keras_deblur.json an export carries in assets.extra ({} if it has none)."""
    return read_json(posixpath.join(version_dir, "assets.extra", METADATA_FILE)) or {}
