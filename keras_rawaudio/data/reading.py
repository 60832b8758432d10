"""Reading a TFRecord directory: its labels and info, its shards (damaged ones named), whole
recordings for scoring, and the tf.data pipeline of training and evaluation batches.

`load_dataset(data_dir, split, options)` yields (waveform (batch, samples) float32 in [-1, 1],
multi_hot (batch, K)) batches ready for `model.fit`, in five stages, each its own function:
read (shards → parsed clips, shuffled or class-balanced) → fix length (random crop or pad,
`augmentation`) → batch → mix (`mixing`) → background (`background`, training only).

Example:

    options = DataOptions(batch_size=32, clip_seconds=1.0, mix="mix_training", seed=0)
    train = load_dataset("data/esc50", "train", options)
"""

import contextlib
import pathlib

import numpy as np
import tensorflow as tf

from keras_rawaudio.data.augmentation import fix_lengths
from keras_rawaudio.data.background import Ambience, background_batches
from keras_rawaudio.data.mixing import LEVEL_FRAME, mix_batches
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.data.records import RECORD_FORMAT, Recordings, parse, read_recordings
from keras_rawaudio.errors import InputError
from keras_rawaudio.files import DamagedFileError, damaged, read_json, read_lines
from keras_rawaudio.scoring import Windowing, score_recordings
from keras_rawaudio.soundscapes import read_ambience

AGAIN = "restore the file that make_tfrecords wrote, or run it again with --overwrite"


class DataError(InputError):
    """A data directory or split that cannot be read; the message names it."""


def read_labels(data_dir) -> list[str]:
    """The class names of a TFRecord directory, in index order (its labels.txt)."""
    path = pathlib.Path(data_dir) / "labels.txt"
    if not path.is_file():
        raise DataError(f"{data_dir} has no labels.txt: is it an output of make_tfrecords?")
    labels = read_lines(path)
    if not labels:
        raise DamagedFileError(damaged(path, "no class names", AGAIN))
    written = (
        read_info(data_dir).get("num_classes")
        if (path.parent / "dataset_info.json").is_file()
        else None
    )
    if written is not None and written != len(labels):
        raise DataError(
            f"{path} names {len(labels)} classes but the records of {data_dir} have {written} "
            "(dataset_info.json): restore the labels.txt that make_tfrecords wrote, or run it again"
        )
    return labels


def read_info(data_dir) -> dict:
    """The dataset_info.json written by make_tfrecords, checked to be of this record format."""
    path = pathlib.Path(data_dir) / "dataset_info.json"
    if not path.is_file():
        raise DataError(f"{data_dir} has no dataset_info.json: is it an output of make_tfrecords?")
    info = read_json(path, dict, AGAIN)
    if info.get("record_format") != RECORD_FORMAT:
        raise DataError(
            f"{data_dir} was written by an older make_tfrecords (record format "
            f"{info.get('record_format', 1)}, now {RECORD_FORMAT}): run it again with --overwrite"
        )
    rate, splits = info.get("sample_rate"), info.get("splits")
    if not (isinstance(rate, int) and rate > 0 and isinstance(splits, dict)) or not all(
        isinstance(s, dict) and isinstance(s.get("clips", 0), int) for s in splits.values()
    ):
        raise DamagedFileError(damaged(path, "sample_rate or splits malformed", AGAIN))
    return info


def shard_files(data_dir, split) -> list[str]:
    files = sorted(str(p) for p in pathlib.Path(data_dir).glob(f"{split}-*.tfrecord"))
    if not files:
        raise DataError(f"{data_dir} has no TFRecords of split {split!r} ({split}-*.tfrecord)")
    return files


def damaged_shards(files) -> list[str]:
    """The TFRecord files among `files` that cannot be read to their end (truncated or corrupt)."""
    damaged = []
    for path in files:
        try:
            for _ in tf.data.TFRecordDataset(path):
                pass
        except tf.errors.DataLossError:
            damaged.append(path)
    return damaged


@contextlib.contextmanager
def reading_shards(data_dir, split):
    """Turns a truncated or corrupt shard met while reading `split` into a DataError naming it, as
    it does a split that holds fewer batches than its dataset_info.json counts (a shard cut
    between two records reads as a shorter one)."""
    again = "write the records again (make_tfrecords --overwrite)"
    try:
        yield
    except tf.errors.DataLossError:
        damaged = damaged_shards(shard_files(data_dir, split))
        raise DataError(
            f"{', '.join(damaged) or f'a {split} shard of {data_dir}'} is truncated or corrupt: "
            f"{again}"
        ) from None
    except tf.errors.FailedPreconditionError as error:
        if "Input dataset was expected to contain" not in str(error):
            raise
        raise DataError(
            f"the {split} shards of {data_dir} hold fewer clips than its dataset_info.json counts "
            f"(a shard "
            f"was cut short or replaced): {again}"
        ) from None


