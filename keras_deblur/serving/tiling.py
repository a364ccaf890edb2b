"""Deblurring images of any size in overlapping tiles, with memory set by the tile, not the image.

The image is padded (edge repeated) to a multiple of `align` = 2^(K-1), exactly as the model pads
internally, and cut into equal tiles whose corners sit on that grid, so every tile sees the same
pyramid grid as the whole image. Tiles are run in batches and blended: along an edge shared with
another tile, a tile's weight is 0 over the first quarter of the overlap, rises linearly over the
middle half, and is 1 beyond. Pixels a tile sees too close to its own border (where its zero
padding differs from the real neighbours) therefore count for nothing, and when a quarter of the
overlap is at least the model's receptive field, the result equals deblurring the whole image.
An image with no more pixels than one batch of tiles (a 1280x720 frame at the defaults: 512^2 x 4)
runs whole instead: memory stays within the same bound and there is no overlap to compute twice.
"""

import numpy as np


def _starts(size, tile, overlap):
    """Tile starts along one axis: every `tile - overlap`, the last one ending at `size`."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, tile - overlap))
    return starts + [size - tile]


def _axis_weights(start, length, size, overlap):
    weights = np.ones(length, np.float32)
    if overlap == 0:
        return weights  # tiles meet edge to edge (a later tile overwrites, by normalisation)
    position = np.arange(length, dtype=np.float32)
    quarter, half = overlap / 4.0, overlap / 2.0
    if start > 0:
        weights *= np.clip((position - quarter) / half, 0.0, 1.0)
    if start + length < size:
        weights *= np.clip((length - 1 - position - quarter) / half, 0.0, 1.0)
    return weights


def check_tiling(tile_size, overlap, align, batch_size=1):
    if batch_size < 1:
        raise ValueError(f"--tile_batch must be >= 1, got {batch_size}")
    if tile_size < 1 or tile_size % align:
        raise ValueError(
            f"--tile_size must be a positive multiple of {align} (2^(K-1)), got {tile_size}"
        )
    if overlap < 0 or overlap % align or overlap >= tile_size:
        raise ValueError(
            f"--tile_overlap must be a multiple of {align} in [0, --tile_size), got {overlap}"
        )
    if overlap < 4 and overlap != 0:
        raise ValueError(f"--tile_overlap must be 0 or at least 4 pixels, got {overlap}")


def deblur_tiled(run_batch, image, tile_size, overlap, align, batch_size=4):
    """Deblurs one float32 [H, W, 3] image in [0, 1] with `run_batch` ([N, h, w, 3] -> same).

    Args:
      run_batch: deblurs a batch of equal-sized tiles.
      image: the image.
      tile_size: side of the square tiles, a multiple of `align`.
      overlap: pixels shared by neighbouring tiles, a multiple of `align`.
      align: 2^(K-1) of the model.
      batch_size: tiles per call of `run_batch`.
    """
    check_tiling(tile_size, overlap, align, batch_size)
    height, width = image.shape[:2]
    padded_h, padded_w = -(-height // align) * align, -(-width // align) * align
    padded = np.pad(image, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="edge")
    tile_h, tile_w = min(tile_size, padded_h), min(tile_size, padded_w)
    if padded_h * padded_w <= tile_h * tile_w * batch_size:
        # No more pixels than one batch of tiles (a single tile included): the same memory bound,
        # without seams or overlap work.
        return run_batch(padded[None])[0][:height, :width]
    corners = [
        (top, left)
        for top in _starts(padded_h, tile_h, overlap)
        for left in _starts(padded_w, tile_w, overlap)
    ]
    total = np.zeros((padded_h, padded_w, 3), np.float32)
    weight_sum = np.zeros((padded_h, padded_w, 1), np.float32)
    for first in range(0, len(corners), batch_size):
        group = corners[first : first + batch_size]
        tiles = np.stack([padded[y : y + tile_h, x : x + tile_w] for y, x in group])
        for (top, left), out in zip(group, run_batch(tiles)):
            weights = np.outer(
                _axis_weights(top, tile_h, padded_h, overlap),
                _axis_weights(left, tile_w, padded_w, overlap),
            )[..., None]
            total[top : top + tile_h, left : left + tile_w] += out * weights
            weight_sum[top : top + tile_h, left : left + tile_w] += weights
    return (total / weight_sum)[:height, :width]
