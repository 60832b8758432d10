"""Turns an audio dataset into sharded TFRecords for keras_rawaudio.data.load_dataset.

  python -m keras_rawaudio.make_tfrecords --layout=folders --input_dir=DIR --output_dir=OUT
  python -m keras_rawaudio.make_tfrecords --layout=esc50 --meta=ESC-50/meta/esc50.csv \\
      --input_dir=ESC-50/audio --output_dir=OUT --val_folds=4 --test_folds=5

Run again to resume an interrupted run; --overwrite redoes everything. See README "Data".
--runner=DirectRunner (or DataflowRunner, FlinkRunner, SparkRunner, ...) runs the same job as
an Apache Beam pipeline (`keras_rawaudio.beam_writer`); Beam pipeline options follow `--`.
"""

import collections

from keras_rawaudio import cli, layouts
from keras_rawaudio.errors import InputError
from keras_rawaudio.files import check_directory, read_lines

LAYOUTS = ("folders", "esc50", "audioset", "csv")


def define_flags():
    from absl import flags

    flags.DEFINE_enum("layout", None, list(LAYOUTS), "Dataset layout.", required=True)
    flags.DEFINE_string("input_dir", None, "Audio root directory.", required=True)
    flags.DEFINE_string(
        "output_dir",
        None,
        "Where the TFRecords, labels.txt and dataset_info.json go.",
        required=True,
    )
    flags.DEFINE_string(
        "meta",
        None,
        "esc50: ESC-50/UrbanSound8K/filename,label,fold CSV; csv: path,labels[,split] CSV.",
    )
    flags.DEFINE_string(
        "labels", None, "Optional labels.txt fixing the vocabulary (folders, esc50, csv)."
    )
    flags.DEFINE_float(
        "val_fraction",
        0.1,
        "folders/csv: fraction of each class for validation.",
        lower_bound=0,
        upper_bound=0.99,
    )
    flags.DEFINE_float(
        "test_fraction",
        0.1,
        "folders/csv: fraction of each class for test.",
        lower_bound=0,
        upper_bound=0.99,
    )
    flags.DEFINE_string("val_folds", "4", "esc50: comma-separated validation folds.")
    flags.DEFINE_string("test_folds", "5", "esc50: comma-separated test folds.")
    for split in layouts.SPLITS:
        flags.DEFINE_string(f"{split}_csv", None, f"audioset: segments CSV of the {split} split.")
    flags.DEFINE_string("class_labels", None, "audioset: class_labels_indices.csv.")
    flags.DEFINE_integer(
        "sample_rate", 16000, "Output sample rate in Hz.", lower_bound=1000, upper_bound=192000
    )
    flags.DEFINE_float(
        "clip_seconds", 10.0, "Longest stored clip; longer recordings are cut.", lower_bound=0.1
    )
    flags.DEFINE_enum(
        "long_clips",
        "split",
        ["split", "crop"],
        "Longer recordings: consecutive windows, or the first only.",
    )
    flags.DEFINE_integer("files_per_shard", 256, "Source files per TFRecord shard.", lower_bound=1)
    flags.DEFINE_integer("workers", 0, "Decoding processes (0: all cores).", lower_bound=0)
    flags.DEFINE_integer("seed", 0, "Seed of the split and of the shard order.")
    flags.DEFINE_bool("overwrite", False, "Redo every shard instead of resuming.")
    flags.DEFINE_string(
        "runner",
        None,
        "An Apache Beam runner (DirectRunner, DataflowRunner, FlinkRunner, SparkRunner, "
        "...); its pipeline options go after --. Default: the local writer, fastest on one "
        "machine.",
    )


# The flags that apply to some layouts only; given with another, they are refused.
LAYOUT_FLAGS = {
    "meta": ("esc50", "csv"),
    "labels": ("folders", "esc50", "csv"),
    "val_fraction": ("folders", "csv"),
    "test_fraction": ("folders", "csv"),
    "val_folds": ("esc50",),
    "test_folds": ("esc50",),
    **{f"{split}_csv": ("audioset",) for split in layouts.SPLITS},
    "class_labels": ("audioset",),
}


