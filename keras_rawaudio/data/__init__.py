"""The data tier: TFRecords written from a `Listing` (`writer`, `beam_writer`), and read back as
tf.data batches (`reading`, `augmentation`, `mixing`) with `DataOptions` (`options`).

The names below load their module on first use, so that the writer's processes import only what
writing needs.
"""

from keras_rawaudio.lazy import lazy_attributes

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

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
