"""keras-rawaudio: sound-event classification from raw waveforms with mix-training.

The Keras parts (models, layers, metrics, training) load TensorFlow when first used:

    import keras_rawaudio as kr
    model = kr.RawWaveformClassifier.from_preset("edge", num_classes=10)
    model = kr.load_classifier("runs/esc50/best.keras")

Tier 0, the modules directly in this folder and `edge/`, imports NumPy and never TensorFlow or
Keras: it is what the edge install (`pip install keras-rawaudio`) runs on a device. Tier 1,
`models/`, `data/`, `train/` and `export/` (and the commands that use them), needs the
`train` extra. Using any name below imports `keras_rawaudio.models`, which registers its
classes with Keras, so that `keras.saving.load_model` then reads this package's `.keras` files
without `custom_objects`.
"""

import os

from keras_rawaudio.lazy import lazy_attributes

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On Linux, TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI or
# BF16, AVX-VNNI or AMX (tensorflow/core/util/port.cc); on other x86 CPUs, such as AVX2-only ones,
# convolutions and their gradients run on Eigen, and training the `edge` model ran 1.2-1.4x
# slower (docs/benchmarks/training.md#onednn-on-avx2-cpus-0317). This takes effect when the
# package is imported before TensorFlow; set the variable to 0 to keep TensorFlow's choice.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.7.0"

_LAZY = {
    "PRESETS": "presets",
    "ModelConfig": "config",
    "Stage": "config",
    "preset_config": "presets",
    "AttentionPooling": "models",
    "GaborFilterbank": "models",
    "LogMelSpectrogram": "models",
    "AudioClassifier": "models",
    "LogMelClassifier": "models",
    "RawWaveformClassifier": "models",
    "load_classifier": "models",
    "macs_per_second": "models",
    "model_summary": "models",
}
__all__ = sorted(_LAZY)

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
