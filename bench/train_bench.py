"""Training throughput of a preset, measured the way `keras_rawaudio.train` trains.

Prints, from one run: clips/s of `model.fit` (the default `compile()`: AdamW, binary
cross-entropy, the mAP/AUC/accuracy metrics) on cached, mix-training batches of generated
1 s clips, and that rate as a fraction of the CPU's fp32 peak, counting 3× the forward MACs
(forward, and two for the backward pass) × 2 FLOPs per example. The peak defaults to this
machine's: 2 cores × 2 AVX2 FMA units × 8 lanes × 2 FLOPs × 2.45 GHz = 157 GFLOP/s. The
steps are timed in `--repeats` windows of `--steps` each: the median window's rate is the
figure, the min and max show how much a shared machine moved it.

  python bench/train_bench.py [--preset=edge] [--batch_size=32] [--steps=40] [--repeats=5]
  [--jit_compile] [--backends=tensorflow,jax]

`--backends` measures each Keras backend in a process of its own (KERAS_BACKEND), one after
the other on the same data and batches: TensorFlow against JAX (the multi-process backend,
`train --distribute=multi_worker`). On JAX every step is compiled with XLA.

Threads and kernels are TensorFlow's environment variables (TF_NUM_INTRAOP_THREADS,
TF_ENABLE_ONEDNN_OPTS: on, the package's default, unless set to 0); the run prints both.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import flags

from keras_rawaudio import cli


def define_flags():
    flags.DEFINE_string("preset", "edge", "Preset of the raw-waveform model.")
    flags.DEFINE_integer("batch_size", 32, "Batch size.", lower_bound=2)
    flags.DEFINE_integer(
        "steps", 40, "Training steps per timed window (after 10 warm-up steps).", lower_bound=1
    )
    flags.DEFINE_integer(
        "repeats", 5, "Timed windows; the median window's rate is reported.", lower_bound=1
    )
    flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")
    flags.DEFINE_float("peak_gflops", 157.0, "The CPU's fp32 peak in GFLOP/s.", lower_bound=1)
    flags.DEFINE_list(
        "backends", [], "Keras backends to measure, each in its own process (default: this one)."
    )


def main(argv) -> int:
    FLAGS = flags.FLAGS
    if FLAGS.backends:
        for backend in FLAGS.backends:  # the same flags, one backend per process
            arguments = [a for a in sys.argv[1:] if not a.startswith("--backends")]
            subprocess.run(
                [sys.executable, __file__, *arguments],
                env={**os.environ, "KERAS_BACKEND": backend},
                check=True,
            )
        return 0
    return measure()


def measure() -> int:
    import keras

    from keras_rawaudio import RawWaveformClassifier, macs_per_second
    from keras_rawaudio.data import DataOptions, load_dataset
    from keras_rawaudio.data.synthetic_records import write_records
    from keras_rawaudio.synthetic import CLASSES

    FLAGS = flags.FLAGS
    with tempfile.TemporaryDirectory() as directory:
        records = write_records(directory, clips=400, seconds=1.0)
        options = DataOptions(FLAGS.batch_size, 1.0, mix="mix_training", cache=True, seed=0)
        dataset = load_dataset(records, "train", options, repeat=True)
        keras.utils.set_random_seed(0)
        model = RawWaveformClassifier.from_preset(FLAGS.preset, num_classes=len(CLASSES))
        model.compile(jit_compile=FLAGS.jit_compile)
        model.fit(dataset, steps_per_epoch=10, epochs=1, verbose=0)  # tracing, caching, warm-up
        rates = []
        for _ in range(FLAGS.repeats):
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=FLAGS.steps, epochs=1, verbose=0)
            rates.append(FLAGS.steps * FLAGS.batch_size / (time.perf_counter() - start))
    rate = statistics.median(rates)
    flops = 3 * 2 * macs_per_second(model)  # per 1 s training example
    settings = " ".join(
        f"{name}={os.environ.get(name, 'unset')}"
        for name in ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    )
    print(
        f"{FLAGS.preset} on {keras.backend.backend()}: {macs_per_second(model) / 1e6:.1f} MMAC "
        f"per 1 s clip; batch "
        f"{FLAGS.batch_size}; "
        + (
            "XLA (always on JAX)"
            if keras.backend.backend() == "jax"
            else f"jit_compile={FLAGS.jit_compile}"
        )
        + f"; {settings}"
    )
    print(
        f"training: {rate:.1f} clips/s (windows of {FLAGS.steps} steps: min {min(rates):.1f}, max "
        f"{max(rates):.1f}) "
        f"= {rate * flops / 1e9:.1f} GFLOP/s = "
        f"{100 * rate * flops / (FLAGS.peak_gflops * 1e9):.0f} % of "
        f"{FLAGS.peak_gflops:g} GFLOP/s"
    )
    return 0


if __name__ == "__main__":
    cli.run(main, define_flags)
