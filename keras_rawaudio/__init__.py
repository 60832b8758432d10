"""keras-rawaudio: sound-event classification from raw waveforms with mix-training."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_rawaudio.config import PRESETS, ModelConfig, Stage, preset_config  # noqa: E402
from keras_rawaudio.layers import AttentionPooling, LogMelSpectrogram  # noqa: E402
from keras_rawaudio.models import AudioClassifier, LogMelClassifier, RawWaveformClassifier  # noqa: E402
from keras_rawaudio.profiling import macs_per_second, model_summary  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "AttentionPooling",
    "AudioClassifier",
    "LogMelClassifier",
    "LogMelSpectrogram",
    "ModelConfig",
    "RawWaveformClassifier",
    "Stage",
    "macs_per_second",
    "model_summary",
    "preset_config",
]
