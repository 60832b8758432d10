"""The one event detector: scores of successive windows → sound events (NumPy only).

A class's event starts at the first window whose score reaches the class's threshold, goes on
while its windows score at least `release` × the threshold (hysteresis), survives quiet windows
until they reach more than `hold_seconds` past its end, and is kept if it lasts at least
`min_duration` seconds. Its score is the highest window score it holds. The edge runner
(`classify --stream`, `classify --events`), `explain` (on the attention heads' frames) and the
stream evaluation all decide through `EventTracker`, with the `EventRule` of the run
(`event_rule.json`, chosen on validation streams by `stream_metrics.choose_thresholds`), which
the export packs into the `.tflite` file.

A window's time span is where its sound is (`loud_span`): the frames within LOUD_SPAN_DB of
its loudest that stand above its background, so that an event's onset is where the sound
starts, not where a one-second window that happens to hold it begins.

Example:

    rule = EventRule.uniform(num_classes=3, threshold=0.5)
    tracker = EventTracker(["dog", "bell", "car"], rule)
    for start, end, scores in windows:        # seconds, seconds, (3,) probabilities
        for event in tracker.update(start, end, scores):
            print(event)                      # Event(onset=..., offset=..., label=..., score=...)
    remaining = tracker.finish()
"""

import dataclasses
import json
import math
import pathlib

import numpy as np

from keras_rawaudio.errors import InputError

LOUD_SPAN_DB = 20.0  # a window's sound: its frames within this many dB of its loudest
SPAN_FRAME_SECONDS = 0.02
FLOOR_QUANTILE = 0.2  # a window's background: the power of its quietest fifth of frames
ABOVE_FLOOR_DB = 6.0  # a window's sound stands this far above its background
DEFAULT_THRESHOLD = 0.5
RULE_FILE = "event_rule.json"  # in a run directory, and packed in an exported .tflite


class EventRuleError(InputError):
    """An event rule (thresholds, hold, duration) that cannot be used; the message says why."""


@dataclasses.dataclass(frozen=True)
class Event:
    """A detected (or annotated) sound event, times in seconds from the stream's start."""

    onset: float
    offset: float
    label: str
    score: float = 1.0

    def to_dict(self) -> dict:
        return {
            "onset": round(self.onset, 3),
            "offset": round(self.offset, 3),
            "label": self.label,
            "score": round(self.score, 4),
        }


@dataclasses.dataclass(frozen=True)
class EventRule:
    """How window scores become events.

    Args:
        thresholds: per class, the score at which an event starts.
        release: an event goes on while its windows score at least release × threshold.
        hold_seconds: gaps up to this long between an event's windows do not end it.
        min_duration: events shorter than this are dropped.
    """

    thresholds: tuple
    release: float = 0.8
    hold_seconds: float = 0.0
    min_duration: float = 0.0

    def __post_init__(self):
        thresholds = tuple(float(t) for t in self.thresholds)
        object.__setattr__(self, "thresholds", thresholds)
        if not thresholds or not all(0.0 < t <= 1.0 for t in thresholds):
            raise EventRuleError(f"thresholds must be in (0, 1], one per class; got {thresholds}")
        if not 0.0 < self.release <= 1.0:
            raise EventRuleError(f"release must be in (0, 1], got {self.release}")
        for name in ("hold_seconds", "min_duration"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise EventRuleError(f"{name} must be a finite number >= 0, got {value}")

    @classmethod
    def uniform(cls, num_classes: int, threshold=DEFAULT_THRESHOLD, **kwargs) -> "EventRule":
        return cls((threshold,) * num_classes, **kwargs)

    def replace(self, **changes) -> "EventRule":
        return dataclasses.replace(self, **changes)

    def with_threshold(self, threshold: float) -> "EventRule":
        """This rule with `threshold` for every class."""
        return self.replace(thresholds=(threshold,) * len(self.thresholds))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, num_classes: int, source: str) -> "EventRule":
        """The rule in `text` (an event_rule.json), checked to hold `num_classes` thresholds;
        EventRuleError naming `source` otherwise."""
        try:
            values = json.loads(text)
            rule = cls(**values)
        except (json.JSONDecodeError, TypeError, ValueError) as error:
            raise EventRuleError(f"{source} is not an event rule ({error})") from None
        if len(rule.thresholds) != num_classes:
            raise EventRuleError(
                f"{source} has {len(rule.thresholds)} thresholds for {num_classes} classes"
            )
        return rule


