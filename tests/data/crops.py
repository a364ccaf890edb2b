"""Whether a rendered image is exactly a piece of what it was rendered from."""

import numpy as np


def is_a_crop_of(image, source, mirrored=False):
    """Whether `image` is exactly a crop of `source` (or, with `mirrored`, of its mirror image)."""
    height, width = image.shape[:2]
    candidates = (source, source[:, ::-1]) if mirrored else (source,)
    return any(
        np.array_equal(candidate[top : top + height, left : left + width], image)
        for candidate in candidates
        for top in range(candidate.shape[0] - height + 1)
        for left in range(candidate.shape[1] - width + 1)
    )
