"""Evaluation figures, drawn with matplotlib (Agg, no display needed), returned as PNG bytes."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)
import numpy as np  # noqa: E402


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def zoom_window(blurry, deblurred):
    """(top, left, side) of the square where the model changed the image most: worth a close
    look."""
    height, width = blurry.shape[:2]
    side = max(min(height, width) // 4, min(height, width, 16))
    change = np.abs(deblurred.astype(np.float64) - blurry).mean(axis=-1)
    integral = np.pad(change, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = (
        integral[side:, side:]
        - integral[:-side, side:]
        - integral[side:, :-side]
        + integral[:-side, :-side]
    )
    top, left = np.unravel_index(np.argmax(sums), sums.shape)
    return int(top), int(left), side


def example_figure(name, blurry, deblurred, sharp, row):
    """Blurry | deblurred | sharp with their PSNR/SSIM, and below them the same zoomed crop."""
    top, left, side = zoom_window(blurry, deblurred)
    titles = (
        f"blurry  {row['blurry_psnr']:.2f} dB, SSIM {row['blurry_ssim']:.3f}",
        f"deblurred  {row['psnr']:.2f} dB, SSIM {row['ssim']:.3f}",
        "sharp",
    )
    height, width = sharp.shape[:2]
    figure, axes = plt.subplots(2, 3, figsize=(12, 4 * height / width + 4.2))
    for column, (image, title) in enumerate(zip((blurry, deblurred, sharp), titles)):
        image = np.clip(image, 0.0, 1.0)
        axes[0, column].imshow(image)
        axes[0, column].add_patch(
            matplotlib.patches.Rectangle(
                (left - 0.5, top - 0.5), side, side, fill=False, edgecolor="yellow", linewidth=1.5
            )
        )
        axes[0, column].set_title(title, fontsize=9)
        axes[1, column].imshow(image[top : top + side, left : left + side], interpolation="nearest")
        for axis in axes[:, column]:
            axis.set_xticks([])
            axis.set_yticks([])
    figure.suptitle(name, fontsize=10)
    return _png(figure)


def gain_histogram(rows):
    """The histogram of per-image PSNR gain (deblurred minus blurry), with its mean marked. A pair
    whose blurry or deblurred image equals the sharp one has an infinite PSNR and no finite gain:
    left out, and counted in the axis label."""
    gains = np.array([row["psnr"] - row["blurry_psnr"] for row in rows])
    finite = gains[np.isfinite(gains)]
    figure, axis = plt.subplots(figsize=(6, 3.5))
    if finite.size:
        axis.hist(finite, bins=max(5, min(40, finite.size // 3)), color="tab:blue", alpha=0.8)
        mean = finite.mean()
        axis.axvline(mean, color="black", linestyle="--", label=f"mean {mean:.2f} dB")
    axis.axvline(0.0, color="tab:red", linewidth=1)
    left_out = gains.size - finite.size
    axis.set_xlabel(
        "PSNR gain over the blurry input (dB)"
        + (f"; {left_out} identical to sharp, left out" if left_out else "")
    )
    axis.set_ylabel("images")
    if finite.size:
        axis.legend()
    return _png(figure)
