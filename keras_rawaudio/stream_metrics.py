"""Scoring a model on streams, as sound-event detection is scored in the field (DCASE).

A stream is cut into windows of the model's input (`scoring.sliding_windows`; one after another
by default, as MediaPipe's AUDIO_STREAM mode cuts them), each window is scored, and the one event
detector (`events.EventTracker`) turns the scores into events. The metrics come from maintained
libraries, not from this project:

* event-based F1 (`sed_eval`): a detected event matches an annotated one of its class whose
  onset is within COLLAR_SECONDS of its own (offsets not judged), micro-averaged over events;
* PSDS (`sed_scores_eval`), threshold-free, in the DCASE scenarios 1 (tight localisation) and
  2 (detection, cross-triggers penalised), on the window scores;
* false events per hour on background-only streams (digital silence, coloured noise, ambience).

`choose_thresholds` picks each class's threshold that maximises its event F1 on validation
soundscapes. NumPy, plus sed_eval and sed_scores_eval (imported when used); no TensorFlow.
"""

import dataclasses
import warnings

import numpy as np

from keras_rawaudio.events import EventRule, detect_events, window_spans
from keras_rawaudio.scoring import sliding_windows
from keras_rawaudio.soundscapes import BACKGROUND_SECONDS, background, background_names, soundscapes

COLLAR_SECONDS = 0.2
THRESHOLD_GRID = tuple(np.round(np.arange(0.1, 0.96, 0.05), 2))
# DCASE 2021-2024 task 4: scenario 1 (localisation) and scenario 2 (classification).
PSDS_SCENARIOS = {
    "psds1": dict(dtc_threshold=0.7, gtc_threshold=0.7, cttc_threshold=None, alpha_ct=0.0),
    "psds2": dict(dtc_threshold=0.1, gtc_threshold=0.1, cttc_threshold=0.3, alpha_ct=0.5),
}
SECONDS_PER_HOUR = 3600.0


@dataclasses.dataclass
class StreamScores:
    """A scored stream: window `scores` (n, K); `starts` (n,) seconds of each window;
    `onsets`/`offsets` (n,) where each window's sound is (`events.window_spans`);
    `window_seconds`, `seconds` (the stream's length)."""

    scores: np.ndarray
    starts: np.ndarray
    onsets: np.ndarray
    offsets: np.ndarray
    window_seconds: float
    seconds: float

    def events(self, labels, rule: EventRule):
        return detect_events(self.scores, self.onsets, self.offsets, labels, rule)


