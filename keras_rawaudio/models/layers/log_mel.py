"""An in-graph log-mel spectrogram from TFLite builtin ops (a strided convolution)."""

import keras
import numpy as np
from keras import ops

from keras_rawaudio.config import MEL_MAX_HZ, MEL_MIN_HZ
from keras_rawaudio.dsp import dft_kernel, mel_weight_matrix


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LogMelSpectrogram(keras.layers.Layer):
    """log(mel(|STFT|) + offset), built from TFLite builtin ops (a strided convolution).

    Input: (batch, samples) float32 at `sample_rate`. Output: (batch, frames, mel_bins), with
    frames = 1 + (samples - window) // hop (no centering, like YAMNet).
    """

    def __init__(
        self,
        sample_rate=16000,
        window_samples=400,
        hop_samples=160,
        mel_bins=64,
        lower_hz=MEL_MIN_HZ,
        upper_hz=MEL_MAX_HZ,
        log_offset=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.window_samples = window_samples
        self.hop_samples = hop_samples
        self.mel_bins = mel_bins
        self.lower_hz = lower_hz
        self.upper_hz = upper_hz
        self.log_offset = log_offset
        self.fft_length = 2 ** int(np.ceil(np.log2(window_samples)))
        self.spectrum_bins = self.fft_length // 2 + 1

    def build(self, input_shape):
        dft = dft_kernel(self.window_samples, self.fft_length)
        mel = mel_weight_matrix(
            self.mel_bins, self.spectrum_bins, self.sample_rate, self.lower_hz, self.upper_hz
        )
        self.dft = self.add_weight(
            shape=dft.shape, initializer="zeros", trainable=False, name="dft"
        )
        self.mel = self.add_weight(
            shape=mel.shape, initializer="zeros", trainable=False, name="mel"
        )
        self.dft.assign(dft.astype("float32"))
        self.mel.assign(mel.astype("float32"))

    def call(self, waveform):
        spectrum = ops.conv(ops.expand_dims(waveform, -1), self.dft, strides=self.hop_samples)
        real, imag = ops.split(spectrum, 2, axis=-1)
        magnitude = ops.sqrt(ops.square(real) + ops.square(imag))
        return ops.log(ops.matmul(magnitude, self.mel) + self.log_offset)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = (
            None if samples is None else 1 + (samples - self.window_samples) // self.hop_samples
        )
        return (input_shape[0], frames, self.mel_bins)

    def multiply_accumulates(self, input_shape) -> int:
        frames = 1 + (input_shape[1] - self.window_samples) // self.hop_samples
        per_frame = (
            self.window_samples * 2 * self.spectrum_bins + self.spectrum_bins * self.mel_bins
        )
        return frames * per_frame

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "window_samples": self.window_samples,
            "hop_samples": self.hop_samples,
            "mel_bins": self.mel_bins,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "log_offset": self.log_offset,
        }
