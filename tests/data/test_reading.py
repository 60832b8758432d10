import numpy as np
import pytest
import tensorflow as tf

from conftest import write_tone
from keras_rawaudio import data, layouts
from keras_rawaudio.audio_io import load_audio, to_pcm16
from keras_rawaudio.data import augmentation, mixing, reading
from keras_rawaudio.data.mixing import LEVEL_FRAME
from keras_rawaudio.data.writer import WriteOptions, write_tfrecords
from keras_rawaudio.errors import InputError
from keras_rawaudio.models.layers.level import loudest_frame_power


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Imbalanced classes: 12 'a' clips (0.5-2 s), 4 'b', 2 'c'; train split only, plus val."""
    root = tmp_path_factory.mktemp("data")
    for name, count, frequency in (("a", 12, 300.0), ("b", 4, 900.0), ("c", 2, 2000.0)):
        for n in range(count):
            write_tone(
                root / "audio" / name / f"{n}.wav",
                frequency,
                0.5 + 0.125 * n,
                amplitude=0.1 + 0.05 * n,
            )
    listing = layouts.list_folders(root / "audio", val_fraction=0.0, test_fraction=0.0)
    write_tfrecords(
        listing, root / "train", WriteOptions(clip_seconds=10.0, files_per_shard=5), workers=1
    )
    return root


def pairs(seed=0):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(-1, 1, (8, 100)), tf.float32)
    y = tf.constant(rng.integers(0, 2, (8, 5)), tf.float32)
    return x, y


def test_mix_training_is_union_of_labels_and_convex_in_audio():
    x, y = pairs()
    mixed_x, mixed_y, alpha = mixing.mix_batch(x, y, tf.constant([1, 2]), "mix_training")
    alpha = alpha.numpy()
    assert np.all((alpha > 0) & (alpha < 1))
    partner_x, partner_y = np.roll(x, 1, axis=0), np.roll(y, 1, axis=0)
    np.testing.assert_allclose(
        mixed_x, alpha[:, None] * x + (1 - alpha[:, None]) * partner_x, atol=1e-6
    )
    np.testing.assert_array_equal(mixed_y, np.sign(y.numpy() + partner_y))


def test_mixup_labels_are_the_same_convex_combination():
    x, y = pairs(1)
    _, mixed_y, alpha = mixing.mix_batch(x, y, tf.constant([3, 4]), "mixup", concentration=0.4)
    a = alpha.numpy()[:, None]
    np.testing.assert_allclose(mixed_y, a * y + (1 - a) * np.roll(y, 1, axis=0), atol=1e-6)


def test_mixing_is_deterministic_under_a_seed_and_respects_probability():
    x, y = pairs(2)
    first = mixing.mix_batch(x, y, tf.constant([5, 6]), "mix_training", probability=0.5)
    second = mixing.mix_batch(x, y, tf.constant([5, 6]), "mix_training", probability=0.5)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    unmixed = first[2].numpy() == 1.0
    np.testing.assert_array_equal(first[0].numpy()[unmixed], x.numpy()[unmixed])
    _, _, none = mixing.mix_batch(x, y, tf.constant([5, 6]), "mix_training", probability=0.0)
    np.testing.assert_array_equal(none, 1.0)
    alphas = mixing.sample_alpha([20000], tf.constant([7, 8])).numpy()
    assert abs(alphas.mean() - 0.5) < 0.01 and alphas.min() > 0 and alphas.max() < 1


def test_mixing_with_different_classes_pairs_clips_that_share_no_class():
    x, y = pairs(4)
    labels = np.eye(5, dtype="float32")[
        [0, 0, 0, 1, 1, 2, 3, 3]
    ]  # three of class 0, two of 1 and of 3
    seed = tf.constant([9, 10])
    neighbour = mixing.mix_batch(x, labels, seed, "mix_training")
    mixed_x, mixed_y, alpha = mixing.mix_batch(
        x, labels, seed, "mix_training", different_classes=True
    )
    np.testing.assert_array_equal(alpha, neighbour[2])  # the same α: only the partners change
    partner = mixing.partners(
        tf.constant(labels), tf.constant([1, 2]), different_classes=True
    ).numpy()
    assert not np.any(labels[partner] * labels) and np.all(partner != np.arange(8))
    drawn = mixing.partners(
        tf.constant(labels), tf.random.experimental.stateless_fold_in(seed, 1), True
    ).numpy()
    a = alpha.numpy()[:, None]
    np.testing.assert_allclose(mixed_x, a * x + (1 - a) * x.numpy()[drawn], atol=1e-6)
    np.testing.assert_array_equal(mixed_y.numpy().sum(axis=1), 2.0)  # every target is two classes
    # A batch of one class has no other: each clip falls back to its neighbour.
    same = np.eye(5, dtype="float32")[[2] * 4]
    np.testing.assert_array_equal(
        mixing.partners(tf.constant(same), tf.constant([1, 2]), True), [3, 0, 1, 2]
    )
    assert (
        len(
            {
                tuple(mixing.partners(tf.constant(labels), tf.constant([s, 0]), True).numpy())
                for s in range(6)
            }
        )
        > 1
    )


def rms(x):
    """The level that mixing sets: the RMS of each waveform's loudest 50 ms."""
    return np.sqrt(loudest_frame_power(tf.constant(x), LEVEL_FRAME).numpy()[:, 0])


