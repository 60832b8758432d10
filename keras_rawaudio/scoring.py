"""The one scoring path of a recording, shared by training, evaluation, export and the edge
runner (NumPy only, no TensorFlow).

A recording is cut into windows of the model's training window every `hop` samples (half a
window by default), the last one zero-padded, so the windows cover it whole; each window is
scored; the window scores are combined per recording. The default rule, 'loud_max', takes the
maximum over the recording's loud windows: those with at least ENERGY_FRACTION of its loudest
window's energy, the windows a training crop could have been (`data.fit_length`'s energy
crops). The decaying tail of a sound and the silence around it are left out: the model never
trained on them, and level normalisation raises them to the level of the sound itself. The same
model on the same recordings therefore gets the same clip scores in `history.json`,
`evaluate`, the export report and `classify`.

Example:

    windowing = Windowing(window=16000)
    scores = score_recordings(model.predict, [waveform_a, waveform_b], windowing)  # (2, K)
"""

import dataclasses

import numpy as np

from keras_rawaudio.errors import InputError

# A loud window (and a training crop) has at least this share of the loudest window's energy.
ENERGY_FRACTION = 0.5
COMBINE = ("loud_max", "max", "mean")
DEFAULT_COMBINE = "loud_max"
DEFAULT_HOP_FRACTION = 0.5  # hop = half a window unless given


@dataclasses.dataclass(frozen=True)
class Windowing:
    """How a recording is scored.

    Args:
        window: window length in samples (the model's training window).
        hop: samples between window starts; None: half a window.
        combine: how window scores combine into the recording's score: 'loud_max' (the
            maximum over the loud windows, see the module docstring), 'max' or 'mean' (over
            every window).
    """

    window: int
    hop: int | None = None
    combine: str = DEFAULT_COMBINE

    def __post_init__(self):
        if self.window < 1:
            raise InputError(f"the scoring window must be at least 1 sample, got {self.window}")
        if self.hop is not None and self.hop < 1:
            raise InputError(f"the scoring hop must be at least 1 sample, got {self.hop}")
        if self.combine not in COMBINE:
            raise InputError(f"combine must be one of {', '.join(COMBINE)}, got {self.combine!r}")

    @property
    def hop_samples(self) -> int:
        return self.hop or max(1, round(self.window * DEFAULT_HOP_FRACTION))

    @classmethod
    def from_seconds(
        cls, window_seconds, sample_rate, hop_seconds=None, combine=DEFAULT_COMBINE
    ) -> "Windowing":
        hop = None if hop_seconds is None else max(1, round(hop_seconds * sample_rate))
        return cls(round(window_seconds * sample_rate), hop, combine)


def sliding_windows(waveform: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(samples,) → (n, window) float32: windows every `hop` samples covering the whole
    waveform; the last (or only) one zero-padded."""
    count = 1 + max(0, -(-(len(waveform) - window) // hop))
    padded = np.zeros((count - 1) * hop + window, np.float32)
    padded[: len(waveform)] = waveform
    return np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:count]


def counted_windows(windows: np.ndarray, combine: str) -> np.ndarray:
    """(n,) bool: the windows whose scores `combine` takes into the recording's score (every
    window for 'max' and 'mean'; for 'loud_max' those with at least ENERGY_FRACTION of the
    loudest window's energy, so the loudest always counts)."""
    if combine != "loud_max":
        return np.ones(len(windows), bool)
    energy = np.square(windows, dtype=np.float64).sum(axis=1)
    return energy >= ENERGY_FRACTION * energy.max()


def combine_windows(scores: np.ndarray, windows: np.ndarray, combine: str) -> np.ndarray:
    """(n, K) scores of a recording's (n, window) windows → its (K,) score under `combine`."""
    return combine_counted(scores[counted_windows(windows, combine)], combine)


def combine_counted(scores: np.ndarray, combine: str) -> np.ndarray:
    """(m, K) scores of the windows `combine` counts → the recording's (K,) score."""
    return scores.mean(axis=0) if combine == "mean" else scores.max(axis=0)


def score_recordings(predict, recordings, windowing: Windowing, chunk_windows=512) -> np.ndarray:
    """Scores each recording; returns (len(recordings), K) combined window scores.

    predict: (n, window) float32 → (n, K) probabilities (a Keras model's predict, a LiteRT
    runner's, ...), called on chunks of about `chunk_windows` windows: only the windows the
    rule counts (`counted_windows`), since the others' scores would not change the result.
    recordings: an iterable of (samples,) float32 waveforms.
    """
    combined, pending, owners = [], [], []

    def flush():
        scores = np.asarray(predict(np.concatenate(pending)))
        bounds = np.cumsum([0, *owners])
        combined.extend(
            combine_counted(scores[a:b], windowing.combine) for a, b in zip(bounds[:-1], bounds[1:])
        )
        pending.clear()
        owners.clear()

    for waveform in recordings:
        windows = sliding_windows(
            np.asarray(waveform, np.float32), windowing.window, windowing.hop_samples
        )
        windows = windows[
            counted_windows(windows, windowing.combine)
        ]  # the others' scores would be dropped
        pending.append(windows)
        owners.append(len(windows))
        if sum(owners) >= chunk_windows:
            flush()
    if pending:
        flush()
    if not combined:
        raise InputError("there are no recordings to score")
    return np.stack(combined).astype(np.float32)
