"""The frozen configuration of a training run, built from flags by `train.py` (or by hand)."""

import dataclasses
import math
from typing import Optional

from keras_deblur import precision
from keras_deblur.data.input_pipeline import InputConfig
from keras_deblur.data.pairs import DEFAULT_BLUR_KEY
from keras_deblur.models.specs import DISCRIMINATOR_SPECS, GeneratorSpec
from keras_deblur.models.winograd import check_conv_algorithm

# What --mixed_precision may say with --conv_algorithm=winograd: auto then means float32.
WINOGRAD_PRECISIONS = ("auto", "float32", "none")

STRATEGIES = ("auto", "mirrored", "multi_worker", "one_device")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on. The defaults are the paper's recipe (gopro.flags), but for
    rotation by right angles and `mixed_precision="auto"` (BUILD.md, "The paper against the
    authors' code")."""

    run_dir: str = ""  # the commands require --run_dir
    data_dir: str = ""  # or train_tfrecords / test_tfrecords
    # shards instead of data_dir's train split (the pipeline's ingest writes them)
    train_tfrecords: tuple = ()
    test_tfrecords: tuple = ()  # shards for validation instead of data_dir's test split
    blur_key: str = DEFAULT_BLUR_KEY
    skip_bad_pairs: bool = False
    generator: GeneratorSpec = GeneratorSpec()
    discriminator: str = "paper"
    input: InputConfig = InputConfig()
    train_steps: int = 450_000
    train_minutes: float = (
        0.0  # a time budget (budget.py): train_steps is then an upper bound; 0 = none
    )
    learning_rate: float = 5e-5
    lr_decay_steps: tuple = (150_000,)
    lr_decay_factor: float = 0.1
    content_loss: str = "mse"
    adversarial_weight: float = 1e-4
    strategy: str = "auto"
    mixed_precision: str = "auto"  # precision.PRECISIONS; auto measures what is fastest here
    jit_compile: bool = False
    # The generator's convolutions in the train step: "direct", or "winograd" (models/winograd.py:
    # float32 only, each conv compiled by XLA on its own, winograd_units.py; for CPUs without
    # AVX-512, BUILD.md).
    conv_algorithm: str = "direct"
    deterministic: bool = False
    seed: int = 0
    init_from: Optional[str] = None
    # Training steps per call of the step function (Orbit's steps_per_loop): fewer waits for the
    # device; calls always end where the loop logs, previews, validates, checkpoints or profiles.
    steps_per_loop: int = 10
    checkpoint_every_steps: int = 1000
    log_every_steps: int = 100
    image_every_steps: int = 1000
    validate_every_steps: int = 5000
    num_validation_images: int = 8
    profile_steps: tuple = ()  # (first, last): steps traced by the TensorBoard profiler; () = none

    def __post_init__(self):
        for name in (
            "train_steps",
            "steps_per_loop",
            "checkpoint_every_steps",
            "log_every_steps",
            "image_every_steps",
            "validate_every_steps",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1, got {getattr(self, name)}")
        # Written so that nan fails too (every comparison with nan is False), and inf where it
        # cannot mean anything: the budget's plan and the rate's steps are counted from them.
        if not 0 <= self.train_minutes < math.inf:
            raise ValueError(
                f"--train_minutes must be a number >= 0 (0: no budget), got {self.train_minutes}"
            )
        if not 0 <= self.seed < 2**32:  # keras.utils.set_random_seed's range, named here
            raise ValueError(f"--seed must be in [0, 2**32), got {self.seed}")
        if self.num_validation_images < 0:
            raise ValueError(
                f"--num_validation_images must be >= 0, got {self.num_validation_images}"
            )
        if not 0 < self.learning_rate < math.inf:
            raise ValueError(f"--learning_rate must be a number > 0, got {self.learning_rate}")
        if not 0 < self.lr_decay_factor < math.inf:
            raise ValueError(f"--lr_decay_factor must be a number > 0, got {self.lr_decay_factor}")
        if list(self.lr_decay_steps) != sorted(set(self.lr_decay_steps)) or any(
            s < 1 for s in self.lr_decay_steps
        ):
            raise ValueError(
                f"--lr_decay_steps must be increasing positive steps, got "
                f"{list(self.lr_decay_steps)}"
            )
        first_last = self.profile_steps
        if first_last and (len(first_last) != 2 or not 1 <= first_last[0] <= first_last[1]):
            raise ValueError(
                f"--profile_steps must be FIRST,LAST with 1 <= FIRST <= LAST, got "
                f"{list(self.profile_steps)}"
            )
        if not 0 <= self.adversarial_weight < math.inf:
            raise ValueError(
                f"--adversarial_weight must be a number >= 0, got {self.adversarial_weight}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(f"--strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        precision.check(self.mixed_precision)
        check_conv_algorithm(self.conv_algorithm)
        if self.conv_algorithm == "winograd" and self.mixed_precision not in WINOGRAD_PRECISIONS:
            raise ValueError(
                f"--conv_algorithm=winograd trains in float32: --mixed_precision must be one of "
                f"{WINOGRAD_PRECISIONS}, got {self.mixed_precision!r}"
            )
        if self.discriminator not in DISCRIMINATOR_SPECS:
            raise ValueError(
                f"--discriminator_spec must be one of {sorted(DISCRIMINATOR_SPECS)}, got "
                f"{self.discriminator!r}"
            )

    @property
    def global_batch_size(self):
        return self.input.batch_size

    def schedule_summary(self):
        """One line: the learning rate and the steps where it decays."""
        within = [step for step in self.lr_decay_steps if step < self.train_steps]
        if not within:
            past = " (--lr_decay_steps is past the end)" if self.lr_decay_steps else ""
            return (
                f"learning rate {self.learning_rate:g}, constant: no decay within "
                f"{self.train_steps} steps{past}"
            )
        decays = ", ".join(f"{step} ({step / self.train_steps:.0%})" for step in within)
        fitted = (
            "; under --train_minutes each keeps its share of the steps the budget allows"
            if self.train_minutes
            else ""
        )
        return (
            f"learning rate {self.learning_rate:g}, times {self.lr_decay_factor:g} at step "
            f"{decays} of {self.train_steps}{fitted}"
        )

    def learning_rate_values(self):
        """The learning rate on each piece of the schedule: lr, lr * f, lr * f^2, ..."""
        return [
            self.learning_rate * self.lr_decay_factor**i
            for i in range(len(self.lr_decay_steps) + 1)
        ]
