import numpy as np
import tensorflow as tf

from keras_rawaudio.data.records import parse, read_recordings, serialize


def test_a_record_round_trips_every_field():
    audio = np.array([0, 1, -1, 32767, -32768], "<i2")
    record = serialize(audio.tobytes(), [0, 2], 4, "rec#1", "rec", 12.5, 160000, 16000)
    example = {k: v.numpy() for k, v in parse(tf.constant(record), 4).items()}
    np.testing.assert_array_equal(example["waveform"], audio / 32768.0)
    np.testing.assert_array_equal(example["multi_hot"], [1, 0, 1, 0])
    assert (example["clip_id"], example["recording_id"], example["start"]) == (
        b"rec#1",
        b"rec",
        160000,
    )
    assert (
        serialize(audio.tobytes(), [0, 2], 4, "rec#1", "rec", 12.5, 160000, 16000) == record
    )  # deterministic


def test_recordings_are_reassembled_from_windows_in_any_order(tmp_path):
    rng = np.random.default_rng(0)
    long = (rng.uniform(-0.5, 0.5, 25) * 32768).astype("<i2")
    short = (rng.uniform(-0.5, 0.5, 7) * 32768).astype("<i2")
    windows = [
        ("a#2", "a", 20, long[20:], [1]),
        ("b", "b", 0, short, [0]),
        ("a#0", "a", 0, long[:10], [1]),
        ("a#1", "a", 10, long[10:20], [0, 1]),
    ]
    path = tmp_path / "train-00000-of-00001.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for clip_id, recording, start, audio, labels in windows:
            writer.write(
                serialize(audio.tobytes(), labels, 2, clip_id, recording, 0.0, start, 16000)
            )
    recordings = read_recordings([str(path)], 2)
    assert recordings.ids == ["a", "b"] and len(recordings) == 2
    np.testing.assert_array_equal(recordings.waveforms[0], long / 32768.0)
    np.testing.assert_array_equal(recordings.waveforms[1], short / 32768.0)
    np.testing.assert_array_equal(
        recordings.labels, [[1, 1], [1, 0]]
    )  # the union over a recording's windows
