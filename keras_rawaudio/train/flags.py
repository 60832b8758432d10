"""The training flags, generated from the fields of `Schedule`, `DataOptions` and `ModelConfig`
(their help, bounds and choices are on the fields), shared by `train` and `ablate`."""

from keras_rawaudio import cli
from keras_rawaudio.config import ModelConfig
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.train.schedule import Schedule


def define_training_flags(one_run=True):
    """The flags of a `Schedule` and its `DataOptions` (defaults: `Schedule()`'s), and of the
    `ModelConfig` fields a run may override (default: the preset's). Without `one_run` (a
    command that trains several models, each its own way) no --mix and no --init_model."""
    default = Schedule()
    cli.define_field_flags(DataOptions, default.data, exclude=() if one_run else ("mix",))
    cli.define_field_flags(Schedule, default, exclude=() if one_run else ("init_model",))
    cli.define_field_flags(ModelConfig, preset_default=True)


def schedule_from_flags(FLAGS) -> Schedule:
    """The `Schedule` of the training flags (see `define_training_flags`)."""
    one_run = "mix" in FLAGS
    data = DataOptions(**cli.field_values(DataOptions, exclude=() if one_run else ("mix",)))
    if not one_run:
        data = data.replace(mix=Schedule().data.mix)
    schedule = cli.field_values(Schedule, exclude=() if one_run else ("init_model",))
    return Schedule(data=data, **schedule)


def model_overrides_from_flags(FLAGS) -> dict:
    """The ModelConfig fields that flags set (the others keep the preset's)."""
    return cli.field_values(ModelConfig, given_only=True)
