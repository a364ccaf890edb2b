"""Which paired augmentations run on training crops, and how strong they are (paper section 3.2).

The settings alone, without TensorFlow: `augment.py` applies them in tf.data, and
`tools/train_on_jax.py` applies the same ones with JAX on a GPU machine that has no TensorFlow.
"""

import dataclasses
import math

ROTATIONS = ("none", "right_angles", "any")
AUGMENTATIONS = ("flip_horizontal", "flip_vertical", "channel_permutation", "saturation", "noise")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run, and how strong they are.

    Attributes:
      crop_size: side of the square training crops (256 in the paper).
      rotation: "right_angles" (multiples of 90 degrees: exact pixel moves, what the authors' Lua
        and PyTorch code do; the default), "none", or "any" (a uniform angle, as the paper's text
        says: a larger window is cropped, rotated and centre-cropped, so no padded border shows).
        "any" resamples bilinearly, which softens both images of a pair at angles other than
        multiples of 90 degrees (a half-way angle averages neighbouring pixels); the pair stays
        aligned, but the sharp target is no longer quite sharp. Opt in knowingly.
      augmentations: the ones of AUGMENTATIONS that run; leave one out to switch it off.
      saturation_range: the HSV saturation is multiplied by U[low, high].
      noise_sigma: the blurry image gets Gaussian noise whose standard deviation is drawn per image
        as |N(0, noise_sigma^2)| (the paper: sigma ~ N(0, (2/255)^2)).
    """

    crop_size: int = 256
    rotation: str = "right_angles"
    augmentations: tuple = AUGMENTATIONS
    saturation_range: tuple = (0.5, 1.5)
    noise_sigma: float = 2.0 / 255.0

    def __post_init__(self):
        # Tuples, whatever sequences were given: the config is hashable, and augment.py compiles
        # one function per config.
        object.__setattr__(self, "augmentations", tuple(self.augmentations))
        object.__setattr__(self, "saturation_range", tuple(self.saturation_range))
        if self.crop_size < 1:
            raise ValueError(f"--crop_size must be >= 1, got {self.crop_size}")
        if self.rotation not in ROTATIONS:
            raise ValueError(f"--rotation must be one of {ROTATIONS}, got {self.rotation!r}")
        unknown = sorted(set(self.augmentations) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(f"--augmentations has unknown names {unknown}; known: {AUGMENTATIONS}")

    @property
    def window_size(self):
        """Side of the window cut from the image before rotating: the crop fits at any angle.

        The margin (window - crop) is even, so the crop's centre falls on the window's pixel grid:
        at 0 and 90 degrees the sampler then reads whole pixels (an odd margin put it half a pixel
        off, and every crop came out as a 2x2 box average of the image).
        """
        if self.rotation != "any":
            return self.crop_size
        window = math.ceil(self.crop_size * math.sqrt(2.0)) + 2
        return window + (window - self.crop_size) % 2
