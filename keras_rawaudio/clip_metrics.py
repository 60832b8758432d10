"""Clip-level metrics for multi-label sound-event classification, in NumPy (no TensorFlow):
exact, y_true (clips, K) in {0, 1}, y_score (clips, K). The Keras metrics that `compile` uses
are in `keras_rawaudio.models.metrics`.
"""

import math
import statistics

import numpy as np


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
    return np.array(
        [average_precision(y_true[:, k], y_score[:, k]) for k in range(y_true.shape[1])]
    )


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
    """Macro ROC-AUC over classes with both positives and negatives (Mann-Whitney, ties
    averaged)."""
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
