"""What a training run does: its phases, their epochs and learning rates (`Schedule`)."""

import dataclasses

import keras

from keras_rawaudio.config import check_fields, field
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.errors import ConfigError
from keras_rawaudio.models.classifiers import WEIGHT_DECAY

LR_SCHEDULES = ("constant", "warmup_cosine")
MAX_EPOCHS = 100_000
MAX_STEPS = 10_000_000  # batches an epoch


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of a `Schedule`: its name (the files of its best weights), mixing, epochs and
    rate."""

    name: str
    mix: str
    epochs: int
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class Schedule:
    """What `fit_mix_then_finetune` does; stored in config.json so a resume can check it.

    Args:
        data: the batches of phase 1 (`data.mix` is its mixing; phase 2 is unmixed) and
            `data.clip_seconds`, the training window that validation, evaluation and export use.
        epochs: phase-1 epochs. finetune_epochs: phase-2 epochs.
        learning_rate: phase-1 rate; finetune_learning_rate: phase 2's (default a tenth).
        lr_schedule: 'constant', or 'warmup_cosine': phase 1 rises linearly from 0 over
            `warmup_epochs`, then both phases decay to 0 along a cosine by their last step.
        weight_decay: AdamW's decoupled weight decay of the convolution and dense kernels
            (`AudioClassifier.compile`); each step shrinks them by learning rate × weight_decay.
        weight_averaging_epochs: validation and checkpoints (best.keras too) see an exponential
            moving average of the weights over about this many epochs' steps (`AveragedWeights`);
            the training steps move the weights themselves. 0: the weights themselves.
        steps_per_epoch: batches per epoch (default: the whole batches of one pass over the
            train split, at least `min_steps_per_epoch`). Training reads the split as one
            endless stream of passes, each reshuffled with new crops and mixes, and an epoch is
            this many batches of it, so no clip is dropped at a pass's end.
        min_steps_per_epoch: an epoch of a train split smaller than this many batches spans
            several passes, up to this many batches, so a small dataset still
            gets about the optimizer steps the recipe was measured with (9-11 an epoch on
            drums16k); one pass over a quarter of it was 2, a 120-step first phase.
        frontend_pretraining_epochs: epochs (passes over the unmixed train split) that first
            fit the raw model's learned filterbank to a log-mel image
            (`keras_rawaudio.train.pretraining`); 0: start from random weights. The log-mel
            model, whose filterbank is fixed, skips this step.
        init_model: a warm start: the `.keras` file of a classifier of the same preset and
            front-end (another run's best.keras, trained on other data or labels) whose weights
            the model starts from (`train.loop.warm_start`; the class layers of another label
            set start anew). The front-end comes from it, so front-end pretraining is skipped.
    """

    data: DataOptions = DataOptions(mix="mix_training", seed=0)
    epochs: int = field(60, "Phase-1 epochs.", lower=0, upper=MAX_EPOCHS)
    finetune_epochs: int = field(
        10, "Phase-2 (unmixed fine-tuning) epochs.", lower=0, upper=MAX_EPOCHS
    )
    learning_rate: float = field(3e-3, "Phase-1 learning rate.", lower=0)
    finetune_learning_rate: float | None = field(
        None, "Phase-2 learning rate (default: learning_rate / 10).", lower=0
    )
    lr_schedule: str = field(
        "warmup_cosine",
        "constant, or warmup_cosine: linear warmup (phase 1) then cosine decay to 0 in each phase.",
        choices=LR_SCHEDULES,
    )
    warmup_epochs: int = field(3, "Warmup epochs of warmup_cosine.", lower=0, upper=MAX_EPOCHS)
    weight_decay: float = field(
        WEIGHT_DECAY,
        "AdamW weight decay of the convolution and dense kernels (per unit of learning rate).",
        lower=0,
    )
    weight_averaging_epochs: float = field(
        0.0,
        "Validate and keep a moving average of the weights over about this "
        "many epochs (0: the weights themselves).",
        lower=0,
        upper=MAX_EPOCHS,
    )
    steps_per_epoch: int | None = field(
        None,
        "Batches per epoch (default: one pass over train, at least min_steps_per_epoch).",
        lower=1,
        upper=MAX_STEPS,
    )
    min_steps_per_epoch: int = field(
        8,
        "A train split of fewer batches is repeated up to this many an epoch.",
        lower=1,
        upper=MAX_STEPS,
    )
    frontend_pretraining_epochs: int = field(
        10,
        "Raw model: epochs that first fit the learned filterbank to a log-mel image (0: off).",
        lower=0,
        upper=MAX_EPOCHS,
    )
    init_model: str | None = field(
        None,
        "Warm start: a .keras classifier of the same preset and front-end (e.g. another run's "
        "best.keras) whose weights training starts from; its class layers are kept only for the "
        "same number of classes. Front-end pretraining is then skipped.",
    )

    def __post_init__(self):
        check_fields(self)  # types, bounds and choices of every field
        if self.data.clip_seconds is None:
            raise ConfigError("training needs a fixed window: set clip_seconds")
        if self.data.balanced and self.steps_per_epoch is None:
            raise ConfigError("balanced sampling is endless: set --steps_per_epoch too")
        for name in ("learning_rate", "finetune_learning_rate"):
            rate = getattr(self, name)
            if rate is not None and not rate > 0:
                raise ConfigError(
                    f"{name} must be positive, got {rate}: a rate of 0 trains nothing"
                )
        if self.epochs < 0 or self.finetune_epochs < 0 or self.epochs + self.finetune_epochs == 0:
            raise ConfigError(
                f"epochs must be >= 0 and not both 0, got {self.epochs} + {self.finetune_epochs}"
            )
        if not 0 <= self.weight_decay < 1:
            raise ConfigError(f"weight_decay must be in [0, 1), got {self.weight_decay}")

    @property
    def seed(self) -> int:
        return self.data.seed or 0

    def phases(self) -> list[Phase]:
        """Phase 1 on `data.mix` clips; phase 2 fine-tunes on unmixed clips at the lower rate."""
        mix = self.data.mix
        finetune_rate = self.finetune_learning_rate or self.learning_rate / 10
        phases = [
            Phase(mix if mix != "none" else "train", mix, self.epochs, self.learning_rate),
            Phase("finetune", "none", self.finetune_epochs, finetune_rate),
        ]
        return [p for p in phases if p.epochs > 0]

    def epoch_steps(self, train_clips: int) -> int:
        """Batches per epoch on a train split of `train_clips` clips."""
        return self.steps_per_epoch or max(
            train_clips // self.data.batch_size, self.min_steps_per_epoch
        )

    def rate(self, phase: "Phase", index: int, steps_per_epoch: int):
        """The learning rate of a phase: a number, or a Keras schedule over its steps."""
        if self.lr_schedule == "constant":
            return phase.learning_rate
        warmup = min(self.warmup_epochs, phase.epochs - 1) * steps_per_epoch if index == 0 else 0
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else phase.learning_rate,
            decay_steps=max(1, phase.epochs * steps_per_epoch - warmup),
            warmup_target=phase.learning_rate if warmup else None,
            warmup_steps=warmup,
        )

    def ema_momentum(self, steps_per_epoch: int) -> float | None:
        """The momentum of an average over `weight_averaging_epochs` epochs' steps (None: off)."""
        steps = self.weight_averaging_epochs * steps_per_epoch
        return 1 - 1 / steps if steps > 1 else None

    def replace(self, **changes) -> "Schedule":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
