"""TFRecords of the generated dataset (`keras_rawaudio.synthetic`): the data of the tests,
the bench scripts and the demo."""

import pathlib

from keras_rawaudio import layouts, synthetic
from keras_rawaudio.data.writer import WriteOptions, write_tfrecords


def write_records(root, clips=600, seconds=2.0, seed=0, record_seconds=10.0) -> pathlib.Path:
    """`write_dataset` under `root/audio`, then its TFRecords (records of at most
    `record_seconds`) under `root/records`, which it returns: the generated data of the tests
    and the bench scripts."""
    root = pathlib.Path(root)
    meta = synthetic.write_dataset(root / "audio", clips, seconds, seed)
    write_tfrecords(
        layouts.list_csv(root / "audio", meta),
        root / "records",
        WriteOptions(clip_seconds=record_seconds),
        workers=1,
    )
    return root / "records"
