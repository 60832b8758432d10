import numpy as np
import pytest

from keras_rawaudio import soundscapes, stream_metrics
from keras_rawaudio.events import Event, EventRule
from keras_rawaudio.soundscapes import background_names

RATE = 16000
LABELS = ["low", "high"]
FREQUENCIES = (400.0, 3000.0)


def tone(label, seconds=0.3):
    t = np.arange(round(seconds * RATE)) / RATE
    sound = np.zeros(RATE, np.float32)
    sound[4000 : 4000 + len(t)] = 0.5 * np.sin(2 * np.pi * FREQUENCIES[LABELS.index(label)] * t)
    return sound


def oracle(windows):
    """A 'model' that hears each class's tone: its share of the window's power at its frequency,
    whatever the level (as level normalisation would), and nothing in noise."""
    spectrum = np.abs(np.fft.rfft(windows, axis=1)) ** 2
    hz = np.fft.rfftfreq(windows.shape[1], 1 / RATE)
    total = spectrum.sum(axis=1) + 1e-20
    shares = [spectrum[:, np.abs(hz - f) < 20].sum(axis=1) / total for f in FREQUENCIES]
    return np.stack(shares, axis=1).clip(0, 1)


def test_event_f1_is_sed_evals_with_a_200_ms_onset_collar():
    reference = {"a": [Event(1.0, 2.0, "low"), Event(5.0, 5.5, "high")]}
    exact = {"a": [Event(1.1, 3.0, "low", 0.9), Event(5.15, 5.2, "high", 0.8)]}
    assert stream_metrics.event_f1(reference, exact, LABELS)["f1"] == 1.0
    late = {"a": [Event(1.3, 2.0, "low"), Event(5.0, 5.5, "low")]}
    result = stream_metrics.event_f1(reference, late, LABELS)
    assert result["f1"] == 0.0 and result["class_f1"] == {"low": 0.0, "high": 0.0}
    assert (
        stream_metrics.event_f1(reference, {}, ["low", "high", "none"])["class_f1"]["none"] is None
    )
    half = {"a": [Event(1.0, 2.0, "low")]}
    result = stream_metrics.event_f1(reference, half, LABELS)
    assert result["precision"] == 1.0 and result["recall"] == 0.5
    assert result["f1"] == pytest.approx(2 / 3)


def test_an_oracle_scores_full_marks_and_fires_on_no_background(monkeypatch):
    monkeypatch.setattr(soundscapes, "SNR_DB", (20.0, 24.0))  # the oracle misses fainter tones
    sounds = [tone(label) for label in LABELS * 6]
    label_lists = [[label] for label in LABELS * 6]
    result = stream_metrics.evaluate_streams(
        oracle,
        sounds,
        label_lists,
        LABELS,
        EventRule.uniform(2, 0.5),
        RATE,
        RATE,
        RATE,
        seed=0,
        background_seconds=10.0,
    )
    assert result["events"] == 12 and result["soundscapes"] == 2
    assert result["f1"] == 1.0 and result["class_f1"] == {"low": 1.0, "high": 1.0}
    assert result["psds2"] > 0.5
    assert set(result["false_events_per_hour"]) == set(background_names())
    assert result["false_events_quiet"] == 0 and result["false_events_loud"] == 0


def test_false_events_per_hour_counts_events_in_background():
    rule = EventRule.uniform(2, 0.5)
    always = lambda windows: np.tile([0.9, 0.1], (len(windows), 1))  # noqa: E731
    scored = stream_metrics.score_stream(always, np.zeros(30 * RATE), RATE, RATE, RATE)
    events = scored.events(LABELS, rule)
    assert [(e.onset, e.offset, e.label) for e in events] == [(0.0, 30.0, "low")]
    assert stream_metrics.false_events_per_hour(events, 30.0) == 120.0


def test_choose_thresholds_picks_each_class_its_best():
    # "low" scores 0.6 on its events and 0.3 elsewhere; "high" 0.9 on its own, 0.5 elsewhere.
    starts = np.arange(10.0)
    scores = np.tile([0.3, 0.5], (10, 1))
    scores[[2, 6], 0] = 0.6
    scores[[4], 1] = 0.9
    stream = stream_metrics.StreamScores(scores, starts, starts, starts + 1, 1.0, 10.0)
    references = {"s": [Event(2.0, 3.0, "low"), Event(6.0, 7.0, "low"), Event(4.0, 5.0, "high")]}
    rule = stream_metrics.choose_thresholds({"s": stream}, references, LABELS, EventRule.uniform(2))
    low, high = rule.thresholds
    assert 0.3 < low <= 0.6 and 0.5 < high <= 0.9
    assert low == max(t for t in stream_metrics.THRESHOLD_GRID if t <= 0.6)  # ties: the highest


def test_a_class_no_threshold_finds_keeps_its_threshold():
    starts = np.arange(4.0)
    scores = np.zeros((4, 2))  # neither class ever scores
    stream = stream_metrics.StreamScores(scores, starts, starts, starts + 1, 1.0, 4.0)
    references = {"s": [Event(1.0, 2.0, "low")]}
    rule = EventRule((0.4, 0.6))
    assert stream_metrics.choose_thresholds({"s": stream}, references, LABELS, rule) == rule
