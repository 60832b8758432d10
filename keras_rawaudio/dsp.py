"""Signal-processing maths in NumPy (no TensorFlow): the mel scale, the mel filterbank, the
windowed DFT and the Gabor filters' mel start. The layers of `keras_rawaudio.models.layers`
turn these matrices into graph constants; the classical baseline and `explain` use them as
they are.
"""

import numpy as np


def hertz_to_mel(hertz):
    """HTK mel scale, as tf.signal uses: 1127·ln(1 + f/700)."""
    return 1127.0 * np.log1p(np.asarray(hertz, np.float64) / 700.0)


def mel_to_hertz(mel):
    """The inverse of `hertz_to_mel`."""
    return 700.0 * np.expm1(np.asarray(mel, np.float64) / 1127.0)


def mel_band_edges(num_bands, lower_hz, upper_hz) -> np.ndarray:
    """The num_bands + 2 mel values, equally spaced, whose triples are the triangular bands'
    edges."""
    return np.linspace(hertz_to_mel(lower_hz), hertz_to_mel(upper_hz), num_bands + 2)


def mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sample_rate, lower_hz, upper_hz):
    """Triangular mel filterbank, (num_spectrogram_bins, num_mel_bins) float64.

    Same definition as tf.signal.linear_to_mel_weight_matrix (the DC bin is zeroed).
    """
    bin_hz = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    bin_mel = hertz_to_mel(bin_hz)[:, None]
    edges = mel_band_edges(num_mel_bins, lower_hz, upper_hz)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (center - lower)
    falling = (upper - bin_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, num_mel_bins)), weights], axis=0)


def dft_kernel(window_samples: int, fft_length: int) -> np.ndarray:
    """Periodic-Hann-windowed real DFT as a Conv1D kernel, (window, 1, 2·(fft_length//2+1)).

    Output channels are the real parts of the bins, then the imaginary parts.
    """
    n = np.arange(window_samples)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / window_samples)
    phase = 2.0 * np.pi * np.outer(n, np.arange(fft_length // 2 + 1)) / fft_length
    kernel = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * window[:, None]
    return kernel[:, None, :]


def gabor_init(bands, window, sample_rate, lower_hz, upper_hz) -> tuple[np.ndarray, np.ndarray]:
    """Centre frequencies (Hz) and envelope standard deviations (samples) of mel-like Gabor filters.

    Centres are those of `bands` triangular mel bands in [lower_hz, upper_hz]; each envelope makes
    the magnitude response as wide at half maximum as its triangle is (half its base), as far as
    the window allows (a standard deviation of at most window / 6).
    """
    edges = mel_to_hertz(mel_band_edges(bands, lower_hz, upper_hz))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    # A Gaussian of standard deviation s samples has a frequency response of standard deviation
    # rate / (2π s) Hz, and a full width at half maximum 2·sqrt(2 ln 2) times that.
    std = 2.0 * np.sqrt(2.0 * np.log(2.0)) * sample_rate / (2.0 * np.pi * (upper - lower) / 2.0)
    return centre, np.minimum(std, window / 6.0)
