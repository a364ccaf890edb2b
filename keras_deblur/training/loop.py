"""The training loop: one `DeblurGAN.train_step` per step under a tf.distribute strategy.

One loop serves every strategy. Keras `fit` runs the same train_step under MirroredStrategy, but
under MultiWorkerMirroredStrategy it fails at the first step (keras-team/keras issue 20585, measured
here: "Attempt to convert a value (PerReplica:{...})"), and it cannot checkpoint the input position.
So each worker reads its own plain tf.data iterator (checkpointable), splits its batch among its
local replicas, and calls `strategy.run(gan.train_step, ...)` inside a tf.function (`step.py`),
several steps per call: up to `steps_per_loop`, and always stopping at the steps where something
happens (a log, preview, validation, checkpoint, the profiler's window, the plan's end), so those
happen at exactly the same steps whatever `steps_per_loop` is. This module is the controller:
`assembly.py` builds the run, `actions.py` holds what happens at the stops.

Fault tolerance: a checkpoint holds the step, both networks, both optimizers (with the schedule
position) and the input iterator. tf.train.CheckpointManager writes a checkpoint's files first and
then atomically replaces its state file, so a run killed at any moment, SIGKILL included, restarts
from the last complete checkpoint; a half-written one is never read.
"""

import contextlib
import dataclasses
import math
import time

import keras
import tensorflow as tf

from keras_deblur import file_io, precision
from keras_deblur.data.input_pipeline import training_dataset
from keras_deblur.models.generator import with_dtype_policy
from keras_deblur.precision import dtype_policy
from keras_deblur.run_layout import RunLayout
from keras_deblur.runs import save_generator
from keras_deblur.training import actions, assembly, budget, resume, run_info, run_lock
from keras_deblur.training.step import make_step_function
from keras_deblur.training.strategy import make_strategy


class TrainingDivergedError(ValueError):
    """A loss became NaN or infinite (a bad --learning_rate or bad data, typically)."""


def _remove_leftovers(run_dir, checkpoint_dir, is_chief):
    """Removes what a killed training left half-written: TensorFlow's `ckpt-N_temp` folders (each
    as large as a checkpoint; this worker owns its checkpoint folders under the run lock) and the
    package's temporaries of dead writers."""
    folders = [checkpoint_dir] + ([RunLayout(run_dir).best] if is_chief else [])
    removed = [
        path
        for folder in folders
        for path in file_io.remove_dead_leftovers(folder, also=r".+_temp")
    ]
    removed += file_io.remove_dead_leftovers(run_dir)
    if removed:
        print(
            f"removed {len(removed)} half-written file(s) of an earlier, killed run: "
            f"{', '.join(removed)}",
            flush=True,
        )


