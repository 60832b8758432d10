"""Clip-level evaluation of a trained model on a TFRecord split.

  python -m keras_rawaudio.evaluate --data_dir=DATA --split=test --model=RUN/best.keras

Each stored clip is cut into consecutive windows of the training length (the last one
zero-padded); window scores are combined per recording (max by default), over every window
make_tfrecords cut from it. Prints the metrics as one JSON object on the last stdout line and
writes a per-class AP CSV and PNG plots next to the model.
"""

import csv
import json
import pathlib
import re
import sys

import numpy as np
import tensorflow as tf

from keras_rawaudio import metrics as metrics_lib
from keras_rawaudio.data import DataError, read_info, read_labels, shard_files
from keras_rawaudio.records import parse

COMBINE = {"max": np.max, "mean": np.mean}


class EvaluationError(ValueError):
    """The model, labels or data cannot be evaluated together; the message says why."""


def score_clips(predict, data_dir, split, window_samples, combine="max", chunk_windows=512):
    """Scores every recording of a split.

    predict: (n, window_samples) float32 → (n, K) probabilities (a Keras model, a TFLite
    runner, ...). Returns (recording ids, y_true (N, K), scores (N, K)).
    """
    num_classes = len(read_labels(data_dir))
    records = tf.data.TFRecordDataset(shard_files(data_dir, split)).map(lambda r: parse(r, num_classes))
    windows = records.map(
        lambda e: (tf.signal.frame(e["waveform"], window_samples, window_samples, pad_end=True), e["multi_hot"], e["clip_id"])
    )
    recordings, truths, window_owner, window_scores, pending = [], [], [], [], []

    def flush():
        if pending:
            window_scores.append(np.asarray(predict(np.concatenate(pending))))
            pending.clear()

    for frames, multi_hot, clip_id in windows.as_numpy_iterator():
        recording = re.sub(r"#\d+$", "", clip_id.decode())
        if not recordings or recordings[-1] != recording:
            recordings.append(recording)
            truths.append(multi_hot)
        truths[-1] = np.maximum(truths[-1], multi_hot)
        window_owner += [len(recordings) - 1] * len(frames)
        pending.append(frames)
        if sum(len(p) for p in pending) >= chunk_windows:
            flush()
    flush()
    if not recordings:
        raise DataError(f"split {split!r} of {data_dir} has no clips")
    scores = np.concatenate(window_scores)
    owner = np.asarray(window_owner)
    combined = np.stack([COMBINE[combine](scores[owner == i], axis=0) for i in range(len(recordings))])
    return recordings, np.stack(truths), combined


def training_window(model_path, model) -> int | None:
    """The model's window in samples: its fixed input, else the run's training clip length."""
    if model.config.input_samples:
        return model.config.input_samples
    config = pathlib.Path(model_path).parent / "config.json"
    if config.exists():
        seconds = json.loads(config.read_text())["schedule"]["clip_seconds"]
        return max(round(seconds * model.config.sample_rate), model.config.min_samples)
    return None


def load_classifier(path):
    """Loads a keras_rawaudio `.keras` model, or raises EvaluationError saying why not."""
    import keras

    from keras_rawaudio.models import AudioClassifier

    if not pathlib.Path(path).is_file():
        raise EvaluationError(f"--model {path} does not exist")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any load failure is reported in one line
        raise EvaluationError(f"--model {path} is not a loadable .keras file ({type(error).__name__})") from None
    if not isinstance(model, AudioClassifier):
        raise EvaluationError(f"--model {path} is a {type(model).__name__}, not a keras_rawaudio classifier")
    return model


def check_labels(model, model_path, data_dir) -> list[str]:
    """The class names, after checking that model and data agree on them."""
    labels = read_labels(data_dir)
    if model.config.num_classes != len(labels):
        raise EvaluationError(f"the model has {model.config.num_classes} classes but {data_dir}/labels.txt has {len(labels)}")
    run_labels = pathlib.Path(model_path).parent / "labels.txt"
    if run_labels.exists() and read_labels(run_labels.parent) != labels:
        raise EvaluationError(f"{run_labels} and {data_dir}/labels.txt name different classes")
    return labels


