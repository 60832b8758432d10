"""tf.data input pipelines over the TFRecords of `data_prep/make_tfrecords.py`.

`load_dataset` yields (waveform (batch, samples) float32 in [-1, 1], multi_hot (batch, K))
batches ready for `model.fit`. Mixing runs in the graph on each batch, pairing every clip
with its neighbour in the (shuffled) batch:

  mix_training (arXiv 1911.09349): x = α·xᵢ + (1−α)·xⱼ,  y = max(yᵢ, yⱼ) = sign(yᵢ + yⱼ)
  mixup:                            x = α·xᵢ + (1−α)·xⱼ,  y = α·yᵢ + (1−α)·yⱼ
"""

import json
import pathlib

import tensorflow as tf

from keras_rawaudio.records import parse

MIX_MODES = ("none", "mix_training", "mixup")
AUTOTUNE = tf.data.AUTOTUNE
_EPSILON = 1e-3  # α is kept in [ε, 1 − ε] so that both clips are heard


class DataError(ValueError):
    """A data directory or split that cannot be read; the message names it."""


def read_labels(data_dir) -> list[str]:
    """The class names of a TFRecord directory, in index order (its labels.txt)."""
    path = pathlib.Path(data_dir) / "labels.txt"
    if not path.is_file():
        raise DataError(f"{data_dir} has no labels.txt: is it an output of make_tfrecords.py?")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_info(data_dir) -> dict:
    """The dataset_info.json written by make_tfrecords.py."""
    path = pathlib.Path(data_dir) / "dataset_info.json"
    if not path.is_file():
        raise DataError(f"{data_dir} has no dataset_info.json: is it an output of make_tfrecords.py?")
    return json.loads(path.read_text())


def shard_files(data_dir, split) -> list[str]:
    files = sorted(str(p) for p in pathlib.Path(data_dir).glob(f"{split}-*.tfrecord"))
    if not files:
        raise DataError(f"{data_dir} has no TFRecords of split {split!r} ({split}-*.tfrecord)")
    return files


def sample_alpha(shape, seed, concentration=None):
    """α of each pair: Uniform(0, 1) if `concentration` is None, else Beta(a, a); in (0, 1)."""
    if concentration is None:
        alpha = tf.random.stateless_uniform(shape, seed)
    else:
        seeds = tf.random.split(seed, 2)
        a = tf.random.stateless_gamma(shape, seeds[0], alpha=concentration)
        b = tf.random.stateless_gamma(shape, seeds[1], alpha=concentration)
        alpha = a / (a + b)
    return tf.clip_by_value(alpha, _EPSILON, 1.0 - _EPSILON)


def mix_batch(waveforms, labels, seed, mode="mix_training", probability=1.0, concentration=None):
    """Mixes every clip of a batch with the next one (a shuffled batch gives random pairs).

    waveforms (B, samples), labels (B, K), seed (2,) int. A fraction `probability` of the
    clips is mixed, the rest pass unchanged. Returns (waveforms, labels, α (B,)); α is 1 for
    an unmixed clip.
    """
    if mode not in MIX_MODES:
        raise ValueError(f"mix must be one of {MIX_MODES}, got {mode!r}")
    if mode == "none":
        return waveforms, labels, tf.ones(tf.shape(waveforms)[:1])
    batch = tf.shape(waveforms)[:1]
    alpha_seed, choice_seed = tf.unstack(tf.random.split(seed, 2))
    mixed = tf.random.stateless_uniform(batch, choice_seed) < probability
    alpha = tf.where(mixed, sample_alpha(batch, alpha_seed, concentration), 1.0)
    partner_x, partner_y = tf.roll(waveforms, 1, axis=0), tf.roll(labels, 1, axis=0)
    a = alpha[:, None]
    x = a * waveforms + (1.0 - a) * partner_x
    if mode == "mix_training":
        y = tf.where(mixed[:, None], tf.maximum(labels, partner_y), labels)
    else:
        y = a * labels + (1.0 - a) * partner_y
    return x, y, alpha


def fit_length(waveform, samples, seed=None):
    """Crops or zero-pads a (n,) waveform to `samples`.

    With a seed (training): a random window of a longer clip, a shorter clip at a random
    offset. Without: the first window, zero-padded at the end.
    """
    n = tf.shape(waveform)[0]
    if seed is None:
        offset = 0
    else:
        span = tf.abs(n - samples) + 1
        offset = tf.random.stateless_uniform([], seed, 0, span, dtype=tf.int32)
    crop_start = tf.where(n > samples, offset, 0)
    pad_start = tf.where(n < samples, offset, 0)
    cropped = waveform[crop_start : crop_start + samples]
    padded = tf.pad(cropped, [[pad_start, samples - tf.shape(cropped)[0] - pad_start]])
    return tf.ensure_shape(padded, [samples])


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