def score_stream(predict, waveform, window: int, hop: int, sample_rate: int) -> StreamScores:
    """Scores `waveform` (samples,) in windows of `window` samples every `hop` with `predict`
    ((n, window) → (n, K)): the whole windows, as a live stream has them (a stream shorter than
    a window: one, zero-padded)."""
    windows = sliding_windows(np.asarray(waveform, np.float32), window, hop)
    whole = 1 + max(0, (len(waveform) - window) // hop)
    windows = windows[:whole]
    starts = np.arange(len(windows)) * hop / sample_rate
    onsets, offsets = window_spans(windows, starts, sample_rate)
    return StreamScores(
        np.asarray(predict(windows), np.float32),
        starts,
        onsets,
        np.minimum(offsets, len(waveform) / sample_rate),
        window / sample_rate,
        len(waveform) / sample_rate,
    )


def score_soundscapes(predict, scapes, window: int, hop: int, sample_rate: int):
    """({name: StreamScores}, {name: annotated events}) of `scapes` (`soundscapes.Soundscape`)."""
    scored = {s.name: score_stream(predict, s.waveform, window, hop, sample_rate) for s in scapes}
    return scored, {s.name: s.events for s in scapes}


def _sed_eval_events(events, name):
    return [
        {"event_label": e.label, "onset": e.onset, "offset": e.offset, "filename": name}
        for e in events
    ]


def event_f1(references: dict, detections: dict, labels) -> dict:
    """sed_eval's event-based metrics (onset collar COLLAR_SECONDS, offsets not judged) over the
    streams named in `references` ({name: [Event]}), `detections` alike: {"f1", "precision",
    "recall", "class_f1": {label: F1, None where the class has neither annotations nor
    detections}}; 0 where there is no true positive."""
    import sed_eval

    metrics = sed_eval.sound_event.EventBasedMetrics(
        list(labels), evaluate_onset=True, evaluate_offset=False, t_collar=COLLAR_SECONDS
    )
    for name, reference in references.items():
        metrics.evaluate(
            _sed_eval_events(reference, name), _sed_eval_events(detections.get(name, []), name)
        )
    with warnings.catch_warnings():  # its class-averaged figures of classes without events
        warnings.simplefilter("ignore", RuntimeWarning)
        results = metrics.results()
    overall = results["overall"]["f_measure"]

    def value(x):  # sed_eval's NaN: no true positive to divide by
        return 0.0 if x is None or np.isnan(x) else float(x)

    class_f1 = {}
    for label in labels:
        counts = results["class_wise"][label]["count"]
        class_f1[label] = (
            value(results["class_wise"][label]["f_measure"]["f_measure"])
            if counts["Nref"] or counts["Nsys"]
            else None
        )
    return {
        "f1": value(overall["f_measure"]),
        "precision": value(overall["precision"]),
        "recall": value(overall["recall"]),
        "class_f1": class_f1,
    }


def psds(scored: dict, references: dict, labels) -> dict:
    """PSDS of each of PSDS_SCENARIOS (sed_scores_eval, alpha_st 1, max eFPR 100 an hour) from the
    window scores of `scored` ({name: StreamScores}); each window's scores hold from midway
    from the previous window's centre to midway to the next's."""
    from sed_scores_eval import intersection_based
    from sed_scores_eval.base_modules.scores import create_score_dataframe

    frames, durations, truth = {}, {}, {}
    for name, stream in scored.items():
        centres = stream.starts + stream.window_seconds / 2
        bounds = np.concatenate([[0.0], (centres[1:] + centres[:-1]) / 2, [stream.seconds]])
        bounds = np.maximum.accumulate(np.minimum(bounds, stream.seconds))
        frames[name] = create_score_dataframe(stream.scores, bounds, list(labels))
        durations[name] = stream.seconds
        truth[name] = [(e.onset, e.offset, e.label) for e in references[name]]
    return {
        key: float(
            intersection_based.psds(
                frames, truth, durations, alpha_st=1.0, max_efpr=100.0, **scenario
            )[0]
        )
        for key, scenario in PSDS_SCENARIOS.items()
    }


def false_events_per_hour(events, seconds: float) -> float:
    """Events detected in a stream without any, per hour of it."""
    return len(events) * SECONDS_PER_HOUR / seconds


def choose_thresholds(scored: dict, references: dict, labels, rule: EventRule) -> EventRule:
    """`rule` with each class's threshold the one of THRESHOLD_GRID that maximises the class's
    event F1 on `scored` streams with annotations `references` (on ties the highest, which
    fires least on background); a class without annotated events, or whose events no threshold
    finds, keeps its threshold."""
    best = np.asarray(rule.thresholds, np.float64)
    best_f1 = np.full(len(labels), -1.0)
    annotated = {e.label for events in references.values() for e in events}
    for threshold in THRESHOLD_GRID:
        trial = rule.with_threshold(threshold)
        detections = {name: stream.events(labels, trial) for name, stream in scored.items()}
        class_f1 = event_f1(references, detections, labels)["class_f1"]
        for k, label in enumerate(labels):
            f1 = class_f1[label]
            if label in annotated and f1 is not None and f1 >= best_f1[k]:
                best[k], best_f1[k] = threshold, f1
    best = np.where(best_f1 > 0, best, rule.thresholds)  # never found: no evidence to move it
    return rule.replace(thresholds=tuple(float(t) for t in best))


def quiet_backgrounds(names) -> list[str]:
    """The backgrounds held to the strict false-event target: silence and noise at −60 and −45
    dBFS (the others, noise at −30 dBFS and ambience, to the loose one)."""
    return [n for n in names if n == "silence" or n.endswith(("_-60dBFS", "_-45dBFS"))]


def evaluate_streams(
    predict,
    waveforms,
    label_lists,
    labels,
    rule: EventRule,
    window: int,
    hop: int,
    sample_rate: int,
    ambience=None,
    seed=0,
    background_seconds=BACKGROUND_SECONDS,
) -> dict:
    """Every stream metric of `predict` ((n, window) → (n, K)) on soundscapes of `waveforms`
    (their labels `label_lists`, names of `labels`) and on background-only streams of
    `background_seconds` each, with the events of `rule`. Returns a dict: event F1 (and
    precision, recall, per class), PSDS 1 and 2, false events per hour on each background and
    the worst of the quiet (silence, −60, −45 dBFS) and of the loud ones, and the counts."""
    rng = np.random.default_rng(seed)
    scapes = soundscapes(waveforms, label_lists, rng, sample_rate, ambience)
    scored, references = score_soundscapes(predict, scapes, window, hop, sample_rate)
    detections = {name: stream.events(labels, rule) for name, stream in scored.items()}
    result = {**event_f1(references, detections, labels), **psds(scored, references, labels)}
    false = {}
    for name in background_names(ambience):
        stream = background(name, round(background_seconds * sample_rate), rng, ambience)
        found = score_stream(predict, stream, window, hop, sample_rate).events(labels, rule)
        false[name] = false_events_per_hour(found, len(stream) / sample_rate)
    quiet = quiet_backgrounds(false)
    result.update(
        false_events_per_hour=false,
        false_events_quiet=max(false[n] for n in quiet),
        false_events_loud=max(false[n] for n in false if n not in quiet),
        soundscapes=len(scapes),
        events=sum(len(s.events) for s in scapes),
        stream_hours=sum(s.seconds for s in scapes) / SECONDS_PER_HOUR,
    )
    return result


def tune_event_rule(
    predict,
    waveforms,
    label_lists,
    labels,
    window: int,
    hop: int,
    sample_rate: int,
    ambience=None,
    seed=0,
    rule: EventRule | None = None,
) -> EventRule:
    """`rule` (default: `EventRule.uniform`) with the per-class thresholds that maximise event F1
    on soundscapes of `waveforms` (a validation split), `choose_thresholds`."""
    rule = rule or EventRule.uniform(len(labels))
    scapes = soundscapes(waveforms, label_lists, np.random.default_rng(seed), sample_rate, ambience)
    return choose_thresholds(
        *score_soundscapes(predict, scapes, window, hop, sample_rate), labels, rule
    )


def label_lists(multi_hot, labels) -> list[list[str]]:
    """The class names of each row of a (N, K) multi-hot array."""
    return [[labels[k] for k in np.flatnonzero(row)] for row in np.asarray(multi_hot)]
