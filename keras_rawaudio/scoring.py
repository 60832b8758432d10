"""The one scoring path of a recording, shared by training, evaluation, export and the edge
runner (NumPy only, no TensorFlow).

A recording is cut into windows of the model's training window every `hop` samples (half a
window by default), the last one zero-padded, so the windows cover it whole; each window is
scored; the window scores are combined per recording (max by default). The same model on the
same recordings therefore gets the same clip scores in `history.json`, `evaluate`, the export
report and `classify`.

Example:

    windowing = Windowing(window=16000)
    scores = score_recordings(model.predict, [waveform_a, waveform_b], windowing)  # (2, K)
"""

import dataclasses

import numpy as np

from keras_rawaudio.errors import InputError

COMBINE = {"max": np.max, "mean": np.mean}
DEFAULT_HOP_FRACTION = 0.5  # hop = half a window unless given


@dataclasses.dataclass(frozen=True)
class Windowing:
    """How a recording is scored.

    Args:
        window: window length in samples (the model's training window).
        hop: samples between window starts; None: half a window.
        combine: how window scores combine into the recording's score: 'max' or 'mean'.
    """

    window: int
    hop: int | None = None
    combine: str = "max"

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
    def from_seconds(cls, window_seconds, sample_rate, hop_seconds=None, combine="max") -> "Windowing":
        hop = None if hop_seconds is None else max(1, round(hop_seconds * sample_rate))
        return cls(round(window_seconds * sample_rate), hop, combine)


def sliding_windows(waveform: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(samples,) → (n, window) float32: windows every `hop` samples covering the whole
    waveform; the last (or only) one zero-padded."""
    count = 1 + max(0, -(-(len(waveform) - window) // hop))
    padded = np.zeros((count - 1) * hop + window, np.float32)
    padded[: len(waveform)] = waveform
    return np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:count]


def score_recordings(predict, recordings, windowing: Windowing, chunk_windows=512) -> np.ndarray:
    """Scores each recording; returns (len(recordings), K) combined window scores.

    predict: (n, window) float32 → (n, K) probabilities (a Keras model's predict, a LiteRT
    runner's, ...), called on chunks of about `chunk_windows` windows.
    recordings: an iterable of (samples,) float32 waveforms.
    """
    combine = COMBINE[windowing.combine]
    combined, pending, owners = [], [], []

    def flush():
        scores = np.asarray(predict(np.concatenate(pending)))
        bounds = np.cumsum([0, *owners])
        combined.extend(combine(scores[a:b], axis=0) for a, b in zip(bounds[:-1], bounds[1:]))
        pending.clear()
        owners.clear()

    for waveform in recordings:
        windows = sliding_windows(np.asarray(waveform, np.float32), windowing.window, windowing.hop_samples)
        pending.append(windows)
        owners.append(len(windows))
        if sum(owners) >= chunk_windows:
            flush()
    if pending:
        flush()
    if not combined:
        raise InputError("there are no recordings to score")
    return np.stack(combined).astype(np.float32)
