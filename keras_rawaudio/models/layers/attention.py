"""Attention pooling over time: the prediction head of every level."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class AttentionPooling(keras.layers.Layer):
    """Pools frame features over time with per-class attention.

    For every class k and frame t: cla = sigmoid(W_c·h_t), att = softmax over t of
    clip(W_a·h_t, ±clip); the clip probability is Σ_t att·cla.

    Input: (batch, frames, features). Returns a tuple
    (clipwise (batch, classes), framewise cla (batch, frames, classes),
    attention (batch, frames, classes), which sums to 1 over frames).
    """

    def __init__(self, num_classes: int, attention_clip: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.attention_clip = attention_clip
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.attention = keras.layers.Dense(num_classes, name="attention")

    def build(self, input_shape):
        self.classifier.build(input_shape)
        self.attention.build(input_shape)

    def call(self, frames):
        framewise = ops.sigmoid(self.classifier(frames))
        logits = ops.clip(self.attention(frames), -self.attention_clip, self.attention_clip)
        attention = ops.softmax(logits, axis=1)
        clipwise = ops.sum(attention * framewise, axis=1)
        return clipwise, framewise, attention

    def compute_output_shape(self, input_shape):
        framewise = (*input_shape[:2], self.num_classes)
        return (input_shape[0], self.num_classes), framewise, framewise

    def multiply_accumulates(self, input_shape) -> int:
        """MACs of one call on an input of `input_shape` (batch 1)."""
        return int(np.prod(input_shape[1:])) * 2 * self.num_classes

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "attention_clip": self.attention_clip,
        }
