"""The classical baseline that a learned model has to beat: log-mel statistics + logistic
regression.

Per recording: the mean, standard deviation and maximum over time of a 64-band log-mel
spectrogram (25 ms windows, 10 ms hop, the same filterbank as `LogMelSpectrogram`, by default
over the models' mel range, `MEL_MIN_HZ`–`MEL_MAX_HZ`), and the
standard deviation of its frame-to-frame difference: 256 numbers, standardised on the train
split. A logistic regression (multinomial for single-label data, one per class otherwise) is
fitted on train for each C of a grid, and the C with the best validation mAP is kept.

Example:

    baseline = ClassicalBaseline().fit(train, val)   # Recordings of keras_rawaudio.data
    scores = baseline.predict(test.waveforms)         # (N, K) probabilities
"""

import functools

import numpy as np

from keras_rawaudio.clip_metrics import mean_average_precision
from keras_rawaudio.config import MEL_MAX_HZ, MEL_MIN_HZ
from keras_rawaudio.dsp import mel_weight_matrix

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
# log_mel runs once per recording; its filterbank depends only on the sizes and the range.
_mel_weight_matrix = functools.lru_cache(maxsize=8)(mel_weight_matrix)


def log_mel(
    waveform,
    sample_rate=16000,
    bands=64,
    window=400,
    hop=160,
    fft_length=512,
    lower_hz=MEL_MIN_HZ,
    upper_hz=MEL_MAX_HZ,
) -> np.ndarray:
    """(frames, bands) log(mel(|STFT|) + 1e-3) of a waveform (zero-padded to one window at least),
    mel bands in [lower_hz, upper_hz]."""
    waveform = np.asarray(waveform, np.float32)
    if len(waveform) < window:
        waveform = np.pad(waveform, (0, window - len(waveform)))
    frames = np.lib.stride_tricks.sliding_window_view(waveform, window)[::hop]
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window) / window)
    magnitude = np.abs(np.fft.rfft(frames * hann, n=fft_length))
    mel = _mel_weight_matrix(bands, fft_length // 2 + 1, sample_rate, lower_hz, upper_hz)
    return np.log(magnitude @ mel + 1e-3).astype(np.float32)


def features(waveform, sample_rate=16000, lower_hz=MEL_MIN_HZ, upper_hz=MEL_MAX_HZ) -> np.ndarray:
    """The 256 statistics of one recording: mean, std, max of its log-mel, std of its time
    difference."""
    spectrogram = log_mel(waveform, sample_rate, lower_hz=lower_hz, upper_hz=upper_hz)
    delta = np.diff(spectrogram, axis=0) if len(spectrogram) > 1 else np.zeros_like(spectrogram)
    return np.concatenate(
        [spectrogram.mean(0), spectrogram.std(0), spectrogram.max(0), delta.std(0)]
    )


class ClassicalBaseline:
    """Log-mel statistics → standardisation → logistic regression, C chosen on validation mAP.

    Args:
        sample_rate: of the recordings.
        c_grid: the inverse regularisation strengths tried.
        seed: of the solver.
        lower_hz, upper_hz: the mel range of the log-mel (give a model's `mel_min_hz` and
            `mel_max_hz` to compare the two on the same bands).
    """

    def __init__(
        self, sample_rate=16000, c_grid=C_GRID, seed=0, lower_hz=MEL_MIN_HZ, upper_hz=MEL_MAX_HZ
    ):
        self.sample_rate, self.c_grid, self.seed = sample_rate, tuple(c_grid), seed
        self.lower_hz, self.upper_hz = lower_hz, upper_hz
        self.model = self.scaler = self.c = None
        self.val_map = {}

    def _features(self, waveforms) -> np.ndarray:
        return np.stack(
            [features(w, self.sample_rate, self.lower_hz, self.upper_hz) for w in waveforms]
        )

    def _classifier(self, c, single_label):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        regression = LogisticRegression(C=c, max_iter=2000, random_state=self.seed)
        return regression if single_label else OneVsRestClassifier(regression)

    def _scores(self, model, x, num_classes) -> np.ndarray:
        """(N, K) probabilities, with a column of zeros for a class the train split lacks."""
        probabilities = model.predict_proba(x)
        scores = np.zeros((len(x), num_classes), np.float32)
        scores[:, self.classes] = probabilities
        return scores

    def fit(self, train, val) -> "ClassicalBaseline":
        """Fits on `train` (Recordings) for every C and keeps the best on `val`."""
        from sklearn.preprocessing import StandardScaler

        x_train = self._features(train.waveforms)
        self.scaler = StandardScaler().fit(x_train)
        x_train, x_val = (
            self.scaler.transform(x_train),
            self.scaler.transform(self._features(val.waveforms)),
        )
        self.num_classes = train.labels.shape[1]
        single_label = bool(np.all(train.labels.sum(axis=1) == 1))
        present = np.flatnonzero(train.labels.sum(axis=0) > 0)
        targets = train.labels.argmax(axis=1) if single_label else train.labels[:, present]
        self.classes = np.unique(targets) if single_label else present
        best = -np.inf
        for c in self.c_grid:
            model = self._classifier(c, single_label).fit(x_train, targets)
            self.val_map[c] = mean_average_precision(
                val.labels, self._scores(model, x_val, self.num_classes)
            )
            if self.val_map[c] > best:
                best, self.model, self.c = self.val_map[c], model, c
        return self

    def predict(self, waveforms) -> np.ndarray:
        """(N, K) class probabilities of the recordings."""
        return self._scores(
            self.model, self.scaler.transform(self._features(waveforms)), self.num_classes
        )
