"""Stage 5 of the training pipeline: what a stream holds between and under its events.

In each training batch a fraction `DataOptions.empty_fraction` of the windows is replaced by
background alone, with an all-zero target, so that the model learns "nothing here"; a fraction
`background_fraction` of the others gets background added at a signal-to-noise ratio uniform in
[`background_snr_min_db`, `background_snr_max_db`], a sound's level measured as level-matched
mixing measures it (its loudest frame, `models.layers.level`). A background is digital silence,
white, pink or brown noise, the quiet stretches of the window's own recording (its room tone:
`quiet_stretches`), or a stretch of real ambience (`background_dir`), each kind equally likely;
alone, it lies at a level uniform in EMPTY_DBFS (RMS, dB re full scale).
"""

import numpy as np
import tensorflow as tf

from keras_rawaudio.data.mixing import LEVEL_FRAME, TF_OPS
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.models.layers.level import loudest_frame_power

EMPTY_DBFS = (-70.0, -20.0)
NOISE_EXPONENTS = (0.0, 0.5, 1.0)  # amplitude ∝ f^-e: white, pink, brown
SILENT_LEVEL = 1e-5  # −100 dBFS: a silent window gets no background under it
QUIET_BELOW_DB = 30.0  # a frame this far under its recording's loudest lies between its sounds
MIN_QUIET_FRAMES = 4  # fewer quiet frames than this: no room tone (brown noise instead)


def coloured_noise(batch, samples, seed, exponents):
    """(batch, samples) noise of unit RMS, each row's amplitude spectrum ∝ f^-exponent."""
    white = tf.random.stateless_normal([batch, samples], seed)
    spectrum = tf.signal.rfft(white)
    frequency = tf.maximum(tf.range(tf.shape(spectrum)[1], dtype=tf.float32), 1.0)
    gain = tf.pow(frequency[None], -exponents[:, None])
    gain = tf.concat([tf.zeros_like(gain[:, :1]), gain[:, 1:]], axis=1)  # no DC
    noise = tf.signal.irfft(spectrum * tf.cast(gain, tf.complex64), [samples])
    return noise * tf.math.rsqrt(tf.reduce_mean(tf.square(noise), axis=1, keepdims=True) + 1e-12)


class Ambience:
    """Real ambience recordings in the graph: one flat tensor of the recordings, each scaled to
    unit RMS and at least a window long (looped), and random stretches of them."""

    def __init__(self, waveforms, samples):
        pieces = []
        for waveform in waveforms:
            waveform = np.resize(np.asarray(waveform, np.float32), max(len(waveform), samples))
            pieces.append(waveform / max(float(np.sqrt(np.mean(waveform**2))), 1e-6))
        self.flat = tf.constant(np.concatenate(pieces))
        self.starts = tf.constant(np.cumsum([0] + [len(p) for p in pieces[:-1]]), tf.float32)
        self.spans = tf.constant([len(p) - samples + 1 for p in pieces], tf.float32)

    def stretches(self, batch, samples, seed):
        """(batch, samples): a stretch of a random recording, from a random point."""
        pick, where = tf.unstack(tf.random.split(seed, 2))
        index = tf.random.stateless_uniform([batch], pick, 0, len(self.spans), tf.int32)
        offset = tf.random.stateless_uniform([batch], where) * tf.gather(self.spans, index)
        start = tf.cast(tf.gather(self.starts, index) + tf.floor(offset), tf.int32)
        return tf.gather(self.flat, start[:, None] + tf.range(samples)[None])


