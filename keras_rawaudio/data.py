"""tf.data input pipelines over the TFRecords of `make_tfrecords`.

`load_dataset(data_dir, split, options)` yields (waveform (batch, samples) float32 in [-1, 1],
multi_hot (batch, K)) batches ready for `model.fit`, in four stages, each its own function:
read (shards → parsed clips, shuffled or class-balanced) → fix length (random crop or pad) →
batch → mix. Mixing runs in the graph on each batch, pairing every clip with its neighbour
in the (shuffled) batch, or with a random clip of other classes (`mix_different_classes`):

  mix_training (arXiv 1911.09349): x = α·xᵢ + (1−α)·xⱼ,  y = max(yᵢ, yⱼ) = sign(yᵢ + yⱼ)
  mixup:                            x = α·xᵢ + (1−α)·xⱼ,  y = α·yᵢ + (1−α)·yⱼ

By default (`DataOptions.match_mix_levels`) xᵢ and xⱼ are first brought to one level, so that
α is the ratio of the two sounds' levels in the mix rather than of their recorded amplitudes.

Example:

    options = DataOptions(batch_size=32, clip_seconds=1.0, mix="mix_training", seed=0)
    train = load_dataset("data/esc50", "train", options)
"""

import contextlib
import dataclasses
import json
import pathlib

import tensorflow as tf

from keras_rawaudio.config import LEVEL_FRAME_MS, SAMPLE_RATE
from keras_rawaudio.errors import InputError
from keras_rawaudio.records import RECORD_FORMAT, Recordings, parse, read_recordings
from keras_rawaudio.scoring import ENERGY_FRACTION

MIX_MODES = ("none", "mix_training", "mixup")
CROPS = ("random", "energy")
AUTOTUNE = tf.data.AUTOTUNE
_EPSILON = 1e-3  # α is kept in [ε, 1 − ε] so that both clips are heard
LEVEL_FRAME = SAMPLE_RATE * LEVEL_FRAME_MS // 1000  # samples of the frame whose RMS is a sound's level
_LEVEL_FLOOR = 1e-4  # levels below -80 dBFS count as -80 dBFS: silence is not scaled up without bound


