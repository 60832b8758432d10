import numpy as np
import pytest

from keras_rawaudio.inputs import check_waveform


def test_accepted_waveforms_become_float32_batches():
    batch = check_waveform([0.0] * 16000, 16000)
    assert batch.shape == (1, 16000) and batch.dtype == np.float32
    assert check_waveform(np.zeros((3, 20000), np.float64), 16000).dtype == np.float32


@pytest.mark.parametrize(
    "waveform, fixed, message",
    [
        (
            np.zeros((2, 2, 16000), np.float32),
            None,
            r"shape \(samples,\) or \(batch, samples\), got shape \(2, 2, 16000\)",
        ),
        (np.zeros(100, np.float32), None, "has 100 samples, fewer than the minimum of 16000"),
        (np.zeros(16000, np.int16), None, "got dtype int16 \\(divide int16 PCM by 32768\\)"),
        (
            np.r_[np.zeros(15998), np.inf, np.nan].astype(np.float32),
            None,
            "contains 2 NaN or Inf samples",
        ),
        (np.zeros(17000, np.float32), 16000, "takes exactly 16000 samples per clip, got 17000"),
        (np.float32(0.5), None, r"got shape \(\)"),
        (np.zeros((0, 16000), np.float32), None, r"an empty batch, shape \(0, 16000\)"),
    ],
)
def test_bad_waveforms_are_named(waveform, fixed, message):
    with pytest.raises(ValueError, match=message):
        check_waveform(waveform, 16000, fixed)
