import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402

from keras_rawaudio.config import ModelConfig, Stage  # noqa: E402


@pytest.fixture
def tiny_config():
    """A small, fast model of the same structure as the presets (3 classes)."""
    return ModelConfig(
        num_classes=3,
        stem_filters=4,
        frontend_stages=(Stage(8, 5, 2), Stage(8, 9, 4), Stage(16, 11, 5)),
        mel_bins=16,
        resnet_stem_filters=4,
        resnet_stages=(Stage(4, 3, (2, 2)), Stage(8, 3, (2, 2)), Stage(8, 3, (2, 2))),
        head_units=8,
    )
