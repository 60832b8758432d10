"""keras-rawaudio: sound-event classification from raw waveforms with mix-training.

Names are imported on first use, so TensorFlow-free modules (`audio_io`, `layouts`) load
without TensorFlow: decode workers and the edge runner depend on that.
"""

import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_EXPORTS = {
    "ModelConfig": "config",
    "Stage": "config",
    "PRESETS": "config",
    "preset_config": "config",
    "AttentionPooling": "layers",
    "LogMelSpectrogram": "layers",
    "AudioClassifier": "models",
    "RawWaveformClassifier": "models",
    "LogMelClassifier": "models",
    "macs_per_second": "profiling",
    "model_summary": "profiling",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"keras_rawaudio.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'keras_rawaudio' has no attribute {name!r}")
