import numpy as np
import pytest

from keras_rawaudio.baseline import ClassicalBaseline, features, log_mel
from keras_rawaudio.data.records import Recordings
from keras_rawaudio.models.layers import LogMelSpectrogram


@pytest.mark.parametrize(
    "mel_range_hz", [{}, {"lower_hz": 125.0, "upper_hz": 7000.0}]
)  # {}: both defaults
def test_log_mel_is_the_models_log_mel(mel_range_hz):
    waveform = np.random.default_rng(0).uniform(-0.5, 0.5, 16123).astype(np.float32)
    expected = LogMelSpectrogram(mel_bins=64, **mel_range_hz)(waveform[None])[0].numpy()
    np.testing.assert_allclose(log_mel(waveform, **mel_range_hz), expected, atol=1e-4)
    assert log_mel(np.zeros(10, np.float32)).shape == (1, 64)  # shorter than a window: padded


def test_features_are_the_256_statistics():
    waveform = np.random.default_rng(1).normal(0, 0.1, 8000).astype(np.float32)
    spectrogram = log_mel(waveform)
    x = features(waveform)
    assert x.shape == (256,)
    np.testing.assert_allclose(x[:64], spectrogram.mean(0), rtol=1e-5)
    np.testing.assert_allclose(x[128:192], spectrogram.max(0))
    np.testing.assert_allclose(x[192:], np.diff(spectrogram, axis=0).std(0), rtol=1e-5)


def tones(frequencies, count, rng):
    """`count` noisy tones of each frequency: Recordings with one class per frequency."""
    t = np.arange(8000) / 16000
    waveforms, labels = [], []
    for k, frequency in enumerate(frequencies):
        for _ in range(count):
            waveforms.append(
                (
                    0.3 * np.sin(2 * np.pi * frequency * rng.uniform(0.97, 1.03) * t)
                    + rng.normal(0, 0.05, t.size)
                ).astype(np.float32)
            )
            labels.append(np.eye(len(frequencies))[k])
    return Recordings(
        [str(i) for i in range(len(waveforms))], waveforms, np.array(labels, np.float32)
    )


@pytest.mark.parametrize("multi_label", [False, True])
def test_the_baseline_separates_tones_and_picks_c_on_validation(multi_label):
    rng = np.random.default_rng(2)
    train, val, test = (tones((300, 1200, 4000), n, rng) for n in (8, 4, 4))
    if multi_label:  # a clip of both the first and last tone: one classifier per class
        train.waveforms.append(train.waveforms[0] + train.waveforms[-1])
        train.labels = np.vstack([train.labels, [1, 0, 1]])
    baseline = ClassicalBaseline().fit(train, val)
    assert baseline.c in baseline.val_map and baseline.val_map[baseline.c] == max(
        baseline.val_map.values()
    )
    scores = baseline.predict(test.waveforms)
    assert scores.shape == (12, 3)
    np.testing.assert_array_equal(scores.argmax(axis=1), test.labels.argmax(axis=1))
