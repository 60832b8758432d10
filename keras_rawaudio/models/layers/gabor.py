"""A learnable bank of complex Gabor filters and each band's power (LEAF's filterbank)."""

import keras
import numpy as np
from keras import ops

from keras_rawaudio.config import MEL_MAX_HZ, MEL_MIN_HZ
from keras_rawaudio.dsp import gabor_init, hertz_to_mel

# The filters' gain: a sinusoid 80 dB below full scale (amplitude 1e-4) has a band power of
# about 1, so the log compression that follows starts with a gain near 1. Float16 files store
# constants in float16 (at most 65504): a gain of 1e8 on the power of unit-gain filters would
# overflow there.
GABOR_GAIN = 1e4


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class GaborFilterbank(keras.layers.Layer):
    """Learned complex Gabor filters, one frame every `hop_samples`, and each band's power.

    Band b's filter is a Gaussian envelope of standard deviation σ_b samples, normalised to sum
    `GABOR_GAIN`, times exp(2πi·f_b·n / sample_rate) over a `window_samples` window: a sinusoid
    of amplitude A at f_b gives power (GABOR_GAIN · A / 2)². Only f_b and σ_b are learned (two
    numbers per band, as in LEAF), so with a few hundred clips the filterbank stays a
    filterbank: the centres as mel values relative to the Nyquist frequency's, the widths as
    log(σ_b / window), both of order 1 so that the optimizer's steps suit them. Initialised mel-like
    (`gabor_init`), the
    layer starts as a mel-spaced power spectrogram. Frames use 'same' padding: ceil(samples /
    hop) frames. The filters are computed from the two weights in the graph; TFLite conversion
    folds them into a constant convolution kernel.

    `learning_rate_scale` s slows the filters' learning: the weights hold centre / s and
    width / s and the filters use s times them, so an optimizer step of a given size (Adam's
    steps do not depend on the gradient's scale) moves the filters s times as far. With s = 0
    the filters keep their initial values (the weights are not trainable).

    Args:
        bands: number of filters (the image's height).
        window_samples, hop_samples: filter length and frame hop, in samples.
        sample_rate: Hz.
        lower_hz, upper_hz: the mel range of the initial centres.
        learning_rate_scale: in [0, 1], how fast the filters learn relative to the rest of the
        model.

    Input (batch, samples) → output (batch, frames, bands), non-negative.

    Example: `GaborFilterbank(64, 400, 160)(waveforms)` → (batch, 100, 64) for 1 s at 16 kHz.
    """

    def __init__(
        self,
        bands,
        window_samples=400,
        hop_samples=160,
        sample_rate=16000,
        lower_hz=MEL_MIN_HZ,
        upper_hz=MEL_MAX_HZ,
        learning_rate_scale=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0 <= learning_rate_scale <= 1:
            raise ValueError(f"learning_rate_scale must be in [0, 1], got {learning_rate_scale}")
        self.bands, self.window_samples, self.hop_samples = bands, window_samples, hop_samples
        self.sample_rate, self.lower_hz, self.upper_hz = sample_rate, lower_hz, upper_hz
        self.learning_rate_scale = learning_rate_scale
        self.weight_scale = learning_rate_scale or 1.0  # filter value = weight_scale · weight
        self.nyquist_mel = float(hertz_to_mel(sample_rate / 2.0))

    def build(self, input_shape):
        centre_hz, std = gabor_init(
            self.bands, self.window_samples, self.sample_rate, self.lower_hz, self.upper_hz
        )
        initial = {
            "centre": hertz_to_mel(centre_hz) / self.nyquist_mel,
            "log_width": np.log(std / self.window_samples),
        }
        self.centre, self.log_width = (
            self.add_weight(
                shape=(self.bands,),
                name=name,
                trainable=self.learning_rate_scale > 0,
                initializer=keras.initializers.Constant(value / self.weight_scale),
            )
            for name, value in initial.items()
        )

    def filters(self):
        """(centre frequencies in Hz, standard deviations in samples), clipped to the usable
        range."""
        centre_mel = ops.clip(self.weight_scale * self.centre, 0.0, 1.0) * self.nyquist_mel
        centre_hz = 700.0 * (ops.exp(centre_mel / 1127.0) - 1.0)
        log_width = ops.clip(
            self.weight_scale * self.log_width, np.log(1.0 / self.window_samples), np.log(1.0 / 6.0)
        )
        return centre_hz, ops.exp(log_width) * self.window_samples

    def kernels(self):
        """The real and imaginary parts of the filters as convolution kernels, each (window, 1,
        bands)."""
        centre_hz, std = self.filters()
        n = ops.convert_to_tensor(
            np.arange(self.window_samples) - (self.window_samples - 1) / 2.0, "float32"
        )[:, None]
        envelope = ops.exp(-0.5 * ops.square(n / std))
        envelope = envelope * (GABOR_GAIN / ops.sum(envelope, axis=0))
        phase = (2.0 * np.pi / self.sample_rate) * n * centre_hz
        # expand_dims, not [:, None, :]: TFLite conversion does not fold a new-axis STRIDED_SLICE,
        # which would leave the kernels computed at run time and the convolutions off XNNPACK.
        return ops.expand_dims(envelope * ops.cos(phase), 1), ops.expand_dims(
            envelope * ops.sin(phase), 1
        )

    def call(self, waveform):
        # Two convolutions rather than one split in two: an int8 export keeps this layer in float,
        # and the quantizer would quantise a SPLIT between float ops.
        x = ops.expand_dims(waveform, -1)
        real, imag = (
            ops.conv(x, kernel, strides=self.hop_samples, padding="same")
            for kernel in self.kernels()
        )
        return real * real + imag * imag  # MUL: int8 TFLite has no SQUARE

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        return (
            input_shape[0],
            None if samples is None else -(-samples // self.hop_samples),
            self.bands,
        )

    def multiply_accumulates(self, input_shape) -> int:
        return -(-input_shape[1] // self.hop_samples) * self.window_samples * 2 * self.bands

    def get_config(self):
        return {
            **super().get_config(),
            "bands": self.bands,
            "window_samples": self.window_samples,
            "hop_samples": self.hop_samples,
            "sample_rate": self.sample_rate,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "learning_rate_scale": self.learning_rate_scale,
        }