def read_rule(directory, num_classes: int) -> EventRule | None:
    """The EventRule of a run directory (its RULE_FILE), None if it has none."""
    path = pathlib.Path(directory) / RULE_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EventRuleError(f"{path} cannot be read ({type(error).__name__})") from None
    return EventRule.from_json(text, num_classes, str(path))


def frame_powers(waveform: np.ndarray, frame: int) -> np.ndarray:
    """The mean square of each `frame` samples of `waveform` (the last frame zero-padded)."""
    count = max(1, -(-len(waveform) // frame))
    padded = np.zeros(count * frame)
    padded[: len(waveform)] = waveform
    return np.square(padded).reshape(count, frame).mean(1)


def loud_span(window: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(start, end) seconds within `window` (1-D) of its sound: from the first to the last frame
    of SPAN_FRAME_SECONDS within LOUD_SPAN_DB of its loudest and ABOVE_FLOOR_DB above its floor
    (its quietest FLOOR_QUANTILE of frames: the background); the whole window where no frame
    stands out (silence, a steady sound)."""
    frame = max(1, round(SPAN_FRAME_SECONDS * sample_rate))
    power = frame_powers(window, frame)
    count = len(power)
    floor = np.quantile(power, FLOOR_QUANTILE) * 10 ** (ABOVE_FLOOR_DB / 10)
    loud = np.flatnonzero((power >= power.max() * 10 ** (-LOUD_SPAN_DB / 10)) & (power > floor))
    if not len(loud):
        return 0.0, len(window) / sample_rate
    end = len(window) if loud[-1] == count - 1 else (loud[-1] + 1) * frame
    return loud[0] * frame / sample_rate, min(end, len(window)) / sample_rate


class EventTracker:
    """Turns one window's scores at a time into events, reporting each when it has ended.

    update(start, end, scores (K,)) → the events that ended before this window; finish() →
    the events still open at the stream's end. Windows come in order of their start.
    """

    def __init__(self, labels, rule: EventRule):
        if len(labels) != len(rule.thresholds):
            raise EventRuleError(
                f"the event rule has {len(rule.thresholds)} thresholds for {len(labels)} classes"
            )
        self.labels, self.rule = list(labels), rule
        self.on = np.asarray(rule.thresholds)
        self.off = self.on * rule.release
        self.open = {}  # class → [onset, offset, score]

    def update(self, start: float, end: float, scores) -> list[Event]:
        scores = np.asarray(scores, np.float64)
        ended = []
        for k in list(self.open):
            if scores[k] >= self.off[k]:
                event = self.open[k]
                event[1], event[2] = max(event[1], end), max(event[2], scores[k])
            elif end - self.open[k][1] > self.rule.hold_seconds:
                ended += self._close(k)
        for k in np.flatnonzero(scores >= self.on):
            if k not in self.open:
                self.open[int(k)] = [start, end, float(scores[k])]
        return sorted(ended, key=lambda e: (e.onset, e.label))

    def finish(self) -> list[Event]:
        ended = [event for k in list(self.open) for event in self._close(k)]
        return sorted(ended, key=lambda e: (e.onset, e.label))

    def _close(self, k) -> list[Event]:
        onset, offset, score = self.open.pop(k)
        if offset - onset < self.rule.min_duration:
            return []
        return [Event(float(onset), float(offset), self.labels[k], float(score))]


def detect_events(scores, starts, ends, labels, rule: EventRule) -> list[Event]:
    """Every event in windows of `scores` (n, K) whose sounds span `starts`..`ends` (n,)
    seconds, by onset."""
    tracker = EventTracker(labels, rule)
    events = []
    for start, end, window_scores in zip(starts, ends, np.asarray(scores)):
        events += tracker.update(float(start), float(end), window_scores)
    events += tracker.finish()
    return sorted(events, key=lambda e: (e.onset, e.label))


def window_spans(windows: np.ndarray, starts, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(onsets, offsets) in seconds of the sound in each of `windows` (n, samples) that start at
    `starts` (n,) seconds: `loud_span` of each, moved to the stream's time."""
    spans = np.array([loud_span(w, sample_rate) for w in windows]).reshape(-1, 2)
    starts = np.asarray(starts, np.float64)
    return starts + spans[:, 0], starts + spans[:, 1]
