"""The TFRecord format of a clip, shared by the writer and `keras_rawaudio.data`.

Features: `audio` int16 PCM bytes (mono, little-endian); `labels` class indices; `multi_hot`
float (num_classes,); `clip_id`; `duration` seconds of the source recording; `start` seconds
of this window within it; `sample_rate`.
"""

import tensorflow as tf


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def serialize(audio: bytes, labels, num_classes, clip_id, duration, start, sample_rate) -> bytes:
    multi_hot = [0.0] * num_classes
    for index in labels:
        multi_hot[index] = 1.0
    features = {
        "audio": _bytes(audio),
        "labels": tf.train.Feature(int64_list=tf.train.Int64List(value=list(labels))),
        "multi_hot": tf.train.Feature(float_list=tf.train.FloatList(value=multi_hot)),
        "clip_id": _bytes(clip_id.encode()),
        "duration": tf.train.Feature(float_list=tf.train.FloatList(value=[duration])),
        "start": tf.train.Feature(float_list=tf.train.FloatList(value=[start])),
        "sample_rate": tf.train.Feature(int64_list=tf.train.Int64List(value=[sample_rate])),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString(deterministic=True)


def parse(serialized, num_classes: int):
    """Serialized example → {'waveform': float32 (samples,) in [-1, 1], 'multi_hot', 'clip_id'}."""
    spec = {
        "audio": tf.io.FixedLenFeature([], tf.string),
        "multi_hot": tf.io.FixedLenFeature([num_classes], tf.float32),
        "clip_id": tf.io.FixedLenFeature([], tf.string),
    }
    example = tf.io.parse_single_example(serialized, spec)
    waveform = tf.cast(tf.io.decode_raw(example["audio"], tf.int16, little_endian=True), tf.float32)
    return {
        "waveform": waveform / 32768.0,
        "multi_hot": example["multi_hot"],
        "clip_id": example["clip_id"],
    }
