"""The sharded writer: resumable, byte-identical, and refusing to mix inputs."""

import pytest
import tensorflow as tf

from conftest import shard_bytes
from keras_rawaudio import layouts
from keras_rawaudio.data.writer import WriteError, WriteOptions, write_tfrecords
from keras_rawaudio.errors import RunError


def test_resume_after_a_lost_shard_gives_identical_records(class_folders, tmp_path):
    listing = layouts.list_folders(class_folders, val_fraction=0.0, test_fraction=0.0)
    options = WriteOptions(clip_seconds=1.0, files_per_shard=3)
    full = tmp_path / "full"
    write_tfrecords(listing, full, options, workers=1)
    expected = shard_bytes(full)
    assert len(expected) == 5  # 14 files, 3 per shard
    last = sorted(full.glob("train-*.tfrecord"))[-1]
    last.unlink()
    (full / f".tmp-{last.name}").write_bytes(b"half-written")
    info = write_tfrecords(listing, full, options, workers=1)
    assert shard_bytes(full) == expected
    assert info["splits"]["train"]["shards"] == 5


def test_other_inputs_need_overwrite(class_folders, tmp_path):
    listing = layouts.list_folders(class_folders)
    write_tfrecords(listing, tmp_path, WriteOptions(clip_seconds=1.0), workers=1)
    other = WriteOptions(clip_seconds=2.0)
    with pytest.raises(
        WriteError, match="holds records made from other files or flags; pass --overwrite"
    ):
        write_tfrecords(listing, tmp_path, other, workers=1)
    info = write_tfrecords(listing, tmp_path, other, workers=1, overwrite=True)
    assert info["clip_seconds"] == 2.0


def test_a_full_disk_is_one_error_and_keeps_the_finished_shards(
    class_folders, tmp_path, monkeypatch
):
    listing = layouts.list_folders(class_folders, val_fraction=0.0, test_fraction=0.0)
    options = WriteOptions(clip_seconds=1.0, files_per_shard=3)
    real_writer, opened = tf.io.TFRecordWriter, []

    class FullDiskAtTheThirdShard(real_writer):
        def __init__(self, path, *args):
            super().__init__(path, *args)
            opened.append(path)

        def write(self, record):
            if len(opened) == 3:
                raise tf.errors.ResourceExhaustedError(
                    None, None, f"{opened[-1]}; No space left on device"
                )
            super().write(record)

    monkeypatch.setattr(tf.io, "TFRecordWriter", FullDiskAtTheThirdShard)
    with pytest.raises(
        RunError,
        match=r"cannot write .*train-00002-of-00005.tfrecord: .*No space left on device; "
        "the finished shards are intact",
    ):
        write_tfrecords(listing, tmp_path, options, workers=1)
    assert sorted(p.name for p in tmp_path.glob("*.tfrecord*")) == [
        "train-00000-of-00005.tfrecord",
        "train-00001-of-00005.tfrecord",
    ]
    assert not list(tmp_path.glob(".tmp-*"))
    monkeypatch.setattr(
        tf.io, "TFRecordWriter", real_writer
    )  # room again: the same call finishes the job
    assert write_tfrecords(listing, tmp_path, options, workers=1)["splits"]["train"]["shards"] == 5
