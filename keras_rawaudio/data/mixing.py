"""Mixing in the graph, on each batch: every clip with its neighbour in the (shuffled) batch, or
with a random clip of other classes (`mix_different_classes`):

  mix_training (arXiv 1911.09349): x = α·xᵢ + (1−α)·xⱼ,  y = max(yᵢ, yⱼ) = sign(yᵢ + yⱼ)
  mixup:                            x = α·xᵢ + (1−α)·xⱼ,  y = α·yᵢ + (1−α)·yⱼ

By default (`DataOptions.match_mix_levels`) xᵢ and xⱼ are first brought to one level, measured
as the model's level normalisation measures it (`models.layers.level`), so that α is the ratio
of the two sounds' levels in the mix rather than of their recorded amplitudes.
"""

import types

import tensorflow as tf

from keras_rawaudio.config import LEVEL_FRAME_MS, SAMPLE_RATE
from keras_rawaudio.data.options import MIX_MODES, DataOptions
from keras_rawaudio.errors import InputError
from keras_rawaudio.models.layers.level import loudest_frame_power

_EPSILON = 1e-3  # α is kept in [ε, 1 − ε] so that both clips are heard
# The ops of `loudest_frame_power` in TensorFlow: tf.data runs TensorFlow whatever Keras' backend.
TF_OPS = types.SimpleNamespace(
    mean=tf.reduce_mean,
    max=tf.reduce_max,
    expand_dims=tf.expand_dims,
    average_pool=lambda x, size, strides, padding: tf.nn.avg_pool1d(
        x, size, strides, padding.upper()
    ),
)
LEVEL_FRAME = SAMPLE_RATE * LEVEL_FRAME_MS // 1000  # samples of the default level frame
MIX_LEVEL_FLOOR = 1e-4  # levels below -80 dBFS count as -80 dBFS: no division by a silent clip's 0


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


def partners(labels, seed, different_classes=False):
    """(B,) int32: the index of each clip's partner in its batch of `labels` (B, K): the previous
    clip, or with `different_classes` a random clip sharing none of its classes (the previous
    clip where the batch holds no such clip)."""
    batch = tf.shape(labels)[0]
    previous = tf.math.floormod(tf.range(batch) - 1, batch)
    if not different_classes:
        return previous
    allowed = tf.logical_and(
        tf.matmul(labels, labels, transpose_b=True) <= 0, ~tf.eye(batch, dtype=tf.bool)
    )
    draw = tf.where(allowed, tf.random.stateless_uniform([batch, batch], seed), -1.0)
    return tf.where(
        tf.reduce_any(allowed, axis=1), tf.argmax(draw, axis=1, output_type=tf.int32), previous
    )


def mix_batch(
    waveforms,
    labels,
    seed,
    mode="mix_training",
    probability=1.0,
    concentration=None,
    match_levels=False,
    different_classes=False,
    level_frame=LEVEL_FRAME,
):
    """Mixes every clip of a batch with a partner (`partners`; in a shuffled batch, random pairs).

    waveforms (B, samples), labels (B, K), seed (2,) int. A fraction `probability` of the
    clips is mixed, the rest pass unchanged. With `match_levels` both clips are first brought
    to one level (the RMS of each clip's loudest `level_frame` samples, `loudest_frame_power`, or of
    the whole clip with None: the model's `level_frame_samples`), so that α is the ratio of the
    sounds' levels in the mix,
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
        level = tf.maximum(
            tf.sqrt(loudest_frame_power(waveforms, level_frame, TF_OPS)), MIX_LEVEL_FLOOR
        )
        partner_level = tf.gather(level, partner)
        x = (a * level + (1.0 - a) * partner_level) * (
            a * waveforms / level + (1.0 - a) * partner_x / partner_level
        )
        x = tf.where(mixed[:, None], x, waveforms)
    else:
        x = a * waveforms + (1.0 - a) * partner_x
    if mode == "mix_training":
        y = tf.where(mixed[:, None], tf.maximum(labels, partner_y), labels)
    else:
        y = a * labels + (1.0 - a) * partner_y
    return x, y, alpha


def mix_batches(batches, options: DataOptions, level_frame=LEVEL_FRAME):
    """Stage 4: (waveform, multi_hot) pairs, mixed per `options.mix` with a seeded α per batch,
    levels measured over `level_frame` samples (see `mix_batch`)."""
    mix_seeds = tf.data.Dataset.random(
        seed=None if options.seed is None else options.seed + 1
    ).batch(2)

    def to_inputs(batch, mix_seed):
        x, y = batch["waveform"], batch["multi_hot"]
        if options.mix != "none":
            x, y, _ = mix_batch(
                x,
                y,
                tf.cast(mix_seed, tf.int32),
                options.mix,
                options.mix_probability,
                options.concentration,
                options.match_mix_levels,
                options.mix_different_classes,
                level_frame,
            )
        return x, y

    return tf.data.Dataset.zip(batches, mix_seeds).map(
        to_inputs, num_parallel_calls=tf.data.AUTOTUNE
    )