def load_recordings(data_dir, split) -> Recordings:
    """Every recording of a split, whole (see `records.read_recordings`), for scoring."""
    with reading_shards(data_dir, split):
        recordings = read_recordings(shard_files(data_dir, split), len(read_labels(data_dir)))
    if not len(recordings):
        raise DataError(f"split {split!r} of {data_dir} has no clips")
    return recordings


def _balanced(examples, num_classes, seed):
    """Class-balanced sampling: a class is drawn uniformly, then one of its clips.

    Each class has its own filtered, repeated stream over `examples`; best with `cache=True`
    (the streams then read memory, not the shards, once per class).
    """
    streams = [
        examples.filter(lambda e, c=c: e["multi_hot"][c] > 0).repeat().shuffle(64, seed=seed)
        for c in range(num_classes)
    ]
    return tf.data.Dataset.sample_from_datasets(streams, seed=seed, stop_on_empty_dataset=False)


def read_examples(files, num_classes, options: DataOptions, training, repeat, clips=None):
    """Stage 1: shards → parsed clips; shuffled (or class-balanced) when training. With `clips`,
    every pass over the shards must hold that many (else a FailedPreconditionError, which
    `reading_shards` names), repeated or not."""
    seed = options.seed
    shards = tf.data.Dataset.from_tensor_slices(files)
    if training:
        shards = shards.shuffle(len(files), seed=seed)
    records = shards.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=seed is not None or not training,
    )
    examples = records.map(lambda r: parse(r, num_classes), num_parallel_calls=tf.data.AUTOTUNE)
    if clips:
        examples = examples.apply(tf.data.experimental.assert_cardinality(clips))
    if options.cache:
        examples = examples.cache()
    if training and options.balanced:
        return _balanced(examples, num_classes, seed)
    if training:
        examples = examples.shuffle(options.shuffle_buffer, seed=seed)
    return examples.repeat() if repeat else examples


def batch_examples(examples, batch_size, fixed_length, training):
    """Stage 3: batches (the last partial one dropped when training); whole clips are padded."""
    if fixed_length:
        return examples.batch(
            batch_size, drop_remainder=training, num_parallel_calls=tf.data.AUTOTUNE
        )
    return examples.padded_batch(batch_size, drop_remainder=training)


def load_dataset(
    data_dir,
    split,
    options: DataOptions | None = None,
    training=None,
    repeat=False,
    level_frame=LEVEL_FRAME,
    **overrides,
):
    """A `tf.data.Dataset` of (waveform (B, samples), multi_hot (B, K)) batches.

    Args:
        data_dir: output of make_tfrecords.
        split: 'train', 'val' or 'test'.
        options: a `DataOptions`; keyword `overrides` replace its fields
            (`load_dataset(d, "train", batch_size=16)`).
        training: shuffle, random crops, mixing and dropped last partial batch
            (default: split == 'train').
        repeat: repeat endlessly (balanced sampling always does).
        level_frame: samples of the frame whose RMS is a clip's level in level-matched mixing
            (None: the whole clip); training passes its model's `level_frame_samples`.
    """
    options = (options or DataOptions()).replace(**overrides)
    training = split == "train" if training is None else training
    if options.mix != "none" and not training:
        raise InputError("mixing is for training: pass training=True or mix='none'")
    labels = read_labels(data_dir)
    num_classes = len(labels)
    info = read_info(data_dir)
    files = shard_files(data_dir, split)
    clips = info["splits"].get(split, {}).get("clips")
    examples = read_examples(files, num_classes, options, training, repeat, clips)
    samples = (
        None if options.clip_seconds is None else round(options.clip_seconds * info["sample_rate"])
    )
    if samples is not None:
        examples = fix_lengths(examples, samples, training, options)
    dataset = mix_batches(
        batch_examples(examples, options.batch_size, samples is not None, training),
        options,
        level_frame,
    )
    if training and samples is not None and (options.empty_fraction or options.background_fraction):
        ambience = (
            Ambience(
                read_ambience(options.background_dir, info["sample_rate"], labels).values(),
                samples,
            )
            if options.background_dir
            else None
        )
        dataset = background_batches(dataset, options, level_frame, ambience)
    if clips and not (
        repeat or (training and options.balanced)
    ):  # a known length: Keras shows it, stops exactly
        count = clips // options.batch_size if training else -(-clips // options.batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return dataset.prefetch(tf.data.AUTOTUNE)


def score_split(predict, data_dir, split, windowing: Windowing, gain_db=0.0):
    """(y_true (N, K), scores (N, K)) of every recording of a split under `predict`.

    gain_db: every recording scaled by this gain first, clipped to [-1, 1] as a recorder would.
    """
    recordings = load_recordings(data_dir, split)
    waveforms = recordings.waveforms
    if gain_db:
        waveforms = [np.clip(w * 10 ** (gain_db / 20), -1.0, 1.0) for w in waveforms]
    return recordings.labels, score_recordings(predict, waveforms, windowing)
