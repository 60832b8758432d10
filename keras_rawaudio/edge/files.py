"""Classifying audio files with an `EdgeClassifier`, and the class names it reports: NumPy only."""

import numpy as np

from keras_rawaudio.audio_io import load_audio
from keras_rawaudio.edge.runner import EdgeClassifier, EdgeModelError
from keras_rawaudio.events import EventRule
from keras_rawaudio.files import read_lines
from keras_rawaudio.scoring import Windowing, combine_windows, sliding_windows
from keras_rawaudio.stream_metrics import score_stream


def top(scores, labels, k):
    order = np.argsort(-scores)[:k]
    return [{"label": labels[i], "score": round(float(scores[i]), 4)} for i in order]


def classify_file(
    path,
    model: EdgeClassifier,
    labels,
    windowing: Windowing,
    sample_rate=16000,
    top_k=5,
    rule: EventRule | None = None,
    event_hop: int | None = None,
) -> dict:
    """One file → {'file', 'top', 'windows'} and, with an event `rule`, 'events' (in windows
    every `event_hop` samples, default one window: `stream_metrics.score_stream`); raises
    AudioError for unusable audio."""
    waveform, _ = load_audio(path, sample_rate)
    hop = windowing.hop_samples
    windows = sliding_windows(waveform, windowing.window, hop)
    scores = model.predict(windows)
    clip = combine_windows(scores, windows, windowing.combine)
    per_window = [
        {"start_seconds": round(i * hop / sample_rate, 3), "top": top(s, labels, top_k)}
        for i, s in enumerate(scores)
    ]
    result = {"file": str(path), "top": top(clip, labels, top_k), "windows": per_window}
    if rule is not None:
        stream = score_stream(
            model.predict, waveform, windowing.window, event_hop or windowing.window, sample_rate
        )
        result["events"] = [event.to_dict() for event in stream.events(labels, rule)]
    return result


def model_labels(model: EdgeClassifier, path=None) -> list[str]:
    """The class names of `model`: those of a labels file if `path` is given, else its
    metadata's."""
    if path is not None:
        return read_label_file(path, model.num_classes)
    if model.labels is None:
        raise EdgeModelError(
            f"{model.path} has no labels in its metadata (an older export?): give --labels"
        )
    return model.labels


def read_label_file(path, num_classes) -> list[str]:
    """The lines of a labels.txt, checked to name one class per model output."""
    labels = read_lines(path, "labels")
    if len(labels) != num_classes:
        raise EdgeModelError(
            f"--labels {path} has {len(labels)} labels but the model outputs {num_classes} classes"
        )
    return labels
