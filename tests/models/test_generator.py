import dataclasses
import os

import keras
import numpy as np
import pytest
from keras import ops

import keras_deblur
from keras_deblur.models import build_generator, build_generator_from_spec, pyramid
from keras_deblur.models.generator import spec_of, with_dtype_policy
from keras_deblur.models.layers import pixel_shuffle
from keras_deblur.models.specs import generator_spec


def _conv2d_count(model):
    return sum(type(layer) is keras.layers.Conv2D for layer in model.layers)


def test_paper_parameter_counts():
    assert keras_deblur.build_generator().count_params() == 11_719_953
    assert keras_deblur.build_generator(upsample="pixel_shuffle").count_params() == 11_721_321


@pytest.mark.parametrize("spec", ["paper", "paper_k2", "paper_k1"])
def test_every_table2_variant_has_120_convs(spec):
    assert _conv2d_count(build_generator_from_spec(spec)) == 120


@pytest.mark.parametrize("num_scales", [1, 2, 3])
@pytest.mark.parametrize("size", [(45, 67), (1, 1), (3, 700)])
def test_output_pyramid_sizes(size, num_scales, rng):
    model = build_generator_from_spec("tiny", num_scales=num_scales)
    images = rng.random((2, *size, 3)).astype(np.float32)
    outputs = model(images)
    # A list for every K, K = 1 included (a one-output functional model returns a bare tensor).
    assert isinstance(outputs, list) and len(outputs) == num_scales
    height, width = size
    for level, output in enumerate(outputs):
        assert tuple(output.shape) == (2, -(-height // 2**level), -(-width // 2**level), 3), (
            f"level {level}"
        )


def _set(model, name, kernel, bias=None):
    layer = model.get_layer(name)
    kernel = np.asarray(kernel, np.float32).reshape(layer.kernel.shape)
    layer.set_weights([kernel, np.zeros(layer.bias.shape, np.float32) if bias is None else bias])


def _hand_set_model(first_conv_reads):
    """K=2, one ResBlock, 1x1 kernels: every ResBlock is the identity, convs pass channels through.

    The finest scale's first conv reads either the blurry channels (0-2) or the link's (3-5) of its
    6-channel input, so the output shows which half of the concatenation is which.
    """
    model = build_generator(num_scales=2, num_resblocks=1, filters=3, kernel_size=1)
    eye = np.eye(3, dtype=np.float32)
    for scale in (1, 2):
        for conv in ("conv1", "conv2"):
            _set(model, f"scale{scale}_resblock01_{conv}", np.zeros((3, 3)))
        _set(model, f"scale{scale}_conv_last", eye)
    _set(model, "scale2_conv_first", eye)
    selector = np.zeros((6, 3), np.float32)
    selector[first_conv_reads : first_conv_reads + 3] = eye
    _set(model, "scale1_conv_first", selector)
    _set(model, "link2to1_upconv", eye)
    return model


def test_centring_concatenation_order_and_link_input(rng):
    images = rng.random((1, 8, 12, 3)).astype(np.float32)
    coarse = ops.convert_to_numpy(pyramid.gaussian_pyramid(ops.convert_to_tensor(images), 2)[1])

    # Coarsest scale: centred in (-0.5), identity body, un-centred out (+0.5): its own input.
    reads_blurry = _hand_set_model(first_conv_reads=0)
    fine, coarse_out = [ops.convert_to_numpy(t) for t in reads_blurry(images)]
    np.testing.assert_allclose(coarse_out, coarse, atol=1e-6)
    # Channels 0-2 of the finer input are the blurry image, centred.
    np.testing.assert_allclose(fine, images, atol=1e-6)

    # Channels 3-5 are the link: a 1x1 stride-2 up-convolution of the CENTRED coarse output puts
    # coarse - 0.5 on the even pixels and 0 elsewhere; +0.5 at the end gives coarse and 0.5.
    reads_link = _hand_set_model(first_conv_reads=3)
    fine = ops.convert_to_numpy(reads_link(images)[0])
    expected = np.full_like(images, 0.5)
    expected[:, ::2, ::2] = coarse
    np.testing.assert_allclose(fine, expected, atol=1e-6)


def _numpy_pixel_shuffle_nchw(x, r):
    """torch.nn.PixelShuffle's definition on NCHW: out[n, c, h*r+i, w*r+j] = x[n, c*r*r+i*r+j, h,
    w]."""
    n, c_in, h, w = x.shape
    c = c_in // (r * r)
    out = np.empty((n, c, h * r, w * r), x.dtype)
    for channel in range(c):
        for i in range(r):
            for j in range(r):
                out[:, channel, i::r, j::r] = x[:, channel * r * r + i * r + j]
    return out


def test_pixel_shuffle_matches_pytorch_order(rng):
    nhwc = rng.random((2, 3, 5, 12)).astype(np.float32)
    expected = _numpy_pixel_shuffle_nchw(nhwc.transpose(0, 3, 1, 2), 2).transpose(0, 2, 3, 1)
    got = ops.convert_to_numpy(pixel_shuffle(ops.convert_to_tensor(nhwc), 2))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("upsample", ["conv_transpose", "pixel_shuffle"])
def test_keras_file_round_trip_in_safe_mode(upsample, tmp_path, rng):
    model = build_generator_from_spec("tiny", upsample=upsample)
    images = rng.random((2, 20, 28, 3)).astype(np.float32)
    path = tmp_path / "generator.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for before, after in zip(model(images), loaded(images)):
        np.testing.assert_array_equal(ops.convert_to_numpy(before), ops.convert_to_numpy(after))


def test_layer_names_are_hierarchical():
    names = {layer.name for layer in build_generator_from_spec("tiny").layers}
    assert {"scale3_conv_first", "scale2_resblock01_conv2", "link2to1_upconv", "latent1"} <= names


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_scales": 0}, "num_scales must be a positive integer, got 0"),
        ({"num_resblocks": -1}, "num_resblocks must be a positive integer, got -1"),
        ({"filters": 0}, "filters must be a positive integer, got 0"),
        ({"kernel_size": 4}, "kernel_size must be odd .* got 4"),
        ({"upsample": "nearest"}, "upsample must be one of .* got 'nearest'"),
        ({"input_shape": (None, None, 4)}, r"input_shape must be .* got \(None, None, 4\)"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_generator(**kwargs)


def test_four_channel_input_is_rejected_at_call_time():
    model = build_generator_from_spec("tiny")
    with pytest.raises(
        ValueError,
        match=r"blurry.*expected shape=\(None, None, None, 3\), found shape=\(1, 8, 8, 4\)",
    ):
        model(np.zeros((1, 8, 8, 4), np.float32))


def test_unknown_spec_lists_known_ones():
    with pytest.raises(ValueError, match="unknown generator spec 'huge'.*paper"):
        build_generator_from_spec("huge")


def test_global_residual_adds_each_scale_to_its_blurry_input(rng):
    images = rng.random((1, 10, 14, 3)).astype(
        np.float32
    )  # not a multiple of 4: padded and cropped
    model = build_generator_from_spec("tiny", global_residual=True)
    assert model.count_params() == build_generator_from_spec("tiny").count_params()
    model.set_weights(
        [np.zeros_like(w) for w in model.get_weights()]
    )  # every scale's body outputs 0
    levels = pyramid.gaussian_pyramid(ops.convert_to_tensor(images), 3)
    for output, level in zip(model(images), levels):
        np.testing.assert_allclose(
            ops.convert_to_numpy(output), ops.convert_to_numpy(level), atol=1e-6
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"upsample": "pixel_shuffle", "global_residual": True},
        {"num_scales": 1, "num_resblocks": 2},
    ],
)
def test_spec_of_reads_back_the_spec_a_generator_was_built_with(overrides):
    spec = dataclasses.replace(generator_spec("tiny"), **overrides)
    assert spec_of(build_generator(**dataclasses.asdict(spec))) == spec


