import numpy as np
import pytest
import tensorflow as tf

from keras_rawaudio.data.background import (
    EMPTY_DBFS,
    Ambience,
    add_background,
    backgrounds,
    quiet_stretches,
)
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.errors import ConfigError
from keras_rawaudio.soundscapes import peak_level

RATE = 16000


def db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.square(x), axis=-1)) + 1e-30)


def test_empty_windows_hold_background_alone_and_no_class():
    rng = np.random.default_rng(0)
    waveforms = tf.constant(np.clip(0.1 * rng.standard_normal((64, RATE)), -1, 1), tf.float32)
    labels = tf.one_hot(np.arange(64) % 4, 4)
    options = DataOptions(empty_fraction=0.5, background_fraction=0.0)
    x, y = (np.asarray(t) for t in add_background(waveforms, labels, [1, 2], options, 800))
    empty = y.sum(axis=1) == 0
    assert 16 < empty.sum() < 48
    assert np.array_equal(x[~empty], np.asarray(waveforms)[~empty])  # the others as they were
    levels = db(x[empty])
    heard = levels > -200  # digital silence is a background too
    assert heard.sum() < empty.sum() and np.all(
        (EMPTY_DBFS[0] - 0.1 <= levels[heard]) & (levels[heard] <= EMPTY_DBFS[1] + 0.1)
    )


def test_background_lies_under_a_sound_at_the_snr_drawn():
    tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)
    waveforms = tf.constant(np.tile(tone, (32, 1)), tf.float32)
    labels = tf.ones((32, 1))
    options = DataOptions(
        empty_fraction=0.0,
        background_fraction=1.0,
        background_snr_min_db=10.0,
        background_snr_max_db=10.0,
    )
    x, y = (np.asarray(t) for t in add_background(waveforms, labels, [3, 4], options, 800))
    assert np.all(y == 1)
    under = x - tone
    silent = db(under) < -100  # float32 round-off of the tone
    snr = 20 * np.log10(peak_level(tone, RATE)) - db(under[~silent])
    assert 0 < silent.sum() < 32 and snr == pytest.approx(np.full(len(snr), 10.0), abs=0.05)


def test_backgrounds_draw_every_kind_and_ambience_stretches():
    ambience = Ambience([np.arange(3 * RATE, dtype=np.float32) % 7, np.ones(100, np.float32)], RATE)
    drawn = np.asarray(backgrounds(400, RATE, tf.constant([5, 6]), ambience))
    levels = db(drawn)
    assert np.sum(levels < -200) > 40  # silence
    noise = drawn[levels > -200]
    assert np.allclose(db(noise), 0.0, atol=0.01)  # each kind at unit RMS
    constant = np.all(noise == noise[:, :1], axis=1)  # the short recording, looped and scaled
    assert constant.sum() > 10


def test_background_options_are_checked():
    with pytest.raises(ConfigError, match=r"empty_fraction must be in \[0, 1\], got 1.5"):
        DataOptions(empty_fraction=1.5)
    with pytest.raises(ConfigError, match=r"background_snr_min_db \(20\) is above"):
        DataOptions(background_snr_min_db=20, background_snr_max_db=10)


def test_room_tone_is_the_quiet_stretches_of_the_recording_itself():
    rng = np.random.default_rng(1)
    hiss = 0.001 * rng.standard_normal(RATE)
    hit = hiss.copy()
    hit[4000:4800] += 0.5 * np.sin(np.arange(800))  # a 50 ms hit 50 dB over the hiss
    steady = 0.2 * rng.standard_normal(RATE)  # a sound all through: no quiet stretch
    silent_tail = np.concatenate([0.5 * rng.standard_normal(RATE // 2), np.zeros(RATE // 2)])
    waveforms = tf.constant(np.stack([hit, steady, silent_tail]), tf.float32)
    tone, has_tone = (np.asarray(t) for t in quiet_stretches(waveforms, 800))
    assert has_tone.tolist() == [True, False, False]  # digital silence is not room tone
    assert np.allclose(db(tone[:1]), 0.0, atol=0.01) and np.all(tone[1:] == 0)
    quiet = np.concatenate(np.delete(hiss.reshape(20, 800), 5, axis=0))  # all but the hit's
    scale = tone[0, :15200] @ quiet / (quiet @ quiet)
    assert np.allclose(tone[0, :15200], scale * quiet, atol=1e-4)  # the hiss, in its order


def test_backgrounds_use_room_tone_where_a_recording_has_it():
    tone = np.ones((300, 100), np.float32)
    has_tone = np.arange(300) % 2 == 0
    drawn = np.asarray(backgrounds(300, 100, tf.constant([7, 8]), room_tone=(tone, has_tone)))
    ones = np.all(drawn == 1, axis=1)
    assert 15 < ones.sum() < 60 and np.all(has_tone[ones])
