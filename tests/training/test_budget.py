"""--train_minutes: the run plans the steps it can reach and fits the learning-rate decay to
them."""

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.training import budget
from keras_deblur.training.loop import train
from tests.training.conftest import tiny_config


def _rates(schedule, steps):
    return [float(schedule(tf.constant(s, tf.int64))) for s in steps]


def test_the_schedule_is_piecewise_and_stretches_with_the_plan():
    planned = tf.Variable(1000, dtype=tf.int64)
    schedule = budget.FittedPiecewiseDecay([500, 750], [1.0, 0.1, 0.01], 1000, planned)
    assert _rates(schedule, [0, 499, 500, 749, 750, 999]) == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )
    planned.assign(100)  # a tenth of the steps: the decays come at steps 50 and 75
    assert _rates(schedule, [49, 50, 74, 75]) == pytest.approx([1, 0.1, 0.1, 0.01])


def test_the_plan_fits_the_budget_and_freezes_at_the_first_decay(monkeypatch):
    clock = iter(np.arange(0.0, 10_000.0, 1.0))  # one second per step
    monkeypatch.setattr(budget.time, "perf_counter", lambda: next(clock))
    plan = budget.TimeBudget(minutes=2, train_steps=1000, first_decay_step=500)
    plans = {}
    for step in range(1, 121):
        plan.after_step(step, seconds=1.0)
        plans[step] = plan.planned
    assert plans[budget.WARMUP_STEPS + budget.MIN_RATE_STEPS - 1] == 1000  # not measured enough yet
    assert plans[40] == 120  # 40 s spent, 80 s left at one step a second
    # The decay comes at half the plan (step 60); from there the plan no longer moves.
    assert all(plans[step] == 120 for step in range(60, 121))


def test_without_a_decay_the_plan_ends_when_the_time_is_spent(monkeypatch):
    clock = iter(np.arange(0.0, 10_000.0, 1.0))
    monkeypatch.setattr(budget.time, "perf_counter", lambda: next(clock))
    plan = budget.TimeBudget(minutes=1, train_steps=1000, first_decay_step=None)
    step = 0
    while step < plan.planned:  # the loop's condition
        step += 1
        plan.after_step(step, seconds=1.0)
    assert step == 60


def test_after_the_first_decay_the_plan_never_grows(monkeypatch):
    # One second a step, then four steps a second from step 80: a longer plan would move the decay
    # (at half the plan) back past the current step and raise the learning rate again.
    times = [0.0]
    for step in range(1, 200):
        times.append(times[-1] + (1.0 if step < 80 else 0.25))
    clock = iter(times)
    monkeypatch.setattr(budget.time, "perf_counter", lambda: next(clock))
    plan = budget.TimeBudget(minutes=2, train_steps=1000, first_decay_step=500)
    planned = {}
    for step in range(1, 150):
        plan.after_step(step, seconds=1.0 if step < 80 else 0.25)
        planned[step] = plan.planned
    assert planned[60] == 120  # the decay comes at step 60
    assert all(planned[step] <= 120 for step in range(60, 150))


def test_no_budget_keeps_train_steps():
    plan = budget.TimeBudget(minutes=0, train_steps=7, first_decay_step=4)
    for step in range(1, 8):
        plan.after_step(step, seconds=100.0)
    assert plan.planned == 7 and float(plan.elapsed_seconds) == 700.0


@pytest.mark.slow
def test_a_budgeted_run_stops_in_time_and_resumes_with_its_plan(scenes_dir, tmp_path):
    config = tiny_config(
        tmp_path / "run",
        scenes_dir,
        train_steps=100_000,
        train_minutes=0.2,
        lr_decay_steps=(75_000,),
        num_validation_images=0,
        checkpoint_every_steps=10,
    )
    summary = train(config)
    assert summary["step"] == summary["planned_steps"] < 100_000
    assert 0.1 < summary["minutes"] < 0.4
    again = train(config)  # the plan was reached: resuming trains no further
    assert again["step"] == summary["step"] and again["planned_steps"] == summary["planned_steps"]
