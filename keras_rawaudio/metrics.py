"""Clip-level metrics for multi-label sound-event classification.

NumPy functions (exact; y_true (clips, K) in {0, 1}, y_score (clips, K)) for evaluation, and
Keras metrics for `compile`: `MeanAveragePrecision`, `MacroAUC` and `DPrime` use per-class
score histograms (`num_thresholds` bins); `Lwlrap` and `TopOneAccuracy` are exact.
"""

import math
import statistics

import keras
import numpy as np
from keras import ops


def average_precision(y_true, y_score) -> float:
    """AP of one class: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over distinct score thresholds; NaN without positives."""
    y_true, y_score = np.asarray(y_true) > 0, np.asarray(y_score, np.float64)
    positives = y_true.sum()
    if positives == 0:
        return float("nan")
    order = np.argsort(-y_score, kind="mergesort")
    y_true, y_score = y_true[order], y_score[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(y_score)), y_true.size - 1]
    true_positives = np.cumsum(y_true)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0, true_positives]) / positives
    return float(np.sum(recall_gain * precision))


def per_class_average_precision(y_true, y_score) -> np.ndarray:
    """(K,) AP per class; NaN for classes without positives."""
    return np.array([average_precision(y_true[:, k], y_score[:, k]) for k in range(y_true.shape[1])])


def mean_average_precision(y_true, y_score) -> float:
    """mAP: the mean AP over classes that have positives."""
    return float(np.nanmean(per_class_average_precision(y_true, y_score)))


def _average_ranks(values):
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return ranks


def roc_auc(y_true, y_score) -> float:
    """Macro ROC-AUC over classes with both positives and negatives (Mann-Whitney, ties averaged)."""
    scores = []
    for k in range(y_true.shape[1]):
        positive = np.asarray(y_true[:, k]) > 0
        n_pos, n_neg = positive.sum(), (~positive).sum()
        if n_pos and n_neg:
            ranks = _average_ranks(np.asarray(y_score[:, k], np.float64))
            scores.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(scores)) if scores else float("nan")


def d_prime(auc: float) -> float:
    """d′ = √2 · Φ⁻¹(AUC), as AudioSet papers report it."""
    if not 0.0 < auc < 1.0:
        return float("inf") if auc >= 1.0 else float("-inf") if auc <= 0.0 else float("nan")
    return math.sqrt(2.0) * statistics.NormalDist().inv_cdf(auc)


def lwlrap(y_true, y_score) -> float:
    """Label-weighted label-ranking average precision (DCASE 2019 task 2)."""
    y_true, y_score = np.asarray(y_true) > 0, np.asarray(y_score, np.float64)
    precisions = []
    for truth, score in zip(y_true, y_score):
        for k in np.flatnonzero(truth):
            at_or_above = score >= score[k]
            precisions.append(np.sum(truth & at_or_above) / np.sum(at_or_above))
    return float(np.mean(precisions)) if precisions else float("nan")


def top1_accuracy(y_true, y_score) -> float:
    """Fraction of clips whose highest-scoring class is one of their labels."""
    best = np.argmax(y_score, axis=1)
    return float(np.mean(np.asarray(y_true)[np.arange(len(best)), best] > 0))


