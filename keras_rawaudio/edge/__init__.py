"""The edge tier, NumPy only (no TensorFlow): what a phone or a Raspberry Pi needs to run an
exported file. `runner` (LiteRT), `metadata` (TFLite Model Metadata, read and written),
`files` (files → scores and class names)."""

from keras_rawaudio.edge.files import classify_file, model_labels, read_label_file, top
from keras_rawaudio.edge.runner import PCM16_SCALE, EdgeClassifier, EdgeModelError, in_layers

__all__ = [
    "PCM16_SCALE",
    "EdgeClassifier",
    "EdgeModelError",
    "classify_file",
    "in_layers",
    "model_labels",
    "read_label_file",
    "top",
]
