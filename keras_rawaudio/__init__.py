"""keras-rawaudio: sound-event classification from raw waveforms with mix-training.

The Keras parts (models, layers, metrics, training) load TensorFlow when first used:

    import keras_rawaudio as kr
    model = kr.RawWaveformClassifier.from_preset("edge", num_classes=10)
    model = kr.load_classifier("runs/esc50/best.keras")

The parts an edge device needs import without TensorFlow: `keras_rawaudio.audio_io`,
`layouts`, `scoring`, `edge` and `classify` (and `config`, `errors`, `cli`). Using any name
below imports the Keras modules, which registers their classes with Keras, so that
`keras.saving.load_model` then reads this package's `.keras` files without `custom_objects`.
"""

import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On Linux, TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI or
# BF16, AVX-VNNI or AMX (tensorflow/core/util/port.cc); on other x86 CPUs, such as AVX2-only ones,
# convolutions and their gradients run on Eigen, and training the `edge` model ran 1.2-1.4x
# slower (BENCHMARKS.md, "oneDNN on AVX2 CPUs"). This takes effect when the package is imported
# before TensorFlow; set the variable to 0 to keep TensorFlow's choice.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.3.18"

_LAZY = {
    "PRESETS": "config", "ModelConfig": "config", "Stage": "config", "preset_config": "config",
    "AttentionPooling": "layers", "GaborFilterbank": "layers", "LogMelSpectrogram": "layers",
    "AudioClassifier": "models", "LogMelClassifier": "models", "RawWaveformClassifier": "models",
    "load_classifier": "models",
    "macs_per_second": "profiling", "model_summary": "profiling",
}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_rawaudio' has no attribute {name!r}")
    importlib.import_module("keras_rawaudio.metrics")  # registers the metrics for load_model
    value = getattr(importlib.import_module(f"keras_rawaudio.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
