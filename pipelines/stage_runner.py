"""Runs pipeline stages with content-addressed outputs, so reruns skip and failures resume.

A stage's key is the SHA-256 of its inputs' content fingerprints and its parameters (never
timestamps). Its outputs live in `<root>/<stage>/<key[:16]>/`; `stage.json` (inputs with their
fingerprints, parameters, outputs with theirs, metrics, timings) is written last, atomically, and
its presence means the stage finished:
- same inputs and parameters -> the folder exists with `stage.json`: the stage is skipped;
- a changed parameter or input -> a new key, a new folder: that stage reruns, and since its outputs'
  fingerprints change, so do the stages after it; earlier results stay cached;
- a stage killed midway left its folder without `stage.json`: the rerun calls the stage again in the
  same folder, and each stage resumes from what it left (training from its last checkpoint,
  evaluation from its per-image log; ingest writes to a temporary folder renamed at the end).
"""

import hashlib
import json
import os
import time

from keras_deblur.file_io import files_digest, write_text

RECORD = "stage.json"


def fingerprint(path):
    """SHA-256 over the relative names and contents of the files under `path` (or of one file)."""
    digest = hashlib.sha256()
    if os.path.isfile(path):
        files = [(os.path.basename(path), path)]
    else:
        files = sorted(
            (os.path.relpath(os.path.join(folder, name), path), os.path.join(folder, name))
            for folder, _, names in os.walk(path)
            for name in names
        )
    if not files:
        raise FileNotFoundError(f"nothing to fingerprint at {path}")
    for relative, full in files:
        digest.update(relative.encode("utf-8") + b"\0" + files_digest([full]).encode("ascii"))
    return digest.hexdigest()


def _key(inputs, params):
    text = json.dumps({"inputs": inputs, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_stage(root, name, inputs, params, body, still_valid=None):
    """Runs (or skips) one stage and returns its record.

    Args:
      root: the pipeline root.
      name: the stage's name, its folder under root.
      inputs: {input name: content fingerprint} (from `fingerprint` or an earlier stage's record).
      params: JSON-able parameters of the stage.
      body: `body(output_dir) -> {"outputs": {name: path}, "metrics": {...}}`, resumable in
      output_dir.
      still_valid: for a stage that also depends on the world outside the pipeline (the gate: on
        the model pushed now), `still_valid(record)` says whether a finished record still holds;
        if not, the record is set aside (`stage.json.stale`) and the stage runs again.
    """
    key = _key(inputs, params)
    output_dir = os.path.join(root, name, key[:16])
    record_path = os.path.join(output_dir, RECORD)
    if os.path.exists(record_path):
        with open(record_path) as file:
            record = json.load(file)
        if still_valid is None or still_valid(record):
            print(
                f"[pipeline] {name}: unchanged inputs and parameters, skipped ({output_dir})",
                flush=True,
            )
            return {**record, "skipped": True}
        os.replace(record_path, f"{record_path}.stale")
    resumed = os.path.isdir(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    print(f"[pipeline] {name}: {'resuming' if resumed else 'running'} in {output_dir}", flush=True)
    start = time.time()
    result = body(output_dir)
    outputs = result.get("outputs", {})
    record = {
        "stage": name,
        "key": key,
        "inputs": inputs,
        "params": params,
        "outputs": outputs,
        "output_fingerprints": {k: fingerprint(v) for k, v in outputs.items()},
        "metrics": result.get("metrics", {}),
        "seconds": time.time() - start,
        "resumed": resumed,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text(record_path, json.dumps(record, indent=2, default=str))
    print(
        f"[pipeline] {name}: done in {record['seconds']:.1f} s; outputs: "
        f"{', '.join(outputs.values()) or output_dir}",
        flush=True,
    )
    return {**record, "skipped": False}
