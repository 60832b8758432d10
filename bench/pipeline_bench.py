"""Input-pipeline benchmark: is tf.data ever the bottleneck of training?

Prints, from one run: make_tfrecords throughput (seconds of audio per wall-clock second);
clips/s of `load_dataset` without and with mixing; clips/s of a training step of the `edge`
model on the same batches; and their ratio (goal: pipeline >= 20x training).

  python bench/pipeline_bench.py --data=../shared/data/drums16k
"""

import os
import pathlib
import tempfile
import time

from absl import flags

from keras_rawaudio import cli


def define_flags():
    flags.DEFINE_string(
        "data",
        "../shared/data/drums16k",
        "ESC-50-style folder (meta.csv with filename,label,fold).",
    )
    flags.DEFINE_float("clip_seconds", 1.0, "Training window length.", lower_bound=0.1)
    flags.DEFINE_integer("batch_size", 32, "Batch size.", lower_bound=2)
    flags.DEFINE_integer("train_steps", 10, "Timed training steps.", lower_bound=1)


def clips_per_second(dataset, batches=None):
    start, clips = time.perf_counter(), 0
    for x, _ in dataset.take(batches) if batches else dataset:
        clips += int(x.shape[0])
    return clips / (time.perf_counter() - start)


def main(argv) -> int:
    import keras

    from keras_rawaudio import RawWaveformClassifier, layouts
    from keras_rawaudio.data import DataOptions, load_dataset
    from keras_rawaudio.data.writer import WriteOptions, write_tfrecords

    FLAGS = flags.FLAGS
    data = pathlib.Path(FLAGS.data)
    with tempfile.TemporaryDirectory() as out:
        listing = layouts.list_esc50(data, data / "meta.csv", "4", "5")
        start = time.perf_counter()
        info = write_tfrecords(listing, out, WriteOptions(clip_seconds=10.0, files_per_shard=64))
        elapsed = time.perf_counter() - start
        print(
            f"make_tfrecords: {len(listing.items)} files, {info['total_seconds']:.0f} s of audio "
            f"in "
            f"{elapsed:.1f} s on {os.cpu_count()} cores = {info['total_seconds'] / elapsed:.0f} s "
            f"of audio per second"
        )

        def pipeline(mix):
            return load_dataset(
                out,
                "train",
                DataOptions(FLAGS.batch_size, FLAGS.clip_seconds, mix=mix, seed=0),
                repeat=True,
            )

        warm = 10
        rates = {}
        for mix in ("none", "mix_training", "mixup"):
            ds = pipeline(mix)
            clips_per_second(ds, warm)
            rates[mix] = clips_per_second(ds, 200)
            print(f"pipeline mix={mix:<13} {rates[mix]:8.0f} clips/s")

        model = RawWaveformClassifier.from_preset("edge", num_classes=len(listing.vocabulary))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        batches = list(pipeline("mix_training").take(FLAGS.train_steps + warm))
        for x, y in batches[:warm]:
            model.train_on_batch(x, y)
        start = time.perf_counter()
        for x, y in batches[warm:]:
            model.train_on_batch(x, y)
        train_rate = FLAGS.train_steps * FLAGS.batch_size / (time.perf_counter() - start)
        print(f"training step (edge, {FLAGS.clip_seconds:g} s clips)  {train_rate:8.1f} clips/s")
        print(
            f"ratio pipeline(mix_training) / training = {rates['mix_training'] / train_rate:.0f}x "
            f"(goal >= 20x)"
        )
    return 0


if __name__ == "__main__":
    cli.run(main, define_flags)
