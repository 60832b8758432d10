"""Turns an audio dataset into sharded TFRecords for keras_rawaudio.data.load_dataset.

  python data_prep/make_tfrecords.py --layout=folders --input_dir=DIR --output_dir=OUT
  python data_prep/make_tfrecords.py --layout=esc50 --meta=ESC-50/meta/esc50.csv \
      --input_dir=ESC-50/audio --output_dir=OUT --val_folds=4 --test_folds=5

Run again to resume an interrupted run; --overwrite redoes everything. See README "Data".
"""

import sys

from absl import app, flags

from keras_rawaudio import layouts
from keras_rawaudio.tfrecord_writer import WriteError, WriteOptions

FLAGS = flags.FLAGS
flags.DEFINE_enum("layout", None, ["folders", "esc50", "audioset", "csv"], "Dataset layout.")
flags.DEFINE_string("input_dir", None, "Audio root directory.")
flags.DEFINE_string("output_dir", None, "Where the TFRecords, labels.txt and dataset_info.json go.")
flags.DEFINE_string("meta", None, "esc50: ESC-50/UrbanSound8K/filename,label,fold CSV; csv: path,labels[,split] CSV.")
flags.DEFINE_string("labels", None, "Optional labels.txt fixing the vocabulary (folders, esc50, csv).")
flags.DEFINE_float("val_fraction", 0.1, "folders/csv: fraction of each class for validation.")
flags.DEFINE_float("test_fraction", 0.1, "folders/csv: fraction of each class for test.")
flags.DEFINE_string("val_folds", "4", "esc50: comma-separated validation folds.")
flags.DEFINE_string("test_folds", "5", "esc50: comma-separated test folds.")
flags.DEFINE_string("train_csv", None, "audioset: segments CSV of the train split.")
flags.DEFINE_string("val_csv", None, "audioset: segments CSV of the val split.")
flags.DEFINE_string("test_csv", None, "audioset: segments CSV of the test split.")
flags.DEFINE_string("class_labels", None, "audioset: class_labels_indices.csv.")
flags.DEFINE_integer("sample_rate", 16000, "Output sample rate in Hz.", lower_bound=1000)
flags.DEFINE_float("clip_seconds", 10.0, "Longest stored clip; longer recordings are cut.", lower_bound=0.1)
flags.DEFINE_enum("long_clips", "split", ["split", "crop"], "Longer recordings: consecutive windows, or the first only.")
flags.DEFINE_integer("files_per_shard", 256, "Source files per TFRecord shard.", lower_bound=1)
flags.DEFINE_integer("workers", 0, "Decoding processes (0: all cores).", lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed of the split and of the shard order.")
flags.DEFINE_bool("overwrite", False, "Redo every shard instead of resuming.")
flags.mark_flags_as_required(["layout", "input_dir", "output_dir"])


def _require(*names):
    for name in names:
        if not FLAGS[name].value:
            raise app.UsageError(f"--layout={FLAGS.layout} needs --{name}")


def _fraction_flags():
    for name in ("val_fraction", "test_fraction"):
        if not 0 <= FLAGS[name].value < 1:
            raise app.UsageError(f"--{name} must be in [0, 1), got {FLAGS[name].value}")
    if FLAGS.val_fraction + FLAGS.test_fraction >= 1:
        raise app.UsageError("--val_fraction + --test_fraction must be below 1")
    return {"val_fraction": FLAGS.val_fraction, "test_fraction": FLAGS.test_fraction, "seed": FLAGS.seed}


def list_dataset() -> layouts.Listing:
    vocabulary = None
    if FLAGS.labels:
        with open(FLAGS.labels, encoding="utf-8") as file:
            vocabulary = [line.strip() for line in file if line.strip()]
    if FLAGS.layout == "folders":
        return layouts.list_folders(FLAGS.input_dir, vocabulary=vocabulary, **_fraction_flags())
    if FLAGS.layout == "esc50":
        _require("meta")
        return layouts.list_esc50(FLAGS.input_dir, FLAGS.meta, FLAGS.val_folds, FLAGS.test_folds, vocabulary)
    if FLAGS.layout == "csv":
        _require("meta")
        return layouts.list_csv(FLAGS.input_dir, FLAGS.meta, vocabulary=vocabulary, **_fraction_flags())
    _require("class_labels")
    csvs = {s: FLAGS[f"{s}_csv"].value for s in layouts.SPLITS if FLAGS[f"{s}_csv"].value}
    if not csvs:
        raise app.UsageError("--layout=audioset needs at least one of --train_csv, --val_csv, --test_csv")
    return layouts.list_audioset(FLAGS.input_dir, csvs, FLAGS.class_labels)


def summary(info: dict, output_dir: str) -> str:
    parts = [f"{split} {s['clips']} clips" for split, s in info["splits"].items() if s["clips"]]
    line = f"wrote {', '.join(parts)} ({info['total_seconds'] / 3600:.2f} h) to {output_dir}"
    if info["skipped"]:
        line += f"; skipped {len(info['skipped'])} files (reasons in dataset_info.json)"
    return line


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from keras_rawaudio.tfrecord_writer import write_tfrecords  # TensorFlow, main process only

    options = WriteOptions(FLAGS.sample_rate, FLAGS.clip_seconds, FLAGS.long_clips, FLAGS.files_per_shard, FLAGS.seed)
    try:
        listing = list_dataset()
        description = {"layout": FLAGS.layout, "flags": {f.name: f.value for f in FLAGS.get_flags_for_module(sys.argv[0])}}
        info = write_tfrecords(listing, FLAGS.output_dir, options, FLAGS.workers, FLAGS.overwrite, description)
    except (layouts.LayoutError, WriteError, OSError) as error:
        sys.exit(f"make_tfrecords: error: {error}")
    print(summary(info, FLAGS.output_dir))
    if not any(s["clips"] for s in info["splits"].values()):
        reasons = sorted({s["reason"] for s in info["skipped"]})[:3]
        sys.exit(f"make_tfrecords: error: no usable clip ({'; '.join(reasons) or 'no audio files found'})")


if __name__ == "__main__":
    app.run(main)
