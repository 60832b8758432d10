"""The TFRecord format of a clip, shared by the writer, `keras_rawaudio.data` and scoring.

Features: `audio` int16 PCM bytes (mono, little-endian); `labels` class indices; `multi_hot`
float (num_classes,); `clip_id` (unique per record); `recording_id`, the source recording
this window was cut from; `duration` seconds of that recording; `start` sample offset of this
window within it; `sample_rate`.
"""

import dataclasses

import numpy as np
import tensorflow as tf

RECORD_FORMAT = 2  # dataset_info.json "record_format"; 2 added recording_id and start in samples


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def serialize(
    audio: bytes, labels, num_classes, clip_id, recording_id, duration, start, sample_rate
) -> bytes:
    """One record. start: the window's first sample within its recording."""
    multi_hot = [0.0] * num_classes
    for index in labels:
        multi_hot[index] = 1.0
    features = {
        "audio": _bytes(audio),
        "labels": _ints(labels),
        "multi_hot": tf.train.Feature(float_list=tf.train.FloatList(value=multi_hot)),
        "clip_id": _bytes(clip_id.encode()),
        "recording_id": _bytes(recording_id.encode()),
        "duration": tf.train.Feature(float_list=tf.train.FloatList(value=[duration])),
        "start": _ints([start]),
        "sample_rate": _ints([sample_rate]),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString(
        deterministic=True
    )


def parse(serialized, num_classes: int):
    """Serialized example → {'waveform': float32 (samples,) in [-1, 1], 'multi_hot', 'clip_id',
    'recording_id', 'start'}."""
    spec = {
        "audio": tf.io.FixedLenFeature([], tf.string),
        "multi_hot": tf.io.FixedLenFeature([num_classes], tf.float32),
        "clip_id": tf.io.FixedLenFeature([], tf.string),
        "recording_id": tf.io.FixedLenFeature([], tf.string),
        "start": tf.io.FixedLenFeature([], tf.int64),
    }
    example = tf.io.parse_single_example(serialized, spec)
    waveform = tf.cast(tf.io.decode_raw(example["audio"], tf.int16, little_endian=True), tf.float32)
    return {**example, "waveform": waveform / 32768.0}


@dataclasses.dataclass
class Recordings:
    """The recordings of a split, rebuilt from their stored windows.

    ids: recording ids in first-seen order; waveforms: one float32 (samples,) array each;
    labels: (N, K) multi-hot, the union over the recording's windows.
    """

    ids: list
    waveforms: list
    labels: np.ndarray

    def __len__(self):
        return len(self.ids)


def read_recordings(files, num_classes: int) -> Recordings:
    """Reads TFRecord `files` and puts each recording's windows back at their `start`."""
    pieces = {}  # recording id → [(start, waveform, multi_hot), ...]
    records = tf.data.TFRecordDataset(files).map(lambda r: parse(r, num_classes))
    for example in records.as_numpy_iterator():
        pieces.setdefault(example["recording_id"].decode(), []).append(
            (int(example["start"]), example["waveform"], example["multi_hot"])
        )
    waveforms, labels = [], []
    for windows in pieces.values():
        waveform = np.zeros(max(start + len(w) for start, w, _ in windows), np.float32)
        for start, w, _ in windows:
            waveform[start : start + len(w)] = w
        waveforms.append(waveform)
        labels.append(np.max([y for _, _, y in windows], axis=0))
    return Recordings(
        list(pieces), waveforms, np.array(labels, np.float32).reshape(len(labels), num_classes)
    )