def _next_stop(step, planned, config):
    """The step the next call of the step function runs to: at most `steps_per_loop` ahead, and
    no later than the next step where the loop has something to do."""
    stops = [step + config.steps_per_loop, planned]
    for every in (
        config.checkpoint_every_steps,
        config.log_every_steps,
        config.image_every_steps,
        config.validate_every_steps,
    ):
        stops.append((step // every + 1) * every)
    if config.profile_steps:
        first, last = config.profile_steps
        stops += [s for s in (first - 1, last) if s > step]
    return min(stops)


def _check_workers_agree(strategy, topology, step):
    """Stops every worker, naming each one's step, if they resumed at different steps. Each worker
    restores its own checkpoints, so a kill between two workers' saves, or a new worker with none,
    would otherwise apply the same gradients to different weights, then hang when one worker
    finished first."""
    steps = strategy.gather(
        strategy.run(tf.function(lambda: tf.constant([step], tf.int64))), axis=0
    ).numpy()
    per_worker = steps.reshape(topology.num_workers, -1)[:, 0].tolist()
    if len(set(per_worker)) > 1:
        at = ", ".join(f"worker {i} at step {s}" for i, s in enumerate(per_worker))
        raise ValueError(
            f"the workers resumed at different steps ({at}): a kill came between their "
            "checkpoints, or workers were added; make every checkpoints/ folder's latest "
            "checkpoint the same step (delete the later ckpt-N files and point each folder's "
            "`checkpoint` file at that step), then start them again"
        )


def _optimizer_state(name, optimizer):
    """What the checkpoint holds of an optimizer, by name. Under mixed_float16 it is wrapped in
    loss scaling, which the checkpoint would hold as another structure, so a run could not resume
    in another precision (`auto` picks float16 on some GPUs only). Adam is held under `name` either
    way; the loss scale beside it, as `<name>_loss_scale` (a resume without one starts it afresh,
    and it adapts within steps)."""
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return {name: optimizer}
    loss_scale = tf.train.Checkpoint(
        step_counter=optimizer.step_counter, dynamic_scale=optimizer.dynamic_scale
    )
    return {name: optimizer.inner_optimizer, f"{name}_loss_scale": loss_scale}


def train(config, flags_text=None):
    """Trains (or resumes) the run in config.run_dir. Returns a summary dict.

    The global Keras dtype policy is the run's precision while it trains and comes back after, so
    what the same process builds or loads next (the pipeline's push) is not built in bf16.

    Args:
      config: a TrainConfig.
      flags_text: the resolved flags, written to run_dir/flags.txt (the entry point passes them).
    """
    with contextlib.ExitStack() as cleanup:
        return _train(config, flags_text, cleanup)


def _set_aside_final_generator(run_dir, step):
    """A finished run resumed to train on: its generator.keras, the earlier end's, becomes
    generator-step<step>.keras. Left in place, evaluate and export of the run directory would read
    it as the run's model while the checkpoints moved past it, and a run killed before its new end
    would keep it under that name; now they say the run has not finished."""
    layout = RunLayout(run_dir)
    if tf.io.gfile.exists(layout.generator):
        kept = layout.earlier_generator(step)
        tf.io.gfile.rename(layout.generator, kept)
        print(
            f"training on from step {step}: the generator it ended with is kept as {kept}; "
            "generator.keras is written when this run finishes",
            flush=True,
        )


def _train(config, flags_text, cleanup):
    strategy, topology = make_strategy(
        config.strategy
    )  # first: multi_worker must start before TF work
    if config.train_minutes and topology.num_workers > 1:
        raise ValueError(
            "--train_minutes needs one host: workers planning their own step counts would disagree"
        )
    if config.global_batch_size % topology.num_replicas:
        raise ValueError(
            f"--global_batch_size={config.global_batch_size} does not divide across "
            f"{topology.num_replicas} replicas"
        )
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    if config.conv_algorithm == "winograd":  # TrainConfig allows only auto or float32 with it
        policy, why = "float32", "--conv_algorithm=winograd computes in float32"
    else:
        policy, why = precision.resolve(config.mixed_precision)
    if topology.is_chief:
        print(precision.describe(policy, why), flush=True)
    cleanup.enter_context(dtype_policy(policy))

    train_pairs, validation_pairs = assembly.discover(config)
    # Before anything is written: a second training on this run directory stops here, naming the
    # first.
    cleanup.enter_context(run_lock.hold(config.run_dir, topology.worker_index))
    checkpoint_dir = RunLayout(config.run_dir).checkpoints(topology.worker_index)
    stored = (
        resume.stored_config(config.run_dir) if tf.train.latest_checkpoint(checkpoint_dir) else None
    )
    if stored is not None:
        changed = resume.check_settings(config.run_dir, stored, config)
        if changed and topology.is_chief:
            print(f"resuming with changed settings: {'; '.join(changed)}", flush=True)
    worker_input = dataclasses.replace(
        config.input,
        batch_size=config.global_batch_size // topology.num_workers,
        seed=config.input.seed + 1_000_003 * topology.worker_index,
    )
    worker_source = train_pairs[topology.worker_index :: topology.num_workers]
    if not worker_source:
        raise ValueError(
            f"{len(train_pairs)} training shards cannot feed {topology.num_workers} workers: "
            "write at least one shard per worker"
        )
    dataset = training_dataset(worker_source, worker_input)
    iterator = iter(dataset)

    # Outside the strategy's scope, like the step: plain variables the chief's loop reads and sets.
    plan = budget.TimeBudget(
        config.train_minutes,
        config.train_steps,
        config.lr_decay_steps[0] if config.lr_decay_steps else None,
    )
    with strategy.scope():
        gan = assembly.build_gan(config, plan.planned_steps)
    generator = gan.generator
    step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    tracked = {
        "step": step_var,
        "generator": generator,
        **_optimizer_state("g_optimizer", gan.g_optimizer),
        "iterator": iterator,
        "planned_steps": plan.planned_steps,
        "elapsed_seconds": plan.elapsed_seconds,
    }
    if gan.uses_discriminator:
        tracked.update(
            discriminator=gan.discriminator, **_optimizer_state("d_optimizer", gan.d_optimizer)
        )
    checkpoint = tf.train.Checkpoint(**tracked)
    # Every worker keeps its own checkpoints: they share the weights but not the input position.
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)
    _remove_leftovers(config.run_dir, checkpoint_dir, topology.is_chief)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        print(f"resuming from {manager.latest_checkpoint} at step {int(step_var)}", flush=True)
        planned_before = plan.planned
        if not config.train_minutes or plan.planned > config.train_steps:
            # No budget: the plan is --train_steps as given now (a resume may raise it). With one,
            # the checkpointed plan holds, capped by a lower --train_steps.
            plan.planned_steps.assign(config.train_steps)
        if stored is not None:
            resume.check_rate(
                config.run_dir, stored, config, int(step_var), planned_before, plan.planned
            )
        if int(step_var) >= plan.planned:
            fixed = (
                " (a budgeted run's plan is fixed at its first decay; to train on, use a new "
                "--run_dir with --init_from)"
                if config.train_minutes
                else ""
            )
            print(f"nothing to train: the run's {plan.planned} steps are done{fixed}", flush=True)
        elif topology.is_chief:
            _set_aside_final_generator(config.run_dir, int(step_var))
    elif config.init_from:
        assembly.init_generator(generator, config.init_from)
    if topology.num_workers > 1:
        _check_workers_agree(strategy, topology, int(step_var))

    if topology.is_chief:
        run_info.write_run_info(
            config.run_dir,
            config,
            flags_text,
            extra={
                "strategy": type(strategy).__name__,
                "replicas": topology.num_replicas,
                "workers": topology.num_workers,
                "precision": {"policy": policy, "why": why},
                "xla": config.jit_compile,
            },
        )
    reporter = actions.Reporter(config, gan, train_pairs, validation_pairs, topology.is_chief)
    step_fn = make_step_function(gan, strategy, topology, iterator, config.jit_compile)
    step = int(step_var)
    start_step, start_time = step, time.perf_counter()
    profiler = actions.Profiler(config, topology.is_chief)
    print(config.schedule_summary(), flush=True)
    if config.train_minutes:
        print(
            f"budget: {config.train_minutes:g} minutes, at most {config.train_steps} steps; the "
            f"steps and the "
            "learning-rate decay are fitted to the measured speed",
            flush=True,
        )
    last = time.perf_counter()
    try:
        while step < plan.planned:
            stop = _next_stop(step, plan.planned, config)
            profiler.before_step(step + 1)
            logs = {name: float(value) for name, value in step_fn(stop - step).items()}
            count, step = stop - step, stop
            step_var.assign(step)
            profiler.after_step(step)
            bad = {name: value for name, value in logs.items() if not math.isfinite(value)}
            if bad:
                raise TrainingDivergedError(
                    f"{bad} by step {step}: training stopped without saving. The last good "
                    f"checkpoint is {manager.latest_checkpoint}; lower --learning_rate or check "
                    "the data, then rerun to resume."
                )
            now = time.perf_counter()
            plan.after_step(step, now - last, count)  # before the save: the plan may end the run
            reporter.after_step(step, logs, (step - start_step) / (now - start_time), plan.planned)
            if step % config.checkpoint_every_steps == 0 or step >= plan.planned:
                manager.save(checkpoint_number=step)
            last = now  # a save's time counts in the next call's
    finally:
        profiler.stop()  # a failed or diverged step inside the window still ends the trace
    reporter.flush()
    if topology.is_chief:
        # Saved in float32 whatever it trained in: the precision to run it in is chosen where it
        # runs.
        saved = generator if policy == "float32" else with_dtype_policy(generator, "float32")
        save_generator(saved, RunLayout(config.run_dir).generator)
    return {
        "step": step,
        "planned_steps": plan.planned,
        "minutes": float(plan.elapsed_seconds) / 60.0,
        "checkpoint": manager.latest_checkpoint,
        # None until a validation has run (the record's placeholder is a PSNR of -inf).
        "best": reporter.best.record if reporter.best and "step" in reporter.best.record else None,
    }