def _require(FLAGS, *names):
    for name in names:
        if not FLAGS[name].value:
            raise InputError(f"--layout={FLAGS.layout} needs --{name}")


def read_vocabulary(path) -> list[str] | None:
    """The class names of a --labels file, one per line (None without one)."""
    if path is None:
        return None
    names = read_lines(path, "labels")
    if not names:
        raise InputError(f"--labels {path} names no class")
    repeated = sorted(name for name, count in collections.Counter(names).items() if count > 1)
    if repeated:
        raise InputError(f"--labels {path} names {', '.join(map(repr, repeated))} more than once")
    return names


def list_dataset(FLAGS) -> layouts.Listing:
    """The `Listing` of the layout the flags name."""
    cli.check_flags_apply(LAYOUT_FLAGS, FLAGS.layout, f"--layout={FLAGS.layout}")
    vocabulary = read_vocabulary(FLAGS.labels)
    if FLAGS.val_fraction + FLAGS.test_fraction >= 1:
        raise InputError("--val_fraction + --test_fraction must be below 1")
    fractions = {
        "val_fraction": FLAGS.val_fraction,
        "test_fraction": FLAGS.test_fraction,
        "seed": FLAGS.seed,
    }
    if FLAGS.layout == "folders":
        return layouts.list_folders(FLAGS.input_dir, vocabulary=vocabulary, **fractions)
    if FLAGS.layout == "esc50":
        _require(FLAGS, "meta")
        return layouts.list_esc50(
            FLAGS.input_dir, FLAGS.meta, FLAGS.val_folds, FLAGS.test_folds, vocabulary
        )
    if FLAGS.layout == "csv":
        _require(FLAGS, "meta")
        return layouts.list_csv(FLAGS.input_dir, FLAGS.meta, vocabulary=vocabulary, **fractions)
    _require(FLAGS, "class_labels")
    csvs = {s: FLAGS[f"{s}_csv"].value for s in layouts.SPLITS if FLAGS[f"{s}_csv"].value}
    if not csvs:
        raise InputError(
            "--layout=audioset needs at least one of --train_csv, --val_csv, --test_csv"
        )
    return layouts.list_audioset(FLAGS.input_dir, csvs, FLAGS.class_labels)


@cli.positional
def main(argv) -> int:
    from absl import flags

    from keras_rawaudio.data.writer import WriteOptions, check_usable, make_tfrecords, summary

    FLAGS = flags.FLAGS
    if len(argv) > 1 and not FLAGS.runner:
        raise InputError(
            f"unexpected arguments: {' '.join(argv[1:])} (pipeline options after -- need --runner)"
        )
    check_directory(FLAGS.output_dir, "output_dir")
    options = WriteOptions(
        FLAGS.sample_rate, FLAGS.clip_seconds, FLAGS.long_clips, FLAGS.files_per_shard, FLAGS.seed
    )
    if FLAGS.runner:
        from keras_rawaudio.data.beam_writer import pipeline_options

        pipeline_options(FLAGS.runner, argv[1:])  # a bad runner or option stops before the listing
    listing = list_dataset(FLAGS)
    if listing.split_rule:
        print(f"splits by fold: {listing.split_rule}", flush=True)
    description = {"layout": FLAGS.layout, "flags": cli.flag_values()}
    if FLAGS.runner:
        from keras_rawaudio.data.beam_writer import write_tfrecords_beam

        info = write_tfrecords_beam(
            listing, FLAGS.output_dir, options, FLAGS.runner, argv[1:], FLAGS.overwrite, description
        )
        check_usable(info)
    else:
        info = make_tfrecords(
            listing, FLAGS.output_dir, options, FLAGS.workers, FLAGS.overwrite, description
        )
    print(summary(info, FLAGS.output_dir))
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