class DataError(InputError):
    """A data directory or split that cannot be read; the message names it."""


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """How training batches are drawn; `train` passes it through whole.

    Args:
        batch_size: clips per batch (training drops the last partial batch).
        clip_seconds: every clip cropped/padded to this length (a random window when
            training, the first window otherwise); None keeps whole clips, zero-padded to the
            longest of each batch.
        mix: 'none', 'mix_training' or 'mixup' (training only).
        mix_probability: fraction of the clips that are mixed.
        mix_concentration: α ~ Beta(a, a) with this a; None: α ~ Uniform(0, 1) for
            mix_training, Beta(0.2, 0.2) for mixup.
        mix_different_classes: pair each clip with a random clip of the batch that shares none
            of its classes (one of the same class where the batch has no other), as
            between-class learning does (Tokozume et al., 2018), rather than with its neighbour,
            which has the same class in one pair in seven on drums16k's class sizes: mixed
            with its own class, a sound's target stays its single label.
        match_mix_levels: mix the two sounds at the ratio α of their levels (each sound's
            level is its loudest 50 ms, `loudest_frame_rms`), as between-class learning does
            (Tokozume et al., 2018), rather than at the ratio α of their recorded amplitudes,
            where a sound recorded 25 dB quieter than its partner is inaudible in the mix yet
            labelled present (the default; False: the paper's plain amplitude mix).
        balanced: class-balanced sampling (training; the dataset is then endless).
        cache: keep decoded clips in memory after the first pass (small datasets).
        crop: how a training window is cut from a longer clip: 'energy' (the default: anywhere
            its energy is at least half the clip's loudest window's, so that a short event in a
            long clip is heard rather than the silence around it), or 'random' (anywhere).
        gain_db: training clips are scaled by a random gain, uniform in ±gain_db dB, so that
            the model learns that a recording's level is not its class (0: off).
        speed_semitones: each training clip is played at a random speed that moves its pitch
            uniformly in ±speed_semitones (and its duration by the inverse factor), as speed
            perturbation does in speech recognition and pitch shifting in environmental sound
            classification: a smaller drum, a larger engine, another bird of the species
            (0: off).
        shuffle_buffer: clips in the shuffle buffer.
        seed: makes shuffling, crops and mixing deterministic.
    """

    batch_size: int = 32
    clip_seconds: float | None = 1.0
    mix: str = "none"
    mix_probability: float = 1.0
    mix_concentration: float | None = None
    mix_different_classes: bool = False
    match_mix_levels: bool = True
    balanced: bool = False
    cache: bool = False
    crop: str = "energy"
    gain_db: float = 0.0
    speed_semitones: float = 0.0
    shuffle_buffer: int = 2048
    seed: int | None = None

    def __post_init__(self):
        if self.mix not in MIX_MODES:
            raise InputError(f"mix must be one of {', '.join(MIX_MODES)}, got {self.mix!r}")
        if not 0.0 <= self.mix_probability <= 1.0:
            raise InputError(f"mix_probability must be in [0, 1], got {self.mix_probability}")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.clip_seconds is not None and self.clip_seconds <= 0:
            raise InputError(f"clip_seconds must be positive, got {self.clip_seconds}")
        if self.crop not in CROPS:
            raise InputError(f"crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if self.gain_db < 0:
            raise InputError(f"gain_db must be >= 0, got {self.gain_db}")
        if not 0 <= self.speed_semitones <= 12:
            raise InputError(f"speed_semitones must be in [0, 12], got {self.speed_semitones}")
        if self.mix_concentration is not None and self.mix_concentration <= 0:
            raise InputError(f"mix_concentration must be positive, got {self.mix_concentration}")

    def replace(self, **changes) -> "DataOptions":
        return dataclasses.replace(self, **changes)

    @property
    def concentration(self) -> float | None:
        """Beta concentration of α: as given, else 0.2 for mixup and None (uniform) otherwise."""
        if self.mix_concentration is None and self.mix == "mixup":
            return 0.2
        return self.mix_concentration


def read_labels(data_dir) -> list[str]:
    """The class names of a TFRecord directory, in index order (its labels.txt)."""
    path = pathlib.Path(data_dir) / "labels.txt"
    if not path.is_file():
        raise DataError(f"{data_dir} has no labels.txt: is it an output of make_tfrecords?")
    labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    written = read_info(data_dir).get("num_classes") if (path.parent / "dataset_info.json").is_file() else None
    if written is not None and written != len(labels):
        raise DataError(f"{path} names {len(labels)} classes but the records of {data_dir} have {written} "
                        "(dataset_info.json): restore the labels.txt that make_tfrecords wrote, or run it again")
    return labels


def read_info(data_dir) -> dict:
    """The dataset_info.json written by make_tfrecords, checked to be of this record format."""
    path = pathlib.Path(data_dir) / "dataset_info.json"
    if not path.is_file():
        raise DataError(f"{data_dir} has no dataset_info.json: is it an output of make_tfrecords?")
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"{path} is not JSON: restore the file that make_tfrecords wrote, or run it again") from None
    if not isinstance(info, dict) or info.get("record_format") != RECORD_FORMAT:
        raise DataError(f"{data_dir} was written by an older make_tfrecords (record format "
                        f"{info.get('record_format', 1)}, now {RECORD_FORMAT}): run it again with --overwrite")
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
        raise DataError(f"{', '.join(damaged) or f'a {split} shard of {data_dir}'} is truncated or corrupt: {again}") from None
    except tf.errors.FailedPreconditionError as error:
        if "Input dataset was expected to contain" not in str(error):
            raise
        raise DataError(f"the {split} shards of {data_dir} hold fewer clips than its dataset_info.json counts (a shard "
                        f"was cut short or replaced): {again}") from None


def load_recordings(data_dir, split) -> Recordings:
    """Every recording of a split, whole (see `records.read_recordings`), for scoring."""
    with reading_shards(data_dir, split):
        recordings = read_recordings(shard_files(data_dir, split), len(read_labels(data_dir)))
    if not len(recordings):
        raise DataError(f"split {split!r} of {data_dir} has no clips")
    return recordings


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