def quiet_stretches(waveforms, frame_samples):
    """(batch, samples) unit-RMS room tone of each recording, and (batch,) whether it has one.

    The frames (of `frame_samples`, one after another) at least QUIET_BELOW_DB under the
    recording's loudest and not digitally silent, in their order, repeated to the window's length;
    a recording with fewer than MIN_QUIET_FRAMES of them has none (zeros).
    """
    batch, samples = tf.shape(waveforms)[0], tf.shape(waveforms)[1]
    count = samples // frame_samples
    frames = tf.reshape(waveforms[:, : count * frame_samples], [batch, count, frame_samples])
    power = tf.reduce_mean(tf.square(frames), axis=2)
    loudest = tf.reduce_max(power, axis=1, keepdims=True)
    quiet = (power < loudest * 10 ** (-QUIET_BELOW_DB / 10)) & (power > SILENT_LEVEL**2)
    found = tf.reduce_sum(tf.cast(quiet, tf.int32), axis=1)
    order = tf.argsort(tf.cast(~quiet, tf.int32), axis=1, stable=True)  # quiet frames first
    repeat = tf.range(count)[None] % tf.maximum(found, 1)[:, None]
    tone = tf.reshape(
        tf.gather(frames, tf.gather(order, repeat, batch_dims=1), batch_dims=1),
        [batch, count * frame_samples],
    )
    tone = tf.concat([tone, tone[:, : samples - count * frame_samples]], axis=1)
    has_tone = found >= MIN_QUIET_FRAMES
    scale = tf.math.rsqrt(tf.reduce_mean(tf.square(tone), axis=1, keepdims=True) + 1e-20)
    return tf.where(has_tone[:, None], tone * scale, 0.0), has_tone


def backgrounds(batch, samples, seed, ambience: Ambience | None = None, room_tone=None):
    """(batch, samples) unit-RMS backgrounds of random kinds (silence: zeros); `room_tone`, the
    pair from `quiet_stretches`, adds the recordings' own quiet stretches as a kind."""
    kinds = 1 + len(NOISE_EXPONENTS) + (room_tone is not None) + (ambience is not None)
    kind_seed, noise_seed, ambience_seed = tf.unstack(tf.random.split(seed, 3))
    kind = tf.random.stateless_uniform([batch], kind_seed, 0, kinds, tf.int32)
    exponents = tf.gather(NOISE_EXPONENTS, tf.clip_by_value(kind - 1, 0, 2))
    noise = coloured_noise(batch, samples, noise_seed, exponents)
    if room_tone is not None:
        tone, has_tone = room_tone
        noise = tf.where(((kind == len(NOISE_EXPONENTS) + 1) & has_tone)[:, None], tone, noise)
    if ambience is not None:
        stretches = ambience.stretches(batch, samples, ambience_seed)
        noise = tf.where((kind == kinds - 1)[:, None], stretches, noise)
    return tf.where((kind == 0)[:, None], 0.0, noise)


def add_background(waveforms, labels, seed, options: DataOptions, level_frame, ambience=None):
    """One batch (waveforms (B, samples), labels (B, K)) with stage 5 applied (module
    docstring)."""
    batch, samples = tf.shape(waveforms)[0], tf.shape(waveforms)[1]
    seeds = tf.unstack(tf.random.split(seed, 5))
    background = backgrounds(
        batch, samples, seeds[0], ambience, quiet_stretches(waveforms, level_frame or LEVEL_FRAME)
    )
    empty = tf.random.stateless_uniform([batch], seeds[1]) < options.empty_fraction
    noisy = tf.random.stateless_uniform([batch], seeds[2]) < options.background_fraction
    empty_level = 10 ** (tf.random.stateless_uniform([batch], seeds[3], *EMPTY_DBFS) / 20)
    snr = tf.random.stateless_uniform(
        [batch], seeds[4], options.background_snr_min_db, options.background_snr_max_db
    )
    sound_level = tf.sqrt(loudest_frame_power(waveforms, level_frame, TF_OPS))[:, 0]
    under_level = tf.where(
        noisy & (sound_level > SILENT_LEVEL), sound_level * 10 ** (-snr / 20), 0.0
    )
    with_background = tf.clip_by_value(waveforms + under_level[:, None] * background, -1.0, 1.0)
    x = tf.where(empty[:, None], empty_level[:, None] * background, with_background)
    y = tf.where(empty[:, None], tf.zeros_like(labels), labels)
    return x, y


def background_batches(batches, options: DataOptions, level_frame, ambience=None):
    """Stage 5 on (waveform, multi_hot) batches, with a seeded draw per batch."""
    seeds = tf.data.Dataset.random(seed=None if options.seed is None else options.seed + 2).batch(2)

    def apply(batch, seed):
        return add_background(*batch, tf.cast(seed, tf.int32), options, level_frame, ambience)

    return tf.data.Dataset.zip(batches, seeds).map(apply, num_parallel_calls=tf.data.AUTOTUNE)
