"""keras-rawaudio: sound-event classification from raw waveforms with mix-training.

Importing the package registers its Keras classes, so `keras.saving.load_model` reads its
`.keras` files. With KERAS_RAWAUDIO_IO_ONLY=1 in the environment only the TensorFlow-free
modules (`audio_io`, `layouts`) are usable: decode workers and the edge runner set it.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

if os.environ.get("KERAS_RAWAUDIO_IO_ONLY") != "1":
    from keras_rawaudio import metrics  # noqa: F401 - registers the metrics for load_model
    from keras_rawaudio.config import PRESETS, ModelConfig, Stage, preset_config
    from keras_rawaudio.layers import AttentionPooling, LogMelSpectrogram
    from keras_rawaudio.models import AudioClassifier, LogMelClassifier, RawWaveformClassifier
    from keras_rawaudio.profiling import macs_per_second, model_summary

    __all__ = [
        "PRESETS", "AttentionPooling", "AudioClassifier", "LogMelClassifier", "LogMelSpectrogram",
        "ModelConfig", "RawWaveformClassifier", "Stage", "macs_per_second", "model_summary",
        "preset_config",
    ]
