"""Compressions of a learned filterbank's non-negative frames: a learned log, and PCEN."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LogCompression(keras.layers.Layer):
    """Compresses non-negative filterbank frames as a spectrogram's log does: y = log(1 + g·x).

    One learnable gain g per band (the last axis), initialised at `initial_gain` and kept
    positive (stored as log g). Large g·x gives log(g·x), a gain change of the input then
    only shifts the band; small g·x stays nearly linear. TFLite builtin ops (LOG, EXP, MUL).

    Input and output: (batch, frames, bands).
    """

    def __init__(self, initial_gain=10.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_gain = initial_gain

    def build(self, input_shape):
        self.log_gain = self.add_weight(
            shape=(input_shape[-1],),
            initializer=keras.initializers.Constant(np.log(self.initial_gain)),
            name="log_gain",
        )

    def call(self, frames):
        return ops.log1p(ops.exp(self.log_gain) * ops.relu(frames))

    def get_config(self):
        return {**super().get_config(), "initial_gain": self.initial_gain}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class PerChannelEnergyNormalization(keras.layers.Layer):
    """Learnable per-channel energy normalisation (PCEN; Wang et al., 2017), LEAF's compression.

    Each band is divided by a smoothed history of itself, an automatic gain control per band,
    then root-compressed:

        M[t] = Σ_k w_k·x[t−k] / Σ_k w_k,  w_k = s·(1 − s)^k,  0 ≤ k < min(t + 1, context_frames)
        y[t] = (x[t] / (ε + M[t])^α + δ)^(1/r) − δ^(1/r)

    A steady band (a drone, background noise, the decay of a held note) tends to a constant,
    and an onset stands out by its ratio to what came before, whatever the recording's level
    (for α = 1 a gain of the input cancels exactly). One s, α, δ and r per band (the last
    axis), learned, initialised at LEAF's values (0.04, 0.96, 2, 2) and clipped to s ∈
    [1e-3, 1], α ∈ [0, 1], δ ≥ 1e-3, r ≥ 1 in use. The recursive smoother of the paper is
    written as a causal depthwise convolution truncated at `context_frames`, its weights
    renormalised over the frames within reach, so the first frames average what there is:
    TFLite builtin ops (DEPTHWISE_CONV_2D, POW, DIV).

    Args:
        context_frames: frames of history the smoother sees (its kernel length).
        epsilon: floor of the smoothed energy, in the input's units.

    Input and output: (batch, frames, bands), the input non-negative (negative values are cut).

    Example: `PerChannelEnergyNormalization(100)(GaborFilterbank(64)(waveforms))`.
    """

    def __init__(self, context_frames=100, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.context_frames, self.epsilon = context_frames, epsilon

    def build(self, input_shape):
        bands = (input_shape[-1],)
        constant = keras.initializers.Constant
        self.smoothing = self.add_weight(shape=bands, initializer=constant(0.04), name="smoothing")
        self.alpha = self.add_weight(shape=bands, initializer=constant(0.96), name="alpha")
        self.delta = self.add_weight(shape=bands, initializer=constant(2.0), name="delta")
        self.root = self.add_weight(shape=bands, initializer=constant(2.0), name="root")

    def smoother_kernel(self):
        """The smoother's weights as a depthwise kernel, (context_frames, bands, 1), oldest frame
        first."""
        s = ops.clip(self.smoothing, 1e-3, 1.0)
        lag = ops.convert_to_tensor(
            np.arange(self.context_frames - 1, -1, -1.0)[:, None], "float32"
        )
        return ops.expand_dims(s * ops.power(1.0 - s, lag), -1)

    def call(self, frames):
        frames = ops.relu(frames)
        kernel = self.smoother_kernel()
        causal = [[0, 0], [self.context_frames - 1, 0], [0, 0]]
        smooth = lambda x: ops.depthwise_conv(ops.pad(x, causal), kernel, padding="valid")  # noqa: E731
        history = smooth(frames) / smooth(ops.ones_like(frames))
        alpha = ops.clip(self.alpha, 0.0, 1.0)
        delta = ops.maximum(self.delta, 1e-3)
        inverse_root = 1.0 / ops.maximum(self.root, 1.0)
        gained = frames / ops.power(self.epsilon + history, alpha)
        return ops.power(gained + delta, inverse_root) - ops.power(delta, inverse_root)

    def multiply_accumulates(self, input_shape) -> int:
        return input_shape[1] * input_shape[2] * self.context_frames

    def get_config(self):
        return {
            **super().get_config(),
            "context_frames": self.context_frames,
            "epsilon": self.epsilon,
        }
