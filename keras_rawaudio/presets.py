"""Named presets: the `ModelConfig` fields that differ from its defaults (which are `edge`'s)."""

from keras_rawaudio.config import ModelConfig, Stage
from keras_rawaudio.errors import ConfigError

PRESETS: dict[str, dict] = {
    # <= 1 M parameters and <= 75 M multiply-accumulates per second of audio:
    # trains on a 2-core CPU, runs in real time on a Raspberry Pi. Its raw front-end is the
    # Gabor filterbank (mel-spaced, learnable, kept at its start by default): with a few hundred
    # clips it beat the paper's 1D CNN by 0.13 mAP (docs/benchmarks/accuracy.md), and it
    # costs 5 M of the 32 M MACs.
    "edge": {},
    # The paper's 1D CNN front-end, with ResNet widths sized for AudioSet on a GPU.
    "paper": {
        "frontend": "cnn",
        "stem_filters": 32,
        "stem_stride": 2,
        "frontend_stages": (
            Stage(64, 5, 2, 2),
            Stage(96, 5, 2, 2),
            Stage(128, 9, 4, 2),
            Stage(128, 11, 5, 2),
        ),
        "mel_bins": 128,
        "resnet_stem_filters": 64,
        "resnet_stages": (
            Stage(64, 3, (2, 2), 2),
            Stage(128, 3, (2, 2), 2),
            Stage(256, 3, (2, 2), 2),
            Stage(512, 3, (2, 2), 2),
        ),
        "num_heads": 3,
        "head_units": 512,
        "dropout": 0.2,
    },
    # A smoke-test size (about 40 k parameters): seconds per epoch on a CPU, for tests and for
    # checking a pipeline end to end, not for accuracy. The paper's CNN front-end, so that the
    # tests exercise both (the `edge` test fixture has the Gabor one).
    "tiny": {
        "frontend": "cnn",
        "frontend_stages": (Stage(16, 5, 2), Stage(16, 9, 4), Stage(16, 11, 5)),
        "resnet_stem_filters": 8,
        "resnet_stages": (Stage(8, 3, (2, 2)), Stage(16, 3, (2, 2)), Stage(16, 3, (2, 2))),
        "head_units": 16,
        "mel_bins": 16,
    },
}


def preset_config(name: str, num_classes: int, **overrides) -> ModelConfig:
    """The `ModelConfig` of preset `name` with `num_classes` and any field overridden."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return ModelConfig(num_classes=num_classes, **{**PRESETS[name], **overrides})
