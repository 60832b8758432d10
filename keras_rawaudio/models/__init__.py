"""The Keras tier's models: layers, front-ends, the ResNet and heads, and the two classifiers.

Importing it registers every layer, model and metric with Keras, so `keras.saving.load_model`
reads this package's `.keras` files without `custom_objects`.
"""

from keras_rawaudio.models import metrics  # noqa: F401  (registers the metrics a compiled file names)
from keras_rawaudio.models.classifiers import (
    AudioClassifier,
    LogMelClassifier,
    RawWaveformClassifier,
    keras_predict,
    load_classifier,
)
from keras_rawaudio.models.layers import AttentionPooling, GaborFilterbank, LogMelSpectrogram
from keras_rawaudio.models.profiling import macs_per_second, model_summary

__all__ = [
    "AttentionPooling",
    "AudioClassifier",
    "GaborFilterbank",
    "LogMelClassifier",
    "LogMelSpectrogram",
    "RawWaveformClassifier",
    "keras_predict",
    "load_classifier",
    "macs_per_second",
    "model_summary",
]
