"""What every exported file is checked against before it is kept: the Keras model's scores on
silence, noise, a sine and validation windows, and its validation mAP."""

import dataclasses
import pathlib

import numpy as np

from keras_rawaudio import __version__
from keras_rawaudio.clip_metrics import clip_metrics, per_class_average_precision
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.data.reading import load_dataset, score_split, shard_files
from keras_rawaudio.edge import EdgeClassifier
from keras_rawaudio.edge.metadata import ModelDescription
from keras_rawaudio.events import EventRule, read_rule
from keras_rawaudio.export.convert import INTEGER_MODES, fixed_window_model
from keras_rawaudio.export.quantize import float_layers
from keras_rawaudio.models import keras_predict, load_classifier
from keras_rawaudio.scoring import DEFAULT_COMBINE, Windowing
from keras_rawaudio.train.run_directory import check_labels, model_windowing

MAX_DIFFERENCE = {"float32": 1e-4, "float16": 2e-2}  # parity with Keras, max abs
MAX_MAP_DROP = 0.01


@dataclasses.dataclass
class Reference:
    """What every exported file is checked against: the Keras model on the same inputs."""

    model: object  # the Keras model with a fixed (batch, window) input
    data_dir: str
    windowing: Windowing
    probes: np.ndarray  # (n, window): silence, noise, a sine, validation windows
    probe_scores: np.ndarray  # Keras scores of the probes
    val_labels: np.ndarray  # (recordings, K)
    val_scores: np.ndarray  # (recordings, K) Keras scores
    class_names: list
    val_metrics: dict  # Keras clip metrics on the validation split
    name: str = "keras_rawaudio"  # the exported files' model name
    version: str = "1"
    event_rule: EventRule | None = None  # the run's (event_rule.json), packed into every file

    def description(self, mode) -> ModelDescription:
        """The metadata of the file of `mode`."""
        sample_rate = self.model.config.sample_rate
        samples = "int16 PCM samples" if mode == "int8_pcm16" else "mono audio in [-1, 1]"
        return ModelDescription(
            name=self.name,
            version=self.version,
            sample_rate=sample_rate,
            labels=tuple(self.class_names),
            description=f"Sound-event classifier ({type(self.model).__name__}, keras_rawaudio "
            f"{__version__}, {mode}): {self.windowing.window / sample_rate:g} s of "
            f"{sample_rate} Hz {samples} → "
            f"{len(self.class_names)} independent per-class probabilities (sigmoid).",
            event_rule=self.event_rule,
        )


def probe_signals(window, sample_rate, rng):
    """Silence, white noise and a 1 kHz sine, as YAMNet's export checks: (3, window)."""
    t = np.arange(window) / sample_rate
    return np.stack(
        [np.zeros(window), rng.uniform(-0.5, 0.5, window), 0.5 * np.sin(2 * np.pi * 1000 * t)]
    ).astype(np.float32)


def build_reference(
    model_path,
    data_dir,
    window_seconds=None,
    hop_seconds=None,
    combine=DEFAULT_COMBINE,
    name=None,
    version="1",
) -> Reference:
    """Loads the model, fixes its input to the scoring window and scores the validation split.

    The window is the run's training window unless `window_seconds` is given; `name` (default:
    the name of the model's run directory) and `version` go into the files' metadata.
    """
    model = load_classifier(model_path)
    labels = check_labels(model, model_path, data_dir)
    shard_files(data_dir, "train")  # calibration and checks need both splits
    windowing = model_windowing(model, model_path, data_dir, window_seconds, hop_seconds, combine)
    fixed = fixed_window_model(model, windowing.window)
    val_labels, val_scores = score_split(keras_predict(fixed), data_dir, "val", windowing)
    probes = probe_signals(windowing.window, model.config.sample_rate, np.random.default_rng(0))
    val_windows = next(
        iter(
            load_dataset(
                data_dir,
                "val",
                DataOptions(
                    batch_size=16, clip_seconds=windowing.window / model.config.sample_rate
                ),
            )
        )
    )[0].numpy()
    probes = np.concatenate([probes, val_windows])
    return Reference(
        fixed,
        str(data_dir),
        windowing,
        probes,
        keras_predict(fixed)(probes),
        val_labels,
        val_scores,
        labels,
        clip_metrics(val_labels, val_scores),
        name or pathlib.Path(model_path).resolve().parent.name,
        version,
        read_rule(pathlib.Path(model_path).parent, len(labels)),
    )


def calibration_windows(data_dir, window_seconds, count) -> np.ndarray:
    """(count, window) random training windows (seed 0) that calibrate int8: the recordings as
    they are, without the training's backgrounds."""
    train = load_dataset(
        data_dir,
        "train",
        DataOptions(
            batch_size=1,
            clip_seconds=window_seconds,
            seed=0,
            empty_fraction=0.0,
            background_fraction=0.0,
        ),
        training=True,
        repeat=True,
    )
    return np.concatenate([x.numpy() for x, _ in train.take(count)])


def file_problems(
    runner: EdgeClassifier, mode, reference: Reference, probe_scores, val_scores
) -> list[str]:
    """What is wrong with an exported file, checked against `reference` (empty: nothing)."""
    problems = []
    expected = reference.description(mode)
    if runner.description != expected:
        problems.append("its metadata does not read back as written")
    if runner.signatures != expected.signatures():
        problems.append(f"its signatures are not {expected.signatures()}")
    custom = [op for op in runner.ops() if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]
    if custom:
        problems.append(f"non-builtin ops {custom}")
    float_ops = runner.float_ops(float_layers(reference.model)) if mode in INTEGER_MODES else []
    if float_ops:
        problems.append(f"ops left in float {float_ops}")
    if not np.all(np.isfinite(probe_scores)) or probe_scores.min() < 0 or probe_scores.max() > 1:
        problems.append("outputs outside [0, 1] on silence/noise/sine")
    difference = float(np.abs(probe_scores - reference.probe_scores).max())
    if mode in MAX_DIFFERENCE and difference > MAX_DIFFERENCE[mode]:
        problems.append(f"max abs difference from Keras {difference:.2g} > {MAX_DIFFERENCE[mode]}")
    keras_map, file_map = (
        reference.val_metrics["mAP"],
        clip_metrics(reference.val_labels, val_scores)["mAP"],
    )
    if keras_map - file_map > MAX_MAP_DROP:
        problems.append(
            f"validation mAP {file_map:.4f} is more than {MAX_MAP_DROP} below Keras {keras_map:.4f}"
            f" ({largest_loss(reference, val_scores)})"
        )
    return problems


def largest_loss(reference: Reference, scores) -> str:
    """Names the class that lost the most validation AP, and how widely Keras' scores of it vary.

    A class the model barely separates has nearly equal scores on every clip; its AP then
    depends on differences below int8's resolution.
    """
    before = per_class_average_precision(reference.val_labels, reference.val_scores)
    after = per_class_average_precision(reference.val_labels, scores)
    k = int(np.nanargmax(before - after))
    return (
        f"most of it in class {reference.class_names[k]!r}: AP {before[k]:.3f} → {after[k]:.3f}; "
        f"its Keras scores have a standard deviation of {reference.val_scores[:, k].std():.3f} "
        f"over the validation clips"
    )
