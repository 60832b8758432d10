"""Exports a trained keras_rawaudio model to TFLite for Android and Raspberry Pi.

  python -m keras_rawaudio.export --model=RUN/best.keras --data_dir=DATA --output_dir=OUT \\
      --quantize=float32,float16,dynamic,int8,int8_pcm16

Writes OUT/model_<mode>.tflite, OUT/labels.txt and OUT/export_report.{json,md}. Every file
uses TFLite builtin ops only, has a fixed (1, window) input (the run's training window unless
--window_seconds says otherwise: float32 in [-1, 1], or for int8_pcm16 the int8 file's body
behind an int16 PCM input), a `serving_default` signature (`waveform` → `scores`)
and TFLite Model Metadata (name, description, version, the input as 16 kHz mono audio, the
labels packed in), so MediaPipe Tasks' AudioClassifier loads it as it is. Each file is checked
before it is kept: its metadata and signature must read back as written, and on silence, noise,
a sine and validation clips it must agree with the Keras model (float32 ≤ 1e-4, float16 ≤ 2e-2
max abs difference), and every mode must keep validation mAP within 0.01 of the Keras model's.
Validation mAP is scored the one way `keras_rawaudio.scoring` defines, for the Keras model and
every file alike. int8 is integer, each activation's range set to the central
99.99 % of its calibration values, or to their min/max after a Gabor front-end
(--calibration_percentile); with the Gabor front-end the front-end (level normalisation,
filters, power, log), the 2D stem and the attention heads stay float32, as
`keras_rawaudio.export.quantize` says why.
"""

from keras_rawaudio import cli
from keras_rawaudio.export.convert import MODES
from keras_rawaudio.export.exporter import export
from keras_rawaudio.export.report import report_markdown
from keras_rawaudio.scoring import COMBINE, DEFAULT_COMBINE


def define_flags():
    from absl import flags

    flags.DEFINE_string(
        "model", None, "A keras_rawaudio .keras model (e.g. RUN/best.keras).", required=True
    )
    flags.DEFINE_string(
        "data_dir",
        None,
        "Its TFRecord directory: train (calibration) and val (checks).",
        required=True,
    )
    flags.DEFINE_string(
        "output_dir", None, "Where the .tflite files and the report go.", required=True
    )
    flags.DEFINE_list("quantize", list(MODES), "Modes to export.")
    flags.DEFINE_float(
        "window_seconds",
        None,
        "Fixed input window of the exported files (default: the run's training window).",
        lower_bound=0.01,
    )
    flags.DEFINE_float(
        "hop_seconds",
        None,
        "Validation scoring: hop between windows (default: half a window).",
        lower_bound=0.001,
    )
    flags.DEFINE_enum(
        "combine",
        DEFAULT_COMBINE,
        COMBINE,
        "Validation scoring: how window scores combine per recording.",
    )
    flags.DEFINE_integer(
        "calibration_windows", 200, "Training windows that calibrate int8.", lower_bound=1
    )
    flags.DEFINE_float(
        "calibration_percentile",
        None,
        "int8 activation ranges cover this central "
        "percentage of the calibration values (100: min to max; default: 99.99 for a full-integer "
        "file, 100 after the Gabor front-end's float32 part).",
        lower_bound=50,
        upper_bound=100,
    )
    flags.DEFINE_integer("latency_runs", 50, "Timed invocations per latency figure.", lower_bound=1)
    flags.DEFINE_string(
        "name", None, "Model name in the files' metadata (default: the model's run directory name)."
    )
    flags.DEFINE_string("version", "1", "Model version in the files' metadata.")


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    report = export(
        FLAGS.model,
        FLAGS.data_dir,
        FLAGS.output_dir,
        FLAGS.quantize,
        FLAGS.window_seconds,
        FLAGS.calibration_windows,
        FLAGS.latency_runs,
        FLAGS.calibration_percentile,
        FLAGS.hop_seconds,
        FLAGS.combine,
        FLAGS.name,
        FLAGS.version,
    )
    print(report_markdown(report))
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