def write_reports(prefix: pathlib.Path, labels, y_true, scores):
    """Per-class AP CSV, an AP bar chart and, for single-label data, a confusion matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ap = metrics_lib.per_class_average_precision(y_true, scores)
    with open(f"{prefix}_per_class_ap.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["class", "average_precision", "positives"])
        for name, value, positives in zip(labels, ap, y_true.sum(axis=0)):
            writer.writerow([name, "" if np.isnan(value) else f"{value:.4f}", int(positives)])
    written = [f"{prefix}_per_class_ap.csv", f"{prefix}_ap.png"]
    order = np.argsort(np.nan_to_num(ap, nan=-1.0))
    figure, axis = plt.subplots(figsize=(7, 0.25 * len(labels) + 1.5))
    axis.barh([labels[i] for i in order], np.nan_to_num(ap[order]))
    axis.set_xlabel("average precision")
    axis.set_xlim(0, 1)
    figure.tight_layout()
    figure.savefig(written[1], dpi=100)
    plt.close(figure)
    if np.all(y_true.sum(axis=1) == 1):
        k = len(labels)
        matrix = np.zeros((k, k), int)
        np.add.at(matrix, (y_true.argmax(axis=1), scores.argmax(axis=1)), 1)
        figure, axis = plt.subplots(figsize=(0.45 * k + 2.5, 0.45 * k + 2))
        axis.imshow(matrix, cmap="Blues")
        axis.set_xticks(range(k), labels, rotation=90)
        axis.set_yticks(range(k), labels)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        for (i, j), n in np.ndenumerate(matrix):
            if n:
                axis.text(j, i, n, ha="center", va="center", fontsize=7)
        figure.tight_layout()
        written.append(f"{prefix}_confusion.png")
        figure.savefig(written[-1], dpi=100)
        plt.close(figure)
    return written


def evaluate(model_path, data_dir, split="test", window_seconds=None, combine="max", reports=True):
    """Loads, scores and reports; returns the metrics dict."""
    model = load_classifier(model_path)
    labels = check_labels(model, model_path, data_dir)
    rate = read_info(data_dir)["sample_rate"]
    if rate != model.config.sample_rate:
        raise EvaluationError(f"{data_dir} is at {rate} Hz but the model takes {model.config.sample_rate} Hz")
    window = round(window_seconds * rate) if window_seconds else training_window(model_path, model)
    if window is None:
        raise EvaluationError("the model's training window is unknown (no config.json beside it): pass --window_seconds")
    if combine not in COMBINE:
        raise EvaluationError(f"--combine must be max or mean, got {combine!r}")
    _, y_true, scores = score_clips(lambda x: model.predict(x, batch_size=64, verbose=0), data_dir, split, window, combine)
    result = metrics_lib.clip_metrics(y_true, scores)
    if reports:
        prefix = pathlib.Path(model_path).with_suffix("")
        result["reports"] = write_reports(pathlib.Path(f"{prefix}_{split}"), labels, y_true, scores)
    return result


def main(argv):
    from absl import flags

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        print(f"evaluate: error: unexpected arguments: {' '.join(argv[1:])}", file=sys.stderr)
        return 2
    try:
        result = evaluate(FLAGS.model, FLAGS.data_dir, FLAGS.split, FLAGS.window_seconds, FLAGS.combine)
    except (EvaluationError, DataError) as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    for path in result.pop("reports"):
        print(f"wrote {path}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.py.", required=True)
    flags.DEFINE_string("model", None, "A .keras model, e.g. RUN/best.keras.", required=True)
    flags.DEFINE_string("split", "test", "Split to evaluate.")
    flags.DEFINE_float("window_seconds", None, "Window length (default: the run's training window).")
    flags.DEFINE_enum("combine", "max", list(COMBINE), "How window scores combine per recording.")
    app.run(lambda argv: sys.exit(main(argv)))
