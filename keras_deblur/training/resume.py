"""What a rerun on an existing run folder may change: how long it trains and how often it reports,
not what it trains.

A rerun resumes from the last checkpoint. Before, any flag could differ silently: `--init_from` was
ignored, another recipe's crops or loss went on from the same weights, a validation set of other
images was compared with the best of the first. Now the settings recorded in config.json at the
last start are compared with the rerun's: a difference outside MAY_CHANGE stops it before anything
is written, and one inside is printed. A longer or shorter run moves the learning-rate decay with
the plan (budget.py), and `--train_steps` moves a recipe's decay (flags.train_config): a resume
that would thereby move a decay already passed back beyond the current step, raising the rate
again, is refused; a rate the user changes (`--learning_rate`, say after a divergence) is theirs.
"""

import dataclasses
import json
import os

from keras_deblur import file_io
from keras_deblur.run_layout import RunLayout
from keras_deblur.training.budget import decays_passed

# TrainConfig fields a resumed run may change (run_dir is never compared: one folder has many
# spellings).
MAY_CHANGE = frozenset(
    {
        "train_steps",
        "train_minutes",
        "strategy",
        "mixed_precision",
        "jit_compile",
        "steps_per_loop",
        "checkpoint_every_steps",
        "log_every_steps",
        "image_every_steps",
        "validate_every_steps",
        "profile_steps",
        "learning_rate",
        "lr_decay_steps",
        "lr_decay_factor",
    }
)


def _flat(tree, prefix=""):
    """{"a.b": value} for a nested dict (JSON types)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(_flat(value, f"{prefix}{key}." if isinstance(value, dict) else prefix + key))
    return flat


def _as_json(config):
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def stored_config(run_dir):
    """The config a run was started with (config.json), or None for a run folder without one."""
    info = file_io.read_json(RunLayout(run_dir).config)
    return None if info is None else info["config"]


def check_settings(run_dir, stored, config):
    """The settings that differ from `stored` (a run's recorded config), as "name old -> new"
    (run_dir aside); raises ValueError naming those that may not change on a resume."""
    before, now = _flat(stored), _flat(_as_json(config))
    # Only settings both know: a field the package added or dropped since the run started is not a
    # change the user asked for.
    changed = sorted(
        name
        for name in (before.keys() & now.keys()) - {"run_dir"}
        if before[name] != now[name] and not _same_folder(name, before[name], now[name])
    )
    described = {name: f"{name} {before[name]} -> {now[name]}" for name in changed}
    refused = [name for name in changed if name.split(".")[0] not in MAY_CHANGE]
    if refused:
        flags_file = RunLayout(run_dir).flags
        # A run the pipeline trained has no flags file: its stage is rerun by the pipeline's flags.
        its_flags = f"its flags ({flags_file})" if os.path.exists(flags_file) else "its flags"
        raise ValueError(
            f"--run_dir={run_dir} was started with other settings "
            f"({'; '.join(described[name] for name in refused)}): rerun with {its_flags} to "
            "resume it, or train into a new --run_dir, with --init_from=<its checkpoint or "
            "generator.keras> to start from its weights"
        )
    return [described[name] for name in changed]


def _same_folder(name, before, now):
    """Whether two spellings of --data_dir name the same local folder ("d64" and "/data/d64",
    relative ones taken from the current folder): a rerun from elsewhere, or the pipeline's
    train stage given the folder another way, is not a change of data."""
    if name != "data_dir" or not before or not now or "://" in before + now:
        return False
    return os.path.realpath(before) == os.path.realpath(now)


def rate_at(step, config, planned):
    """The learning rate at `step` of a run of `config` (a config.json dict) whose plan is
    `planned` steps."""
    decays = decays_passed(step, config["lr_decay_steps"], config["train_steps"], planned)
    return config["learning_rate"] * config["lr_decay_factor"] ** decays


def check_rate(run_dir, stored, config, step, planned_before, planned_now):
    """Raises ValueError if resuming at `step` with the plan going from `planned_before` (the
    checkpoint's) to `planned_now` would raise the learning rate by moving a decay, not by a rate
    the user set."""
    before = rate_at(step, stored, planned_before)
    now = rate_at(step, _as_json(config), planned_now)
    user_set = (stored["learning_rate"], stored["lr_decay_factor"]) != (
        config.learning_rate,
        config.lr_decay_factor,
    )
    if now > before and not user_set:
        decays = ",".join(str(boundary) for boundary in stored["lr_decay_steps"])
        raise ValueError(
            f"--run_dir={run_dir} is at step {step}, past a learning-rate decay that this rerun "
            f"would move beyond it: the rate would rise from {before:g} to {now:g}; resume with "
            f"the run's --train_steps={stored['train_steps']} --lr_decay_steps={decays} "
            f"--train_minutes={stored['train_minutes']:g}, or train on in a new --run_dir"
        )
