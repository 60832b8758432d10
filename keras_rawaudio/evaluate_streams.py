"""Stream evaluation: how a model does on a live stream, as the field measures it (DCASE).

  python -m keras_rawaudio.evaluate_streams --model=RUN/best.keras --data_dir=DATA \
      [--split=test] [--background_dir=../shared/data/background16k]
  python -m keras_rawaudio.evaluate_streams --model=OUT/model_int8.tflite --data_dir=DATA
  python -m keras_rawaudio.evaluate_streams --model=RUN/best.keras --data_dir=DATA --split=val \
      --choose_thresholds        # writes RUN/event_rule.json (training does this itself)

Lays the split's recordings into soundscapes (`keras_rawaudio.soundscapes`: events over
background at −6…+24 dB SNR, with gaps), scores them in windows of the model's input one after
another (MediaPipe's AUDIO_STREAM windows; --hop_seconds for others), turns the scores into
events with the model's event rule (its run's event_rule.json, or the one packed in a .tflite
file) and reports (`keras_rawaudio.stream_metrics`): event-based F1 (sed_eval, 200 ms onset
collar), PSDS 1 and 2 (sed_scores_eval), false events per hour on background-only streams
(silence; white, pink and brown noise at −60, −45 and −30 dBFS; each --background_dir
recording), and the clip-level top-1 accuracy of the same recordings, for the ratio of the two.
Prints a summary and the metrics as one JSON object on the last stdout line, and writes them to
<model>_<split>_streams.json beside the model.
"""

import json
import pathlib

from keras_rawaudio import cli
from keras_rawaudio.errors import InputError
from keras_rawaudio.events import RULE_FILE, EventRule, read_rule
from keras_rawaudio.files import write_atomic
from keras_rawaudio.soundscapes import BACKGROUND_SECONDS, read_ambience


class StreamModel:
    """A model to stream: `predict` ((n, window) → (n, K)), `window` samples, `labels`, `rule`
    (the model's own, else `EventRule.uniform`), `sample_rate`, `own_rule` (whether it had one)."""

    def __init__(self, path, data_dir, window_seconds=None):
        from keras_rawaudio.data.reading import read_info, read_labels

        path = pathlib.Path(path)
        if path.suffix == ".tflite":
            from keras_rawaudio.edge import EdgeClassifier, model_labels

            model = EdgeClassifier(path)
            self.predict, self.window = model.predict, model.window_samples
            self.labels = model_labels(model)
            self.sample_rate = model.description.sample_rate
            rule = model.event_rule
            if self.labels != read_labels(data_dir):
                raise InputError(f"{path} and {data_dir} name different classes")
        else:
            from keras_rawaudio.models import keras_predict, load_classifier
            from keras_rawaudio.train.run_directory import check_labels, model_windowing

            model = load_classifier(path)
            self.labels = check_labels(model, path, data_dir)
            self.window = model_windowing(model, path, data_dir, window_seconds).window
            self.predict, self.sample_rate = keras_predict(model), model.config.sample_rate
            rule = read_rule(path.parent, len(self.labels))
        if read_info(data_dir)["sample_rate"] != self.sample_rate:
            raise InputError(f"{data_dir} is not at the model's {self.sample_rate} Hz")
        self.own_rule = rule is not None
        self.rule = rule or EventRule.uniform(len(self.labels))


def evaluate_streams(
    model_path,
    data_dir,
    split="test",
    background_dir=None,
    exclude_background=(),
    hop_seconds=None,
    seed=0,
    background_seconds=BACKGROUND_SECONDS,
    window_seconds=None,
) -> dict:
    """Every stream metric of the model on `split` (see the module docstring), and the clip-level
    top-1 accuracy of the same recordings; written to <model>_<split>_streams.json."""
    from keras_rawaudio import stream_metrics
    from keras_rawaudio.clip_metrics import top1_accuracy
    from keras_rawaudio.data.reading import load_recordings
    from keras_rawaudio.scoring import Windowing, score_recordings

    model = StreamModel(model_path, data_dir, window_seconds)
    recordings = load_recordings(data_dir, split)
    ambience = background_ambience(background_dir, model, exclude_background)
    hop = model.window if hop_seconds is None else max(1, round(hop_seconds * model.sample_rate))
    result = stream_metrics.evaluate_streams(
        model.predict,
        recordings.waveforms,
        stream_metrics.label_lists(recordings.labels, model.labels),
        model.labels,
        model.rule,
        model.window,
        hop,
        model.sample_rate,
        ambience,
        seed,
        background_seconds,
    )
    clips = score_recordings(model.predict, recordings.waveforms, Windowing(model.window))
    accuracy = top1_accuracy(recordings.labels, clips)
    result.update(
        clip_accuracy=accuracy,
        f1_over_accuracy=result["f1"] / accuracy if accuracy else None,
        event_rule="the model's" if model.own_rule else "uniform 0.5 (the model has none)",
        hop_seconds=hop / model.sample_rate,
        window_seconds=model.window / model.sample_rate,
    )
    path = pathlib.Path(model_path)
    write_atomic(
        path.with_name(f"{path.stem}_{split}_streams.json"), json.dumps(result, indent=2) + "\n"
    )
    return result


