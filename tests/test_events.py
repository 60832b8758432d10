import json

import numpy as np
import pytest

from keras_rawaudio.events import (
    RULE_FILE,
    Event,
    EventRule,
    EventRuleError,
    EventTracker,
    detect_events,
    loud_span,
    read_rule,
    window_spans,
)

LABELS = ["a", "b"]


def windows(column_a, column_b=None):
    """Scores of one-second windows one after another: (scores (n, 2), starts, ends)."""
    a = np.asarray(column_a, float)
    b = np.zeros_like(a) if column_b is None else np.asarray(column_b, float)
    starts = np.arange(len(a), dtype=float)
    return np.stack([a, b], axis=1), starts, starts + 1


def test_an_event_starts_at_the_threshold_and_goes_on_while_above_the_release():
    scores, starts, ends = windows([0.1, 0.6, 0.45, 0.41, 0.3, 0.9, 0.2], [0, 0, 0, 0, 0, 0, 0.55])
    rule = EventRule((0.5, 0.5), release=0.8)  # goes on while >= 0.4
    events = detect_events(scores, starts, ends, LABELS, rule)
    assert events == [
        Event(1.0, 4.0, "a", 0.6),
        Event(5.0, 6.0, "a", 0.9),
        Event(6.0, 7.0, "b", 0.55),
    ]


def test_hold_bridges_short_gaps_and_min_duration_drops_short_events():
    scores, starts, ends = windows([0.9, 0.0, 0.9, 0.0, 0.0, 0.9])
    bridged = detect_events(scores, starts, ends, LABELS, EventRule.uniform(2, hold_seconds=1.0))
    assert [(e.onset, e.offset) for e in bridged] == [(0.0, 3.0), (5.0, 6.0)]
    long_only = EventRule.uniform(2, hold_seconds=1.0, min_duration=2.0)
    assert [
        (e.onset, e.offset) for e in detect_events(scores, starts, ends, LABELS, long_only)
    ] == [(0.0, 3.0)]


def test_the_tracker_reports_each_event_once_it_has_ended():
    tracker = EventTracker(LABELS, EventRule.uniform(2))
    assert tracker.update(0, 1, [0.9, 0.0]) == []
    assert tracker.update(1, 2, [0.9, 0.0]) == []
    assert tracker.update(2, 3, [0.1, 0.7]) == [Event(0.0, 2.0, "a", 0.9)]
    assert tracker.finish() == [Event(2.0, 3.0, "b", 0.7)]
    assert tracker.finish() == []


def test_per_class_thresholds():
    scores, starts, ends = windows([0.3, 0.3], [0.3, 0.3])
    events = detect_events(scores, starts, ends, LABELS, EventRule((0.2, 0.4)))
    assert [e.label for e in events] == ["a"]


def test_a_rule_round_trips_through_json_and_refuses_bad_values(tmp_path):
    rule = EventRule((0.3, 0.7), release=0.5, hold_seconds=0.25, min_duration=0.1)
    (tmp_path / RULE_FILE).write_text(rule.to_json())
    assert read_rule(tmp_path, 2) == rule
    assert read_rule(tmp_path / "elsewhere", 2) is None
    with pytest.raises(EventRuleError, match=r"has 2 thresholds for 3 classes"):
        read_rule(tmp_path, 3)
    for bad, message in (
        ({"thresholds": [0.0, 0.5]}, "thresholds must be in"),
        ({"thresholds": [0.5], "release": 1.5}, "release must be"),
        ({"thresholds": [0.5], "hold_seconds": float("nan")}, "hold_seconds must be"),
        ({"thresholds": [0.5], "colour": 1}, "unexpected keyword"),
    ):
        (tmp_path / RULE_FILE).write_text(json.dumps(bad))
        with pytest.raises(EventRuleError, match=message):
            read_rule(tmp_path, 1)
    (tmp_path / RULE_FILE).write_text("{")
    with pytest.raises(EventRuleError, match=rf"{RULE_FILE} is not an event rule"):
        read_rule(tmp_path, 1)


def test_loud_span_finds_a_sound_over_background_and_keeps_silence_whole():
    rate = 16000
    rng = np.random.default_rng(0)
    window = 0.001 * rng.standard_normal(rate)
    window[6400:8000] += 0.3 * np.sin(2 * np.pi * 500 * np.arange(1600) / rate)  # 0.4-0.5 s
    start, end = loud_span(window, rate)
    assert start == pytest.approx(0.4, abs=0.021) and end == pytest.approx(0.5, abs=0.021)
    assert loud_span(np.zeros(rate), rate) == (0.0, 1.0)
    steady = 0.1 * rng.standard_normal(rate)  # nothing stands out: the whole window
    assert loud_span(steady, rate) == (0.0, 1.0)
    onsets, offsets = window_spans(np.stack([window, np.zeros(rate)]), [3.0, 4.0], rate)
    assert onsets == pytest.approx([3.4, 4.0], abs=0.021) and offsets == pytest.approx(
        [3.5, 5.0], abs=0.021
    )
