"""The training tier: `Schedule` (what a run does), the loop (`fit_mix_then_finetune`, `train`),
its callbacks, front-end pretraining, and the run directory it owns.

`python -m keras_rawaudio.train` is the command (`__main__`).
"""

from keras_rawaudio.train.loop import (
    CHECKPOINT_SECONDS,
    best_epoch,
    build_model,
    fit_mix_then_finetune,
    train,
)
from keras_rawaudio.train.run_directory import RunDirectory, TrainingError, training_window
from keras_rawaudio.train.schedule import Phase, Schedule

__all__ = [
    "CHECKPOINT_SECONDS",
    "Phase",
    "RunDirectory",
    "Schedule",
    "TrainingError",
    "best_epoch",
    "build_model",
    "fit_mix_then_finetune",
    "train",
    "training_window",
]