def background_ambience(background_dir, model: StreamModel, exclude=()):
    """The --background_dir recordings, less the kinds (first-level folders) named like a class
    of the model or in `exclude`; None without a directory."""
    if not background_dir:
        return None
    return read_ambience(background_dir, model.sample_rate, {*model.labels, *exclude})


def choose_thresholds(
    model_path,
    data_dir,
    split="val",
    background_dir=None,
    exclude=(),
    seed=0,
    window_seconds=None,
):
    """Chooses the per-class thresholds of a .keras model on `split`'s soundscapes and writes
    them to its run directory's event_rule.json; returns the rule."""
    from keras_rawaudio.train.event_rule import choose_event_rule, write_event_rule

    if pathlib.Path(model_path).suffix == ".tflite":
        raise InputError("--choose_thresholds is for a .keras model (its run directory keeps them)")
    model = StreamModel(model_path, data_dir, window_seconds)
    rule = choose_event_rule(
        model.predict,
        data_dir,
        model.window,
        model.sample_rate,
        background_dir,
        exclude,
        seed,
        split,
        model.rule,
    )
    write_event_rule(pathlib.Path(model_path).parent, rule)
    return rule


def summary(result) -> str:
    worst = max(result["false_events_per_hour"], key=result["false_events_per_hour"].get)
    return (
        f"event F1 {result['f1']:.3f} (precision {result['precision']:.3f}, recall "
        f"{result['recall']:.3f}; clip accuracy {result['clip_accuracy']:.3f}), PSDS1 "
        f"{result['psds1']:.3f}, PSDS2 {result['psds2']:.3f}; false events an hour: quiet "
        f"backgrounds {result['false_events_quiet']:.1f}, loud {result['false_events_loud']:.1f} "
        f"(most: {worst}); {result['events']} events in {result['soundscapes']} soundscapes, "
        f"{result['stream_hours'] * 60:.1f} min; event rule: {result['event_rule']}"
    )


def define_flags():
    from absl import flags

    flags.DEFINE_string("model", None, "A .keras model or an exported .tflite.", required=True)
    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.", required=True)
    flags.DEFINE_enum("split", "test", ["train", "val", "test"], "Split laid into soundscapes.")
    flags.DEFINE_string(
        "background_dir",
        None,
        "Recordings of real ambience with no event, one folder per kind (a kind named like a "
        "class is left out).",
    )
    flags.DEFINE_list("exclude_background", [], "Kinds of --background_dir also left out.")
    flags.DEFINE_float(
        "hop_seconds",
        None,
        "Hop between stream windows (default: one window, as MediaPipe's AUDIO_STREAM).",
        lower_bound=0.01,
    )
    flags.DEFINE_float(
        "window_seconds",
        None,
        "A .keras model's window (default: its run's training window).",
        lower_bound=0.01,
    )
    flags.DEFINE_integer("seed", 0, "Seed of the soundscapes and backgrounds.", lower_bound=0)
    flags.DEFINE_bool(
        "choose_thresholds",
        False,
        f"Choose the per-class thresholds on --split and write RUN/{RULE_FILE}, instead.",
    )


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    if FLAGS.choose_thresholds:
        rule = choose_thresholds(
            FLAGS.model,
            FLAGS.data_dir,
            FLAGS.split,
            FLAGS.background_dir,
            FLAGS.exclude_background,
            FLAGS.seed,
            FLAGS.window_seconds,
        )
        print(f"wrote {pathlib.Path(FLAGS.model).parent / RULE_FILE}: thresholds {rule.thresholds}")
        return 0
    result = evaluate_streams(
        FLAGS.model,
        FLAGS.data_dir,
        FLAGS.split,
        FLAGS.background_dir,
        FLAGS.exclude_background,
        FLAGS.hop_seconds,
        FLAGS.seed,
        window_seconds=FLAGS.window_seconds,
    )
    print(summary(result))
    print(json.dumps(result))
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
