"""Clip-level evaluation of a trained model on a TFRecord split.

  python -m keras_rawaudio.evaluate --data_dir=DATA --split=test --model=RUN/best.keras

Scores every recording of the split the one way `keras_rawaudio.scoring` defines (windows of
the run's training window, half a window apart, combined by the max over the loud windows
unless told otherwise), prints the metrics as one JSON object on the last stdout line and
writes a per-class AP CSV and PNG plots next to the model.
"""

import json
import pathlib

import numpy as np

from keras_rawaudio import cli, clip_metrics
from keras_rawaudio.data.reading import score_split
from keras_rawaudio.files import save_figure, write_csv
from keras_rawaudio.models import keras_predict, load_classifier
from keras_rawaudio.scoring import COMBINE, DEFAULT_COMBINE
from keras_rawaudio.train.run_directory import check_labels, model_windowing


def write_reports(prefix: pathlib.Path, labels, y_true, scores):
    """Per-class AP CSV, an AP bar chart and, for single-label data, a confusion matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ap = clip_metrics.per_class_average_precision(y_true, scores)
    written = [f"{prefix}_per_class_ap.csv", f"{prefix}_ap.png"]
    write_csv(
        written[0],
        ["class", "average_precision", "positives"],
        [
            [name, "" if np.isnan(value) else f"{value:.4f}", int(positives)]
            for name, value, positives in zip(labels, ap, y_true.sum(axis=0))
        ],
    )
    order = np.argsort(np.nan_to_num(ap, nan=-1.0))
    figure, axis = plt.subplots(figsize=(7, 0.25 * len(labels) + 1.5))
    axis.barh([labels[i] for i in order], np.nan_to_num(ap[order]))
    axis.set_xlabel("average precision")
    axis.set_xlim(0, 1)
    figure.tight_layout()
    save_figure(figure, written[1], dpi=100)
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
        save_figure(figure, written[-1], dpi=100)
        plt.close(figure)
    return written


def evaluate(
    model_path,
    data_dir,
    split="test",
    window_seconds=None,
    hop_seconds=None,
    combine=DEFAULT_COMBINE,
    reports=True,
    gain_db=0.0,
):
    """Loads, scores and reports; returns the metrics dict (with the report paths if `reports`).

    gain_db: scales every recording first (a level-robustness check; see `score_split`).

    Example: `evaluate("runs/esc50/best.keras", "data/esc50", "test")["mAP"]`.
    """
    model = load_classifier(model_path)
    labels = check_labels(model, model_path, data_dir)
    windowing = model_windowing(model, model_path, data_dir, window_seconds, hop_seconds, combine)
    y_true, scores = score_split(keras_predict(model), data_dir, split, windowing, gain_db)
    result = clip_metrics.clip_metrics(y_true, scores)
    if reports:
        prefix = pathlib.Path(model_path).with_suffix("")
        result["reports"] = write_reports(pathlib.Path(f"{prefix}_{split}"), labels, y_true, scores)
    return result


def define_flags():
    from absl import flags

    flags.DEFINE_string("data_dir", None, "TFRecord directory from make_tfrecords.", required=True)
    flags.DEFINE_string("model", None, "A .keras model, e.g. RUN/best.keras.", required=True)
    flags.DEFINE_enum("split", "test", ["train", "val", "test"], "Split to evaluate.")
    flags.DEFINE_float(
        "window_seconds",
        None,
        "Window length (default: the run's training window).",
        lower_bound=0.01,
    )
    flags.DEFINE_float(
        "hop_seconds", None, "Hop between windows (default: half a window).", lower_bound=0.001
    )
    flags.DEFINE_enum(
        "combine", DEFAULT_COMBINE, COMBINE, "How window scores combine per recording."
    )
    flags.DEFINE_float(
        "gain_db", 0.0, "Scale every recording by this gain first (a level-robustness check)."
    )


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    result = evaluate(
        FLAGS.model,
        FLAGS.data_dir,
        FLAGS.split,
        FLAGS.window_seconds,
        FLAGS.hop_seconds,
        FLAGS.combine,
        gain_db=FLAGS.gain_db,
    )
    for path in result.pop("reports"):
        print(f"wrote {path}")
    print(json.dumps(result))
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
