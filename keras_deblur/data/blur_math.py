"""The arithmetic of the paper's blur synthesis (section 2, eq. 2-3), in NumPy alone: average
consecutive sharp frames of a fast video.

    B = g( 1/M * sum_i g^-1(S[i]) ),  with the camera response g(x) = x^(1/gamma)

so g^-1(x) = x^gamma takes 8-bit frames back to (approximately) linear light before averaging.
gamma = 2.2 is the paper's; gamma = 1 is plain averaging. The sharp target is the middle frame.

No TensorFlow here, so the renderers (`scene_rendering`, `photo_blur`, `scene_mix`) run where
TensorFlow does not: the lent GPU machine renders its training pairs in memory
(`tools/train_on_jax.py`).
"""

import numpy as np

DEFAULT_GAMMA = 2.2


def to_uint8(pixels):
    """Float pixels in [0, 1] to uint8, clipped and rounded to the nearest level."""
    return np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def synthesize_blur(frames, gamma=DEFAULT_GAMMA):
    """Blurs M consecutive sharp frames into one image.

    Args:
      frames: [M, H, W, 3] uint8 frames, or floats in [0, 1].
      gamma: the camera response exponent; 1 averages the stored values linearly.

    Returns:
      The blurry image, [H, W, 3] uint8 (quantised to 8 bits, as a camera would store it).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[0] < 1:
        raise ValueError(f"frames must be [M, H, W, C] with M >= 1, got shape {frames.shape}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    values = frames.astype(np.float64)
    if frames.dtype == np.uint8:
        values /= 255.0
    linear = np.power(values, gamma)
    return to_uint8(np.power(linear.mean(axis=0), 1.0 / gamma))


def odd_frame_counts(bounds, name):
    """The odd counts from bounds[0] to bounds[1], inclusive: those with a middle frame.

    A ValueError naming `name` unless bounds are two integers 1 <= fewest <= most with an odd
    count between them."""
    if (
        isinstance(bounds, (tuple, list))
        and len(bounds) == 2
        and all(isinstance(bound, (int, np.integer)) for bound in bounds)
        and 1 <= bounds[0] <= bounds[1]
    ):
        counts = [n for n in range(bounds[0], bounds[1] + 1) if n % 2]
        if counts:
            return counts
    raise ValueError(
        f"{name} must be two integers 1 <= fewest <= most with an odd count between them, "
        f"got {bounds}"
    )


# The largest softness of a camera's optics either renderer accepts, in pixels (a Gaussian's sigma).
MAX_OPTICS_SIGMA = 3.0


def check_optics_blur(bounds, name):
    """A ValueError naming `name` unless bounds are two numbers 0 <= low <= high <=
    MAX_OPTICS_SIGMA (pixels)."""
    if not (
        isinstance(bounds, (tuple, list))
        and len(bounds) == 2
        and 0 <= bounds[0] <= bounds[1] <= MAX_OPTICS_SIGMA
    ):
        raise ValueError(
            f"{name} must be two numbers 0 <= low <= high <= {MAX_OPTICS_SIGMA:g} pixels, "
            f"got {bounds}"
        )


def middle_index(num_frames):
    """Index of the sharp target among M frames: the middle one (the later middle one if M is
    even)."""
    return num_frames // 2