def test_loudest_frame_rms_is_the_level_of_the_loudest_50_ms():
    rng = np.random.default_rng(3)
    x = np.zeros((3, 16000), np.float32)
    x[0, 4000:5600] = 0.5  # a 100 ms burst: its level, however much silence surrounds it
    x[1] = 0.01 * rng.standard_normal(16000)
    # 800-sample frames every 400 samples, the first starting 200 samples before the clip ('same'
    # padding)
    power = np.lib.stride_tricks.sliding_window_view(np.pad(x[1] ** 2, 200), 800)[::400].sum(axis=1)
    samples = np.lib.stride_tricks.sliding_window_view(np.pad(np.ones(16000), 200), 800)[::400].sum(
        axis=1
    )
    levels = rms(x)
    np.testing.assert_allclose(levels[:2], [0.5, np.sqrt((power / samples).max())], rtol=1e-4)
    assert levels[2] == 0.0


def test_level_matched_mixing_mixes_the_sounds_at_the_ratio_alpha_of_their_levels():
    x = np.zeros((4, 16000), np.float32)
    for i, amplitude in enumerate([0.9, 0.02, 0.3, 0.001]):  # levels 59 dB apart
        x[i, 2000 * i : 2000 * i + 1600] = amplitude * np.sin(np.arange(1600) * (0.2 + 0.1 * i))
    y = tf.eye(4)
    mixed, labels, alpha = mixing.mix_batch(
        tf.constant(x), y, tf.constant([1, 2]), "mix_training", match_levels=True
    )
    mixed, a = mixed.numpy(), alpha.numpy()
    levels = rms(x)
    partner, partner_level = np.roll(x, 1, axis=0), np.roll(levels, 1)
    gain = a * levels + (1 - a) * partner_level
    np.testing.assert_allclose(
        mixed,
        gain[:, None]
        * (a[:, None] * x / levels[:, None] + (1 - a[:, None]) * partner / partner_level[:, None]),
        atol=1e-6,
    )
    for i in range(
        4
    ):  # the two sounds do not overlap in time: each one's level in the mix is measurable
        own = rms(mixed[i : i + 1, 2000 * i : 2000 * i + 1600])[0]
        other = (i - 1) % 4
        theirs = rms(mixed[i : i + 1, 2000 * other : 2000 * other + 1600])[0]
        np.testing.assert_allclose(
            own / theirs, a[i] / (1 - a[i]), rtol=1e-2
        )  # frames cut at other places
    np.testing.assert_array_equal(labels, np.sign(y.numpy() + np.roll(y.numpy(), 1, axis=0)))
    unmixed = mixing.mix_batch(
        tf.constant(x), y, tf.constant([1, 2]), "mix_training", probability=0.0, match_levels=True
    )[0]
    np.testing.assert_array_equal(unmixed, x)


