import numpy as np
import pytest
from scipy.stats import norm
from sklearn import metrics as sk

from keras_rawaudio import clip_metrics
from keras_rawaudio.models import metrics


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    y_true = (rng.random((200, 6)) < 0.25).astype(float)
    y_true[:, 5] = 0  # a class without positives is left out of mAP
    scores = np.clip(0.35 * y_true + rng.random((200, 6)) * 0.8, 0, 1)
    scores[:50] = np.round(scores[:50], 1)  # ties
    return y_true, scores


def test_numpy_metrics_match_scikit_learn(predictions):
    y_true, scores = predictions
    ap = [sk.average_precision_score(y_true[:, k], scores[:, k]) for k in range(5)]
    np.testing.assert_allclose(
        clip_metrics.per_class_average_precision(y_true, scores)[:5], ap, atol=1e-12
    )
    assert np.isnan(clip_metrics.per_class_average_precision(y_true, scores)[5])
    assert clip_metrics.mean_average_precision(y_true, scores) == pytest.approx(
        np.mean(ap), abs=1e-12
    )
    auc = sk.roc_auc_score(y_true[:, :5], scores[:, :5], average="macro")
    assert clip_metrics.roc_auc(y_true, scores) == pytest.approx(auc, abs=1e-12)
    assert clip_metrics.d_prime(auc) == pytest.approx(np.sqrt(2) * norm.ppf(auc), abs=1e-9)
    has_labels = y_true.sum(axis=1) > 0
    lrap = sk.label_ranking_average_precision_score(
        y_true[has_labels], scores[has_labels], sample_weight=y_true[has_labels].sum(axis=1)
    )
    assert clip_metrics.lwlrap(y_true, scores) == pytest.approx(lrap, abs=1e-12)
    single = np.eye(6)[np.arange(200) % 6]
    expected = sk.accuracy_score(single.argmax(1), scores.argmax(1))
    assert clip_metrics.top1_accuracy(single, scores) == pytest.approx(expected)


def test_keras_metrics_stream_over_batches(predictions):
    y_true, scores = predictions
    streaming = [
        metrics.MeanAveragePrecision(num_thresholds=500),
        metrics.Lwlrap(),
        metrics.TopOneAccuracy(),
        metrics.DPrime(),
        metrics.MacroAUC(),
    ]
    for start in range(0, 200, 32):
        for metric in streaming:
            metric.update_state(y_true[start : start + 32], scores[start : start + 32])
    mean_ap, lw, top1, dp, auc = (float(m.result()) for m in streaming)
    assert mean_ap == pytest.approx(clip_metrics.mean_average_precision(y_true, scores), abs=0.01)
    assert lw == pytest.approx(clip_metrics.lwlrap(y_true, scores), abs=1e-6)
    assert top1 == pytest.approx(clip_metrics.top1_accuracy(y_true, scores), abs=1e-6)
    assert auc == pytest.approx(clip_metrics.roc_auc(y_true, scores), abs=0.01)
    assert dp == pytest.approx(clip_metrics.d_prime(clip_metrics.roc_auc(y_true, scores)), abs=0.02)
    streaming[0].reset_state()
    assert float(streaming[0].result()) == 0.0
