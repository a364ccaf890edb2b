"""A training budget in minutes (`--train_minutes`), and the learning-rate schedule fitted to it.

The same preset runs ~6x faster on some 2-core machines than on others, so a fixed step count
cannot promise a time. With a budget, the loop measures its own rate (wall clock, validation and
checkpoints included) and plans how many steps it will reach, at most `--train_steps`; the
learning-rate decay steps are stretched by planned / train_steps, so the decay still comes at the
same fraction of the run. The plan is revised as the rate settles; once the first decay step is
reached it may only shrink, so the learning rate never jumps back up. Both the plan and the time
spent are checkpointed: a resumed run keeps them and the budget counts both processes' time.

Without a budget (0) the plan is `--train_steps` and the schedule is the plain piecewise one.
A budgeted run is not step-for-step reproducible across machines: its step count depends on speed.
"""

import time

import keras
import tensorflow as tf

WARMUP_STEPS = 5  # the first steps trace the step function: not counted in the rate
MIN_RATE_STEPS = 20  # steps measured before the first plan


def decays_passed(step, boundaries, train_steps, planned):
    """How many of `boundaries` (given for `train_steps` steps) a run planned for `planned` steps
    has reached at `step`: FittedPiecewiseDecay's schedule, in Python."""
    return sum(step >= round(boundary * planned / train_steps) for boundary in boundaries)


class FittedPiecewiseDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Piecewise-constant learning rate whose boundaries scale with the planned number of steps.

    Boundary b (given for `train_steps` steps) falls at round(b * planned / train_steps), where
    planned is read from `planned_steps` (a tf.Variable) at every step.
    """

    def __init__(self, boundaries, values, train_steps, planned_steps):
        super().__init__()
        self.boundaries, self.values = list(boundaries), list(values)
        self.train_steps, self.planned_steps = train_steps, planned_steps

    def scaled_boundaries(self):
        scale = tf.cast(self.planned_steps, tf.float64) / float(self.train_steps)
        return [tf.round(float(b) * scale) for b in self.boundaries]

    def __call__(self, step):
        step = tf.cast(step, tf.float64)
        index = tf.add_n(
            [tf.cast(step >= b, tf.int32) for b in self.scaled_boundaries()] + [tf.constant(0)]
        )
        return tf.gather(tf.constant(self.values, tf.float32), index)

    def get_config(self):
        return {
            "boundaries": self.boundaries,
            "values": self.values,
            "train_steps": self.train_steps,
        }


class TimeBudget:
    """Plans the steps a run reaches within `minutes` (0: no budget, the plan is train_steps).

    `planned_steps` and `elapsed_seconds` are tf.Variables the caller checkpoints.
    """

    def __init__(self, minutes, train_steps, first_decay_step):
        self.minutes, self.train_steps = minutes, train_steps
        self.first_decay_step = first_decay_step
        self.planned_steps = tf.Variable(
            train_steps, dtype=tf.int64, trainable=False, name="planned_steps"
        )
        self.elapsed_seconds = tf.Variable(
            0.0, dtype=tf.float64, trainable=False, name="elapsed_seconds"
        )
        self._steps_seen = 0  # steps run by this process
        self._started = None  # (step, time) where this process's rate measurement starts

    @property
    def planned(self):
        return int(self.planned_steps)

    def _frozen(self, step):
        if self.first_decay_step is None:
            return False
        return decays_passed(step, [self.first_decay_step], self.train_steps, self.planned) > 0

    def after_step(self, step, seconds, count=1):
        """Adds the wall-clock `seconds` of the `count` steps that ended at `step`; revises the plan
        while it may still change."""
        self.elapsed_seconds.assign_add(seconds)
        if not self.minutes:
            return
        self._steps_seen += count
        now = time.perf_counter()
        if self._started is None and self._steps_seen >= WARMUP_STEPS:
            self._started = (step, now)
        if self._started is None or step - self._started[0] < MIN_RATE_STEPS:
            return
        rate = (step - self._started[0]) / (now - self._started[1])
        remaining = self.minutes * 60.0 - float(self.elapsed_seconds)
        plan = min(self.train_steps, max(step, step + int(rate * remaining)))
        # A shorter plan only brings decays earlier; a longer one after the first decay would move
        # it back past this step and raise the learning rate again, so from then on only shorter.
        if plan < self.planned or (plan > self.planned and not self._frozen(step)):
            self.planned_steps.assign(plan)