def test_with_dtype_policy_runs_the_same_weights_in_bf16(rng):
    images = rng.random((1, 16, 20, 3)).astype(np.float32)
    model = build_generator_from_spec("tiny")
    bf16 = with_dtype_policy(model, "mixed_bfloat16")
    assert bf16.get_layer("scale1_conv_first").compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    expected, got = model(images)[0], bf16(images)[0]
    np.testing.assert_allclose(
        ops.convert_to_numpy(ops.cast(got, "float32")), ops.convert_to_numpy(expected), atol=0.05
    )
    with pytest.raises(ValueError, match="not a Generator"):
        spec_of(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]))


def test_paper_generator_starts_near_the_image_range_like_the_authors():
    # Uniform +-1/sqrt(fan_in), the Torch/PyTorch default: the untrained paper generator's output
    # stays near [0, 1] (Keras's Glorot default gave about [-570, 840] and an eq. 4 loss of ~4e3).
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).random((1, 64, 64, 3)).astype(np.float32)
    finest = ops.convert_to_numpy(keras_deblur.build_generator()(images)[0])
    assert -0.5 < finest.min() and finest.max() < 1.5
    kernel = build_generator_from_spec("paper").get_layer("scale1_resblock01_conv1").kernel
    bound = 1 / np.sqrt(5 * 5 * 64)
    values = ops.convert_to_numpy(kernel)
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound


def test_a_generator_takes_a_dtype_and_its_config_is_its_spec(tmp_path, rng):
    from keras_deblur.models.generator import Generator

    model = Generator(generator_spec("tiny"), dtype="mixed_bfloat16")
    assert model.get_layer("scale2_conv_last").compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is untouched
    config = model.get_config()
    assert config["spec"] == dataclasses.asdict(generator_spec("tiny"))
    assert config["dtype"] == "mixed_bfloat16"

    path = str(tmp_path / "g.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert (
        loaded.spec == model.spec
        and loaded.get_layer("scale1_conv_first").compute_dtype == "bfloat16"
    )
    images = rng.random((1, 12, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(loaded(images)[0]), ops.convert_to_numpy(model(images)[0])
    )

    # A .keras file saved before the spec was nested in the config (its fields at the top level).
    flat = {**config.pop("spec"), **config}
    assert Generator.from_config(flat).spec == model.spec


def test_presets_build_their_spec_and_load_the_weights_the_package_ships(tmp_path, monkeypatch):
    from keras_deblur.models import presets
    from keras_deblur.models.generator import Generator

    with pytest.raises(ValueError, match="preset 'tiny' has no trained weights in this package"):
        Generator.from_preset("tiny")
    untrained = Generator.from_preset("tiny", load_weights=False)
    assert untrained.spec == generator_spec("tiny")

    trained = build_generator_from_spec("tiny")
    trained.save_weights(str(tmp_path / "tiny.weights.h5"))
    monkeypatch.setattr(presets, "WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(presets, "WEIGHTS", {"tiny": ("tiny.weights.h5", "a test")})
    loaded = Generator.from_preset("tiny", dtype="mixed_bfloat16")
    assert loaded.get_layer("scale1_conv_first").compute_dtype == "bfloat16"
    for mine, theirs in zip(loaded.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match="unknown generator spec 'nope'"):
        Generator.from_preset("nope")


def test_write_weights_stores_float16_that_loads_into_the_preset(tmp_path):
    import h5py

    from keras_deblur.models import presets

    trained = build_generator_from_spec("tiny")
    path = str(tmp_path / "tiny.weights.h5")
    presets.write_weights(trained, path)
    with h5py.File(path, "r") as stored:
        kinds = set()
        stored.visititems(lambda _, item: kinds.add(str(getattr(item, "dtype", "group"))))
    assert kinds == {"group", "float16"}
    loaded = build_generator_from_spec("tiny")
    loaded.load_weights(path)
    for mine, theirs in zip(loaded.get_weights(), trained.get_weights()):
        assert mine.dtype == np.float32
        np.testing.assert_array_equal(mine, theirs.astype(np.float16).astype(np.float32))


def test_write_weights_refuses_a_weight_beyond_float16_and_keeps_the_old_file(tmp_path):
    from keras_deblur.models import presets

    path = tmp_path / "tiny.weights.h5"
    path.write_bytes(b"the old file")
    model = build_generator_from_spec("tiny")
    bias = model.get_layer("scale1_conv_first").weights[1]
    bias.assign(np.full(bias.shape, 1e6, np.float32))
    with pytest.raises(ValueError, match="does not fit float16"):
        presets.write_weights(model, str(path))
    assert path.read_bytes() == b"the old file" and sorted(os.listdir(tmp_path)) == [path.name]