def test_fit_length_crops_and_pads():
    waveform = tf.range(10, dtype=tf.float32) + 1
    np.testing.assert_array_equal(augmentation.fit_length(waveform, 4), [1, 2, 3, 4])
    np.testing.assert_array_equal(augmentation.fit_length(waveform, 12), [*range(1, 11), 0, 0])
    crop = augmentation.fit_length(waveform, 4, tf.constant([1, 1])).numpy()
    assert crop[0] in range(1, 8) and np.array_equal(crop, np.arange(crop[0], crop[0] + 4))
    padded = augmentation.fit_length(waveform, 15, tf.constant([2, 3])).numpy()
    assert padded.sum() == waveform.numpy().sum() and len(padded) == 15


def test_evaluation_batches_and_recordings_are_the_stored_audio(records):
    batches = list(
        reading.load_dataset(
            records / "train", "train", batch_size=6, clip_seconds=1.0, training=False
        )
    )
    assert [b[0].shape for b in batches] == [(6, 16000)] * 3
    recordings = reading.load_recordings(records / "train", "train")
    row = recordings.ids.index("b/3")
    expected = to_pcm16(load_audio(records / "audio" / "b" / "3.wav")[0]) / 32768.0  # 0.875 s
    np.testing.assert_array_equal(recordings.waveforms[row], expected)
    np.testing.assert_array_equal(recordings.labels[row], [0, 1, 0])
    first_windows = np.concatenate([b[0] for b in batches])  # each clip's first second, zero-padded
    expected_windows = [
        np.pad(w[:16000], (0, max(0, 16000 - len(w)))) for w in recordings.waveforms
    ]
    np.testing.assert_array_equal(
        np.sort(first_windows.sum(axis=1)), np.sort(np.sum(expected_windows, axis=1))
    )


def test_training_batches_are_shaped_mixed_and_seeded(records):
    def take(seed):
        ds = reading.load_dataset(
            records / "train",
            "train",
            batch_size=4,
            clip_seconds=0.5,
            mix="mix_training",
            seed=seed,
        )
        return [(x.numpy(), y.numpy()) for x, y in ds]

    first, again = take(1), take(1)
    assert len(first) == 4  # 18 clips, drop_remainder
    for (x, y), (x2, y2) in zip(first, again):
        assert x.shape == (4, 8000) and y.shape == (4, 3) and x.dtype == np.float32
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert max(y.sum(axis=1).max() for _, y in first) == 2  # unions of two classes occur
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, take(2)))


def test_balanced_sampling_equalises_class_frequencies(records):
    ds = reading.load_dataset(
        records / "train",
        "train",
        data.DataOptions(
            30, 0.5, balanced=True, cache=True, seed=0, empty_fraction=0, background_fraction=0
        ),
    )
    counts = sum(y.numpy().sum(axis=0) for _, y in ds.take(40))
    np.testing.assert_allclose(counts / counts.sum(), 1 / 3, atol=0.03)  # the data are 12:4:2


def test_unreadable_directories_raise_data_errors(records, tmp_path):
    with pytest.raises(data.DataError, match="no TFRecords of split 'test'"):
        reading.load_dataset(records / "train", "test")
    with pytest.raises(data.DataError, match="no labels.txt"):
        reading.load_dataset(tmp_path, "train")
    with pytest.raises(
        InputError, match="mix must be one of none, mix_training, mixup, got 'cutmix'"
    ):
        reading.load_dataset(records / "train", "train", mix="cutmix")
    with pytest.raises(InputError, match="mixing is for training"):
        reading.load_dataset(records / "train", "val", mix="mixup")
    with pytest.raises(InputError, match=r"speed_semitones must be in \[0, 12\], got -1"):
        reading.load_dataset(records / "train", "train", speed_semitones=-1)
    info = (records / "train" / "dataset_info.json").read_text()
    (tmp_path / "labels.txt").write_text("a\n")
    (tmp_path / "dataset_info.json").write_text(
        info.replace('"record_format": 2', '"record_format": 1')
    )
    with pytest.raises(
        data.DataError, match="older make_tfrecords .* run it again with --overwrite"
    ):
        reading.load_dataset(tmp_path, "train")