def loudest_frame_rms(waveforms, frame=LEVEL_FRAME):
    """(B, samples) → (B,): the RMS of each waveform's loudest `frame` samples (frames every half
    frame): the level of the sound it holds, not diluted by the silence around a short one."""
    power = tf.nn.avg_pool1d(tf.square(waveforms)[:, :, None], frame, frame // 2, "SAME")
    return tf.sqrt(tf.reduce_max(power[:, :, 0], axis=1))


def partners(labels, seed, different_classes=False):
    """(B,) int32: the index of each clip's partner in its batch of `labels` (B, K): the previous
    clip, or with `different_classes` a random clip sharing none of its classes (the previous
    clip where the batch holds no such clip)."""
    batch = tf.shape(labels)[0]
    previous = tf.math.floormod(tf.range(batch) - 1, batch)
    if not different_classes:
        return previous
    allowed = tf.logical_and(tf.matmul(labels, labels, transpose_b=True) <= 0, ~tf.eye(batch, dtype=tf.bool))
    draw = tf.where(allowed, tf.random.stateless_uniform([batch, batch], seed), -1.0)
    return tf.where(tf.reduce_any(allowed, axis=1), tf.argmax(draw, axis=1, output_type=tf.int32), previous)


def mix_batch(waveforms, labels, seed, mode="mix_training", probability=1.0, concentration=None, match_levels=False,
              different_classes=False):
    """Mixes every clip of a batch with a partner (`partners`; in a shuffled batch, random pairs).

    waveforms (B, samples), labels (B, K), seed (2,) int. A fraction `probability` of the
    clips is mixed, the rest pass unchanged. With `match_levels` both clips are first brought
    to one level (`loudest_frame_rms`), so that α is the ratio of the sounds' levels in the mix,
    and the mix is then scaled to the α-weighted mean of their levels. With `different_classes`
    each clip's partner shares none of its classes where the batch allows. Returns (waveforms,
    labels, α (B,)); α is 1 for an unmixed clip.
    """
    if mode not in MIX_MODES:
        raise InputError(f"mix must be one of {', '.join(MIX_MODES)}, got {mode!r}")
    if mode == "none":
        return waveforms, labels, tf.ones(tf.shape(waveforms)[:1])
    batch = tf.shape(waveforms)[:1]
    alpha_seed, choice_seed = tf.unstack(tf.random.split(seed, 2))
    mixed = tf.random.stateless_uniform(batch, choice_seed) < probability
    alpha = tf.where(mixed, sample_alpha(batch, alpha_seed, concentration), 1.0)
    partner = partners(labels, tf.random.experimental.stateless_fold_in(seed, 1), different_classes)
    partner_x, partner_y = tf.gather(waveforms, partner), tf.gather(labels, partner)
    a = alpha[:, None]
    if match_levels:
        level = tf.maximum(loudest_frame_rms(waveforms), _LEVEL_FLOOR)[:, None]
        partner_level = tf.gather(level, partner)
        x = (a * level + (1.0 - a) * partner_level) * (a * waveforms / level + (1.0 - a) * partner_x / partner_level)
        x = tf.where(mixed[:, None], x, waveforms)
    else:
        x = a * waveforms + (1.0 - a) * partner_x
    if mode == "mix_training":
        y = tf.where(mixed[:, None], tf.maximum(labels, partner_y), labels)
    else:
        y = a * labels + (1.0 - a) * partner_y
    return x, y, alpha


def energetic_offset(waveform, samples, seed):
    """A random start of a `samples` window of a longer waveform among those whose energy is at
    least ENERGY_FRACTION of the loudest window's."""
    power = tf.cast(tf.square(waveform), tf.float64)
    cumulative = tf.concat([[0.0], tf.cumsum(power)], axis=0)
    energy = cumulative[samples:] - cumulative[:-samples]  # of the window starting at each offset
    logits = tf.where(energy >= ENERGY_FRACTION * tf.reduce_max(energy), 0.0, -1e9)
    return tf.cast(tf.random.stateless_categorical(logits[None], 1, seed)[0, 0], tf.int32)


def fit_length(waveform, samples, seed=None, crop="random"):
    """Crops or zero-pads a (n,) waveform to `samples`.

    With a seed (training): a window of a longer clip (anywhere, or with crop='energy' where
    it holds the clip's energy), a shorter clip at a random offset. Without: the first
    window, zero-padded at the end.
    """
    n = tf.shape(waveform)[0]
    if seed is None:
        offset = 0
    else:
        span = tf.abs(n - samples) + 1
        offset = tf.random.stateless_uniform([], seed, 0, span, dtype=tf.int32)
        if crop == "energy":
            offset = tf.cond(n > samples, lambda: energetic_offset(waveform, samples, seed), lambda: offset)
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
        num_parallel_calls=AUTOTUNE,
        deterministic=seed is not None or not training,
    )
    examples = records.map(lambda r: parse(r, num_classes), num_parallel_calls=AUTOTUNE)
    if clips:
        examples = examples.apply(tf.data.experimental.assert_cardinality(clips))
    if options.cache:
        examples = examples.cache()
    if training and options.balanced:
        return _balanced(examples, num_classes, seed)
    if training:
        examples = examples.shuffle(options.shuffle_buffer, seed=seed)
    return examples.repeat() if repeat else examples


def random_gain(waveform, gain_db, seed):
    """`waveform` scaled by a gain drawn uniformly in ±gain_db dB."""
    decibels = tf.random.stateless_uniform([], seed, -gain_db, gain_db)
    return waveform * tf.pow(10.0, decibels / 20.0)


