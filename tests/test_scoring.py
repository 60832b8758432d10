import numpy as np
import pytest

from keras_rawaudio.errors import InputError
from keras_rawaudio.scoring import (
    ENERGY_FRACTION,
    Windowing,
    combine_windows,
    counted_windows,
    score_recordings,
    sliding_windows,
)


def test_sliding_windows_cover_and_pad():
    windows = sliding_windows(np.arange(1, 26, dtype=np.float32), 10, 5)
    assert windows.shape == (4, 10)
    np.testing.assert_array_equal(windows[3], [16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    short = sliding_windows(np.ones(3, np.float32), 10, 5)
    np.testing.assert_array_equal(short, [[1, 1, 1, 0, 0, 0, 0, 0, 0, 0]])
    exact = sliding_windows(np.ones(10, np.float32), 10, 5)
    assert exact.shape == (1, 10)


def test_windowing_defaults_and_checks():
    assert Windowing(16000).hop_samples == 8000
    assert Windowing(16000).combine == "loud_max"
    assert Windowing.from_seconds(2.0, 16000, hop_seconds=0.25, combine="mean") == Windowing(
        32000, 4000, "mean"
    )
    with pytest.raises(
        InputError, match="combine must be one of loud_max, max, mean, got 'median'"
    ):
        Windowing(16000, combine="median")
    with pytest.raises(InputError, match="hop must be at least 1 sample"):
        Windowing(16000, hop=0)


def test_scores_combine_per_recording_across_chunks():
    recordings = [np.full(n, value, np.float32) for n, value in ((25, 0.5), (3, 0.25), (12, 1.0))]
    ramp = lambda windows: np.stack([windows.max(axis=1), windows.mean(axis=1)], axis=1)  # noqa: E731
    for chunk in (1, 2, 512):  # the chunking does not change a score
        scores = score_recordings(ramp, recordings, Windowing(10, 5, "max"), chunk_windows=chunk)
        np.testing.assert_allclose(scores[:, 0], [0.5, 0.25, 1.0])
        np.testing.assert_allclose(
            scores[:, 1], [0.5, 0.075, 1.0]
        )  # the max of window means; padding counts
    means = score_recordings(ramp, recordings, Windowing(10, 5, "mean"))
    np.testing.assert_allclose(
        means[2, 1], (1.0 + 0.7) / 2
    )  # windows [0, 10) and [5, 15) of 12 samples
    with pytest.raises(InputError, match="no recordings"):
        score_recordings(ramp, [], Windowing(10))


def test_loud_max_combines_the_windows_a_training_crop_could_be():
    """A hit (0.5) and its decay (0.35, 0.2, 0.05): only windows with half the hit's energy
    count."""
    windows = np.repeat(
        np.array([[0.5], [0.35], [0.2], [0.05]], np.float32), 10, axis=1
    )  # energy ratios 1, 0.49, ...
    scores = np.array([[0.2, 0.1], [0.9, 0.1], [0.3, 0.8], [0.1, 0.9]], np.float32)
    np.testing.assert_allclose(combine_windows(scores, windows, "loud_max"), [0.2, 0.1])
    np.testing.assert_allclose(combine_windows(scores, windows, "max"), [0.9, 0.9])
    np.testing.assert_allclose(combine_windows(scores, windows, "mean"), scores.mean(axis=0))
    louder = windows.copy()
    louder[1] = (
        0.36  # energy ratio 0.518: at least ENERGY_FRACTION of the loudest window's, so it counts
    )
    assert np.square(louder[1]).sum() >= ENERGY_FRACTION * np.square(louder[0]).sum()
    np.testing.assert_allclose(combine_windows(scores, louder, "loud_max"), [0.9, 0.1])
    # A level change does not change which windows count; silence keeps every window.
    np.testing.assert_allclose(combine_windows(scores, windows * 0.01, "loud_max"), [0.2, 0.1])
    np.testing.assert_allclose(
        combine_windows(scores, np.zeros_like(windows), "loud_max"), [0.9, 0.9]
    )
    # The default rule of score_recordings: windows [0, 10) (energy 2.0), [5, 15) (0.75), then
    # silence.
    # Only the counted windows are scored: here the first alone.
    waveform = np.concatenate([np.full(8, 0.5), np.zeros(17)]).astype(np.float32)
    scored = []
    recording = score_recordings(
        lambda w: scored.append(w.copy()) or scores[: len(w)], [waveform], Windowing(10, 5)
    )
    np.testing.assert_allclose(recording, [[0.2, 0.1]])
    assert len(scored) == 1 and scored[0].shape == (1, 10)
    np.testing.assert_array_equal(
        counted_windows(sliding_windows(waveform, 10, 5), "loud_max"), [True, False, False, False]
    )
    np.testing.assert_array_equal(
        counted_windows(sliding_windows(waveform, 10, 5), "max"), [True] * 4
    )
