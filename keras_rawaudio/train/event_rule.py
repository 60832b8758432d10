"""The run's event rule: per-class thresholds chosen on validation soundscapes, so that the
runner, `explain` and an app decide alike (`keras_rawaudio.events`)."""

import pathlib

from keras_rawaudio.data.reading import load_recordings, read_labels
from keras_rawaudio.events import RULE_FILE, EventRule
from keras_rawaudio.files import write_atomic
from keras_rawaudio.soundscapes import read_ambience
from keras_rawaudio.stream_metrics import label_lists, tune_event_rule


def choose_event_rule(
    predict,
    data_dir,
    window: int,
    sample_rate: int,
    background_dir=None,
    exclude=(),
    seed=0,
    split="val",
    rule: EventRule | None = None,
) -> EventRule:
    """The thresholds that maximise each class's event F1 on soundscapes of `split`, over
    generated noise and the --background_dir recordings (less the kinds named like a class or
    in `exclude`), in windows of `window` samples one after another."""
    labels = read_labels(data_dir)
    recordings = load_recordings(data_dir, split)
    ambience = (
        read_ambience(background_dir, sample_rate, {*labels, *exclude}) if background_dir else None
    )
    return tune_event_rule(
        predict,
        recordings.waveforms,
        label_lists(recordings.labels, labels),
        labels,
        window,
        window,
        sample_rate,
        ambience,
        seed,
        rule,
    )


def write_event_rule(directory, rule: EventRule) -> pathlib.Path:
    path = pathlib.Path(directory) / RULE_FILE
    write_atomic(path, rule.to_json())
    return path