def load_dataset(
    data_dir,
    split,
    batch_size,
    clip_seconds=None,
    mix="none",
    training=None,
    mix_probability=1.0,
    mix_concentration=None,
    balanced=False,
    cache=False,
    shuffle_buffer=2048,
    repeat=False,
    seed=None,
    with_ids=False,
):
    """A `tf.data.Dataset` of (waveform (B, samples), multi_hot (B, K)) batches.

    data_dir: output of make_tfrecords.py. split: 'train', 'val' or 'test'.
    clip_seconds: every clip cropped/padded to this length (random window when training, first
      window otherwise); None keeps whole clips, zero-padded to the longest of each batch.
    mix: 'none', 'mix_training' or 'mixup' (training only). mix_probability: fraction of clips
      mixed. mix_concentration: α ~ Beta(a, a) with this a; None: α ~ Uniform(0, 1) for
      mix_training, Beta(0.2, 0.2) for mixup.
    training: shuffle, random crops, mixing and dropped last partial batch (default: split == 'train').
    balanced: class-balanced sampling (training; the dataset is then endless).
    cache: keep decoded clips in memory after the first pass (small datasets).
    seed: makes shuffling, crops and mixing deterministic.
    with_ids: add the clip ids as a third element (evaluation).
    """
    if mix not in MIX_MODES:
        raise ValueError(f"mix must be one of {MIX_MODES}, got {mix!r}")
    if not 0.0 <= mix_probability <= 1.0:
        raise ValueError(f"mix_probability must be in [0, 1], got {mix_probability}")
    training = split == "train" if training is None else training
    if mix != "none" and not training:
        raise ValueError("mixing is for training: pass training=True or mix='none'")
    num_classes = len(read_labels(data_dir))
    info = read_info(data_dir)
    sample_rate = info["sample_rate"]
    files = shard_files(data_dir, split)
    if mix == "mixup" and mix_concentration is None:
        mix_concentration = 0.2

    shards = tf.data.Dataset.from_tensor_slices(files)
    if training:
        shards = shards.shuffle(len(files), seed=seed)
    records = shards.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=AUTOTUNE,
        deterministic=seed is not None or not training,
    )
    examples = records.map(lambda r: parse(r, num_classes), num_parallel_calls=AUTOTUNE)
    if cache:
        examples = examples.cache()
    if training:
        examples = _balanced(examples, num_classes, seed) if balanced else examples.shuffle(shuffle_buffer, seed=seed)
        if repeat and not balanced:
            examples = examples.repeat()
    elif repeat:
        examples = examples.repeat()

    samples = None if clip_seconds is None else round(clip_seconds * sample_rate)
    if samples is not None:
        crop_seeds = tf.data.Dataset.random(seed=seed).batch(2) if training else tf.data.Dataset.from_tensors(0).repeat()

        def fixed_length(example, crop_seed):
            seed_or_none = tf.cast(crop_seed, tf.int32) if training else None
            return {**example, "waveform": fit_length(example["waveform"], samples, seed_or_none)}

        examples = tf.data.Dataset.zip(examples, crop_seeds).map(fixed_length, num_parallel_calls=AUTOTUNE)
        batches = examples.batch(batch_size, drop_remainder=training, num_parallel_calls=AUTOTUNE)
    else:
        batches = examples.padded_batch(batch_size, drop_remainder=training)

    def to_inputs(batch, mix_seed):
        x, y = batch["waveform"], batch["multi_hot"]
        if mix != "none":
            x, y, _ = mix_batch(x, y, tf.cast(mix_seed, tf.int32), mix, mix_probability, mix_concentration)
        return (x, y, batch["clip_id"]) if with_ids else (x, y)

    mix_seeds = tf.data.Dataset.random(seed=None if seed is None else seed + 1).batch(2)
    dataset = tf.data.Dataset.zip(batches, mix_seeds).map(to_inputs, num_parallel_calls=AUTOTUNE)
    clips = info.get("splits", {}).get(split, {}).get("clips")
    if clips and not (repeat or (training and balanced)):  # a known length: Keras shows it, stops exactly
        count = clips // batch_size if training else -(-clips // batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return dataset.prefetch(AUTOTUNE)