def test_random_gain_scales_each_clip_within_its_range(records):
    def batches(gain_db):
        options = data.DataOptions(
            batch_size=6,
            clip_seconds=0.5,
            gain_db=gain_db,
            seed=3,
            empty_fraction=0.0,
            background_fraction=0.0,
        )
        return np.concatenate(
            [x.numpy() for x, _ in reading.load_dataset(records / "train", "train", options)]
        )

    plain, louder = batches(0.0), batches(12.0)
    ratios = np.array(
        [np.abs(g).max() / np.abs(p).max() for g, p in zip(louder, plain) if np.abs(p).max() > 0]
    )
    np.testing.assert_allclose(
        louder, plain * ratios[:, None], rtol=1e-5
    )  # the same crops, one gain per clip
    assert ratios.min() >= 10 ** (-12 / 20) - 1e-6 and ratios.max() <= 10 ** (12 / 20) + 1e-6
    assert ratios.std() > 0.3  # gains differ between clips


def test_change_speed_moves_every_frequency_and_the_duration():
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype(np.float32)
    for semitones in (2.0, -2.0, 0.0):
        played = augmentation.change_speed(tf.constant(tone), semitones).numpy()
        rate = 2 ** (semitones / 12)
        assert abs(len(played) - 16000 / rate) <= 1
        spectrum = np.abs(np.fft.rfft(played * np.hanning(len(played)), 1 << 18))
        np.testing.assert_allclose(np.argmax(spectrum) * 16000 / (1 << 18), 1000 * rate, atol=0.5)
    np.testing.assert_allclose(
        augmentation.change_speed(tf.constant([1.0, 2, 3, 4]), 12), [1, 3]
    )  # every other sample
    np.testing.assert_allclose(
        augmentation.change_speed(tf.constant([1.0, 2, 3]), -12), [1, 1.5, 2, 2.5, 3]
    )  # halfway ones
    np.testing.assert_allclose(augmentation.change_speed(tf.constant([5.0]), 3), [5])


def test_random_speed_shifts_each_training_clip_within_its_range(records):
    options = data.DataOptions(
        batch_size=6,
        clip_seconds=0.5,
        speed_semitones=2.0,
        seed=1,
        empty_fraction=0.0,
        background_fraction=0.0,
    )
    shifts = []
    for x, y in reading.load_dataset(records / "train", "train", options):
        for waveform, label in zip(x.numpy(), y.numpy()):
            peak = np.argmax(np.abs(np.fft.rfft(waveform, 1 << 18))) * 16000 / (1 << 18)
            shifts.append(12 * np.log2(peak / (300.0, 900.0, 2000.0)[np.argmax(label)]))
    assert (
        len(shifts) == 18 and np.abs(shifts).max() <= 2.02
    )  # 2 semitones and the spectral peak's resolution
    assert np.std(shifts) > 0.5  # each clip its own speed


def test_energy_crops_hold_the_event():
    waveform = np.zeros(10000, np.float32)
    waveform[7000:7200] = 1.0  # a short event late in a long, silent clip
    for seed in range(20):
        crop = augmentation.fit_length(
            tf.constant(waveform), 1000, tf.constant([seed, 1]), crop="energy"
        ).numpy()
        assert crop.sum() >= 100  # at least half of the event's energy, wherever the window starts
    random_crops = [
        augmentation.fit_length(tf.constant(waveform), 1000, tf.constant([s, 1])).numpy().sum()
        for s in range(20)
    ]
    assert sum(c == 0 for c in random_crops) >= 10  # most random windows hear silence
    short = augmentation.fit_length(
        tf.constant(waveform[:500]), 1000, tf.constant([0, 1]), crop="energy"
    ).numpy()
    assert len(short) == 1000 and short.sum() == 0  # shorter clips are padded as before


def test_the_pipeline_cuts_the_crops_it_is_asked_for(records):
    def first_batch(crop):
        options = data.DataOptions(batch_size=18, clip_seconds=0.5, crop=crop, seed=0)
        return next(iter(reading.load_dataset(records / "train", "train", options)))[0].numpy()

    random_crops, energy_crops = first_batch("random"), first_batch("energy")
    longer = np.abs(random_crops - energy_crops).max(axis=1) > 0
    assert (
        6 <= longer.sum() < 18
    )  # clips longer than 0.5 s are cut elsewhere; shorter ones are padded alike
