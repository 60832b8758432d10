"""Per-clip training augmentations in the graph: a random speed, a crop where the clip's energy
is, a random gain (stage 2 of `reading.load_dataset`)."""

import tensorflow as tf

from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.scoring import ENERGY_FRACTION


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
            offset = tf.cond(
                n > samples, lambda: energetic_offset(waveform, samples, seed), lambda: offset
            )
    crop_start = tf.where(n > samples, offset, 0)
    pad_start = tf.where(n < samples, offset, 0)
    cropped = waveform[crop_start : crop_start + samples]
    padded = tf.pad(cropped, [[pad_start, samples - tf.shape(cropped)[0] - pad_start]])
    return tf.ensure_shape(padded, [samples])


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
    """`waveform` at a speed drawn so that its pitch moves uniformly in ±semitones
    (`change_speed`)."""
    return change_speed(waveform, tf.random.stateless_uniform([], seed, -semitones, semitones))


def fix_lengths(examples, samples, training, options: DataOptions):
    """Stage 2: every waveform cropped/padded to `samples`; when training, each clip first at a
    random speed (`options.speed_semitones`), then a random crop, then a random gain."""
    if training:
        clip_seeds = tf.data.Dataset.random(seed=options.seed).batch(2)

        def cut(example, clip_seed):
            crop_seed, gain_seed, speed_seed = tf.unstack(
                tf.random.split(tf.cast(clip_seed, tf.int32), 3)
            )
            waveform = example["waveform"]
            if options.speed_semitones:
                waveform = random_speed(waveform, options.speed_semitones, speed_seed)
            waveform = fit_length(waveform, samples, crop_seed, options.crop)
            if options.gain_db:
                waveform = random_gain(waveform, options.gain_db, gain_seed)
            return {**example, "waveform": waveform}

        return tf.data.Dataset.zip(examples, clip_seeds).map(
            cut, num_parallel_calls=tf.data.AUTOTUNE
        )
    return examples.map(
        lambda e: {**e, "waveform": fit_length(e["waveform"], samples)},
        num_parallel_calls=tf.data.AUTOTUNE,
    )