def change_speed(waveform, semitones):
    """A (n,) waveform played 2^(semitones / 12) times as fast, as a tape or a resampler would:
    every frequency moves by `semitones` and the duration scales by the inverse. Linear
    interpolation between samples (no filter: it dulls the top octave a little, and speeding
    up folds what would rise above Nyquist back below it, the top 11 % of the band at 2
    semitones, where most sounds hold little energy); the output starts at the first sample
    and never reads past the last."""
    rate = tf.pow(2.0, tf.cast(semitones, tf.float32) / 12.0)
    last = tf.shape(waveform)[0] - 1
    position = tf.range(tf.floor(tf.cast(last, tf.float32) / rate) + 1.0) * rate
    left = tf.minimum(tf.cast(position, tf.int32), last)
    fraction = position - tf.cast(left, tf.float32)
    right = tf.minimum(left + 1, last)
    return (1.0 - fraction) * tf.gather(waveform, left) + fraction * tf.gather(waveform, right)


def random_speed(waveform, semitones, seed):
    """`waveform` at a speed drawn so that its pitch moves uniformly in ±semitones (`change_speed`)."""
    return change_speed(waveform, tf.random.stateless_uniform([], seed, -semitones, semitones))


def fix_lengths(examples, samples, training, options: DataOptions):
    """Stage 2: every waveform cropped/padded to `samples`; when training, each clip first at a
    random speed (`options.speed_semitones`), then a random crop, then a random gain."""
    if training:
        clip_seeds = tf.data.Dataset.random(seed=options.seed).batch(2)

        def cut(example, clip_seed):
            crop_seed, gain_seed, speed_seed = tf.unstack(tf.random.split(tf.cast(clip_seed, tf.int32), 3))
            waveform = example["waveform"]
            if options.speed_semitones:
                waveform = random_speed(waveform, options.speed_semitones, speed_seed)
            waveform = fit_length(waveform, samples, crop_seed, options.crop)
            if options.gain_db:
                waveform = random_gain(waveform, options.gain_db, gain_seed)
            return {**example, "waveform": waveform}

        return tf.data.Dataset.zip(examples, clip_seeds).map(cut, num_parallel_calls=AUTOTUNE)
    return examples.map(lambda e: {**e, "waveform": fit_length(e["waveform"], samples)}, num_parallel_calls=AUTOTUNE)


def batch_examples(examples, batch_size, fixed_length, training):
    """Stage 3: batches (the last partial one dropped when training); whole clips are padded."""
    if fixed_length:
        return examples.batch(batch_size, drop_remainder=training, num_parallel_calls=AUTOTUNE)
    return examples.padded_batch(batch_size, drop_remainder=training)


def mix_batches(batches, options: DataOptions):
    """Stage 4: (waveform, multi_hot) pairs, mixed per `options.mix` with a seeded α per batch."""
    mix_seeds = tf.data.Dataset.random(seed=None if options.seed is None else options.seed + 1).batch(2)

    def to_inputs(batch, mix_seed):
        x, y = batch["waveform"], batch["multi_hot"]
        if options.mix != "none":
            x, y, _ = mix_batch(x, y, tf.cast(mix_seed, tf.int32), options.mix, options.mix_probability,
                                options.concentration, options.match_mix_levels, options.mix_different_classes)
        return x, y

    return tf.data.Dataset.zip(batches, mix_seeds).map(to_inputs, num_parallel_calls=AUTOTUNE)


def load_dataset(data_dir, split, options: DataOptions | None = None, training=None, repeat=False, **overrides):
    """A `tf.data.Dataset` of (waveform (B, samples), multi_hot (B, K)) batches.

    Args:
        data_dir: output of make_tfrecords.
        split: 'train', 'val' or 'test'.
        options: a `DataOptions`; keyword `overrides` replace its fields
            (`load_dataset(d, "train", batch_size=16)`).
        training: shuffle, random crops, mixing and dropped last partial batch
            (default: split == 'train').
        repeat: repeat endlessly (balanced sampling always does).
    """
    options = (options or DataOptions()).replace(**overrides)
    training = split == "train" if training is None else training
    if options.mix != "none" and not training:
        raise InputError("mixing is for training: pass training=True or mix='none'")
    num_classes = len(read_labels(data_dir))
    info = read_info(data_dir)
    files = shard_files(data_dir, split)
    clips = info["splits"].get(split, {}).get("clips")
    examples = read_examples(files, num_classes, options, training, repeat, clips)
    samples = None if options.clip_seconds is None else round(options.clip_seconds * info["sample_rate"])
    if samples is not None:
        examples = fix_lengths(examples, samples, training, options)
    dataset = mix_batches(batch_examples(examples, options.batch_size, samples is not None, training), options)
    if clips and not (repeat or (training and options.balanced)):  # a known length: Keras shows it, stops exactly
        count = clips // options.batch_size if training else -(-clips // options.batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return dataset.prefetch(AUTOTUNE)
