"""From per-image rows to `metrics.json`, `per_image.csv`, and the Table-2 comparison of models."""

import csv
import io
import math
import posixpath

import numpy as np

from keras_deblur.evaluation.scores import PROTOCOLS
from keras_deblur.file_io import read_json
from keras_deblur.run_layout import EvaluationLayout

MEASURES = (
    ("psnr", "PSNR", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("ms_ssim", "MS-SSIM", "{:.4f}"),
)
HOW_ALWAYS = (
    "per image, then the mean over images; RGB float in [0, 1], max_val 1; SSIM = tf.image.ssim "
    "(Gaussian 11x11, sigma 1.5, as scikit-image and the authors' code); MS-SSIM = "
    "tf.image.ssim_multiscale, fewer scales for small images; see keras_deblur/evaluation/scores.py"
)


def _mean(rows, key):
    values = [row[key] for row in rows if key in row and not math.isnan(row[key])]
    return (float(np.mean(values)) if values else math.nan), len(values)


def summarize(rows, model, test_set, settings):
    """The metrics.json dictionary of `rows` (one per image, from scores.image_row)."""
    summary = {
        "model": model,
        "test_set": test_set,
        "settings": settings,
        "how": f"{PROTOCOLS[settings['protocol']][1]}; {HOW_ALWAYS}",
        "num_images": len(rows),
        "deblurred": {},
        "blurry": {},
        "gain": {},
        "images_scored": {},
    }
    for key, _, _ in MEASURES:
        summary["deblurred"][key], summary["images_scored"][key] = _mean(rows, key)
        summary["blurry"][key], _ = _mean(rows, f"blurry_{key}")
        summary["gain"][key] = summary["deblurred"][key] - summary["blurry"][key]
    scale_keys = sorted({key for row in rows for key in row if key.startswith("psnr_scale")})
    summary["scales"] = {
        key[len("psnr_scale") :]: {
            "psnr": _mean(rows, key)[0],
            "blurry_psnr": _mean(rows, f"blurry_{key}")[0],
        }
        for key in scale_keys
    }
    summary["seconds_per_image"] = _mean(rows, "seconds")[0]
    return summary


def csv_text(rows):
    """The rows as CSV, one line per image, columns in a fixed order."""
    columns = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _ensemble_line(summary):
    """[a line naming the self-ensemble the scores are of], or [] for the model alone."""
    size = summary["settings"].get("ensemble_size", 1)
    if size == 1:
        return []
    return [f"self-ensemble: the mean over {size} flips and transpositions of each input"]


def format_summary(summary):
    """A short table of the blurry input vs the deblurred output, for the terminal and README."""
    protocol = summary["settings"].get("protocol", "deepdeblur")
    lines = [
        f"{summary['num_images']} images of {summary['test_set']['description']}",
        f"protocol: {protocol} ({PROTOCOLS[protocol][1]})",
        *_ensemble_line(summary),
        "| measure | blurry | deblurred | gain |",
        "|---|---|---|---|",
    ]
    for key, label, form in MEASURES:
        values = [summary["blurry"][key], summary["deblurred"][key], summary["gain"][key]]
        lines.append(f"| {label} | " + " | ".join(form.format(v) for v in values) + " |")
    for scale, figures in summary.get("scales", {}).items():
        lines.append(
            f"| PSNR, scale {scale} | {figures['blurry_psnr']:.2f} | {figures['psnr']:.2f} | "
            f"{figures['psnr'] - figures['blurry_psnr']:.2f} |"
        )
    return "\n".join(lines)


def load_metrics(path):
    """An evaluation's metrics.json: `path` is the file or the evaluation folder holding it."""
    file = path if path.endswith(".json") else EvaluationLayout(path).metrics
    summary = read_json(file)
    if summary is None:
        raise FileNotFoundError(
            f"--compare: no evaluation at {file} (run python -m keras_deblur.evaluate first)"
        )
    if not isinstance(summary, dict) or not {"model", "test_set"} <= summary.keys():
        raise ValueError(f"--compare: {file} is not an evaluation's metrics.json")
    return summary


def _label(summary, path):
    scales = summary["model"].get("num_scales")
    return f"K={scales}" if scales else posixpath.basename(path.rstrip("/"))


def compare_table(paths, labels=None):
    """Several evaluations side by side, in the shape of the paper's Table 2 (models as columns).

    All must be on the same test set (equal fingerprints); otherwise a ValueError lists them.
    """
    summaries = [load_metrics(path) for path in paths]
    fingerprints = {summary["test_set"]["fingerprint"] for summary in summaries}
    if len(fingerprints) > 1:
        listing = "; ".join(
            f"{path}: {s['test_set']['fingerprint'][:12]} ({s['test_set']['description']}, "
            f"{s['num_images']} images)"
            for path, s in zip(paths, summaries)
        )
        raise ValueError(
            f"--compare: the evaluations are on different test sets, not comparable: {listing}"
        )
    labels = list(labels) if labels else [_label(s, p) for s, p in zip(summaries, paths)]
    if len(labels) != len(paths):
        raise ValueError(f"--compare_labels: {len(labels)} labels for {len(paths)} evaluations")
    first = summaries[0]
    lines = [
        f"Test set {first['test_set']['description']}, {first['num_images']} images, "
        f"fingerprint {first['test_set']['fingerprint'][:12]}",
        "| Measure | Blurry | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for key, label, form in MEASURES:
        cells = [form.format(first["blurry"][key])] + [
            form.format(s["deblurred"][key]) for s in summaries
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
