"""Checks of user-supplied waveforms, so bad input fails with a message that names it."""

import numpy as np

from keras_rawaudio.errors import InputError


def check_waveform(waveform, min_samples: int, fixed_samples: int | None = None) -> np.ndarray:
    """Returns `waveform` as a float32 (batch, samples) array, or raises a one-line ValueError.

    Accepts (samples,) or (batch, samples) floats in [-1, 1] at the model's sample rate.
    """
    array = np.asarray(waveform)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"waveform must be floating point in [-1, 1], got dtype {array.dtype} "
            "(divide int16 PCM by 32768)"
        )
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(
            f"waveform must have shape (samples,) or (batch, samples), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"waveform is an empty batch, shape {array.shape}")
    if array.shape[1] < min_samples:
        raise ValueError(
            f"waveform has {array.shape[1]} samples, fewer than the minimum of {min_samples}"
        )
    if fixed_samples is not None and array.shape[1] != fixed_samples:
        raise ValueError(
            f"this model takes exactly {fixed_samples} samples per clip, got {array.shape[1]}"
        )
    check_finite(array)
    return array.astype(np.float32, copy=False)


def check_finite(waveform):
    """InputError (a ValueError) if `waveform` holds NaN or Inf samples, saying how many."""
    bad = np.size(waveform) - np.count_nonzero(np.isfinite(waveform))
    if bad:
        raise InputError(f"waveform contains {bad} NaN or Inf samples")
