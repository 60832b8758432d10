"""The data tier: TFRecords written from a `Listing` (`writer`, `beam_writer`), and read back as
tf.data batches (`reading`, `augmentation`, `mixing`) with `DataOptions` (`options`).

The names below load their module on first use, so that the writer's processes import only what
writing needs.
"""

import importlib

_LAZY = {
    "DataOptions": "options",
    "MIX_MODES": "options",
    "CROPS": "options",
    "DataError": "reading",
    "load_dataset": "reading",
    "load_recordings": "reading",
    "read_info": "reading",
    "read_labels": "reading",
    "reading_shards": "reading",
    "shard_files": "reading",
    "score_split": "reading",
    "mix_batch": "mixing",
    "fit_length": "augmentation",
    "Recordings": "records",
    "WriteOptions": "writer",
    "make_tfrecords": "writer",
    "write_tfrecords": "writer",
}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_rawaudio.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"keras_rawaudio.data.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