def clip_metrics(y_true, y_score) -> dict:
    """Every summary metric as a dict: mAP, AUC, d_prime, lwlrap, accuracy, num_clips."""
    auc = roc_auc(y_true, y_score)
    return {
        "mAP": mean_average_precision(y_true, y_score),
        "AUC": auc,
        "d_prime": d_prime(auc),
        "lwlrap": lwlrap(y_true, y_score),
        "accuracy": top1_accuracy(y_true, y_score),
        "num_clips": int(len(y_true)),
    }


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class MeanAveragePrecision(keras.metrics.Metric):
    """Streaming mAP from per-class histograms of the scores of positives and negatives.

    Thresholds are the `num_thresholds` bin edges in [0, 1], so the value approaches the exact
    mAP as bins grow (within about 0.01 at 200 bins on typical data).
    """

    def __init__(self, num_thresholds=200, num_classes=None, name="mAP", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_thresholds = num_thresholds
        self.num_classes = num_classes
        self.positives = None
        if num_classes:
            self._build(num_classes)

    def _build(self, num_classes):
        shape = (self.num_thresholds, num_classes)
        self.positives = self.add_variable(shape, initializer="zeros", name="positives")
        self.negatives = self.add_variable(shape, initializer="zeros", name="negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.positives is None:
            self._build(y_pred.shape[-1])
        y_true = ops.cast(ops.reshape(y_true, (-1, y_pred.shape[-1])) > 0.5, "float32")
        y_pred = ops.reshape(y_pred, (-1, y_pred.shape[-1]))
        bins = ops.cast(ops.clip(y_pred, 0.0, 1.0) * (self.num_thresholds - 1), "int32")
        one_hot = ops.one_hot(bins, self.num_thresholds, axis=1)  # (batch, bins, K)
        self.positives.assign_add(ops.sum(one_hot * y_true[:, None, :], axis=0))
        self.negatives.assign_add(ops.sum(one_hot * (1.0 - y_true[:, None, :]), axis=0))

    def result(self):
        if self.positives is None:
            return ops.convert_to_tensor(0.0)
        # Cumulative counts from the highest bin down: predictions at or above each threshold.
        true_positives = ops.flip(ops.cumsum(ops.flip(self.positives, 0), axis=0), 0)
        predicted = true_positives + ops.flip(ops.cumsum(ops.flip(self.negatives, 0), axis=0), 0)
        total = true_positives[0]
        precision = ops.divide_no_nan(true_positives, predicted)
        recall_gain = ops.divide_no_nan(self.positives, total)  # bin k adds its positives
        has_positives = ops.cast(total > 0, "float32")
        per_class = ops.sum(precision * recall_gain, axis=0)
        return ops.divide_no_nan(ops.sum(per_class * has_positives), ops.sum(has_positives))

    def reset_state(self):
        if self.positives is not None:
            self.positives.assign(ops.zeros_like(self.positives))
            self.negatives.assign(ops.zeros_like(self.negatives))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class MacroAUC(keras.metrics.AUC):
    """Streaming macro ROC-AUC over classes that have both positives and negatives.

    (keras.metrics.AUC(multi_label=True) counts a class without positives as AUC 0.)
    """

    def __init__(self, num_thresholds=200, name="AUC", **kwargs):
        kwargs.pop("multi_label", None)
        super().__init__(num_thresholds=num_thresholds, multi_label=True, name=name, **kwargs)

    def result(self):
        positives = self.true_positives + self.false_negatives
        negatives = self.false_positives + self.true_negatives
        tpr = ops.divide_no_nan(self.true_positives, positives)
        fpr = ops.divide_no_nan(self.false_positives, negatives)
        per_class = ops.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2.0, axis=0)
        valid = ops.cast((positives[0] > 0) & (negatives[0] > 0), "float32")
        return ops.divide_no_nan(ops.sum(per_class * valid), ops.sum(valid))


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class DPrime(MacroAUC):
    """Streaming d′ = √2·Φ⁻¹(macro AUC)."""

    def __init__(self, num_thresholds=200, name="d_prime", **kwargs):
        super().__init__(num_thresholds=num_thresholds, name=name, **kwargs)

    def result(self):
        auc = ops.clip(super().result(), 1e-6, 1.0 - 1e-6)
        return 2.0 * ops.erfinv(2.0 * auc - 1.0)  # √2·Φ⁻¹(auc), Φ⁻¹(p) = √2·erfinv(2p − 1)


class _MeanOfBatches(keras.metrics.Metric):
    """A streaming mean of per-item values summed in `values(y_true, y_pred)`."""

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable((), initializer="zeros", name="total")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        total, count = self.values(ops.cast(y_true > 0.5, "float32"), y_pred)
        self.total.assign_add(total)
        self.count.assign_add(count)

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class Lwlrap(_MeanOfBatches):
    """Streaming lwlrap: the precision at each positive label's rank, averaged over labels."""

    def __init__(self, name="lwlrap", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        at_or_above = ops.cast(y_pred[:, None, :] >= y_pred[:, :, None], "float32")  # [b, k, j]
        hits = ops.sum(at_or_above * y_true[:, None, :], axis=-1)
        precision = ops.divide_no_nan(hits, ops.sum(at_or_above, axis=-1))
        return ops.sum(precision * y_true), ops.sum(y_true)


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class TopOneAccuracy(_MeanOfBatches):
    """Streaming fraction of clips whose top-scoring class is one of their labels."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        best = ops.one_hot(ops.argmax(y_pred, axis=-1), y_pred.shape[-1])
        return ops.sum(best * y_true), ops.cast(ops.shape(y_true)[0], "float32")


def default_metrics(num_classes):
    """Metrics that `AudioClassifier.compile()` uses by default."""
    return [
        MeanAveragePrecision(num_classes=num_classes),
        MacroAUC(num_labels=num_classes),
        TopOneAccuracy(),
    ]
