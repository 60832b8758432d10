"""The frozen model configuration (no TensorFlow); the named presets are in `presets`.

Every size of the network lives here. A stage table is a tuple of `Stage` rows; the model
builders turn each row into layers with a loop, as YAMNet does with its layer table.
"""

import dataclasses
import json
import math
import types
import typing

from keras_rawaudio.errors import ConfigError

SAMPLE_RATE = 16000
# The mel range of the log-mel front-end, the Gabor front-end's initial centres and the classical
# baseline: PANNs' 50 Hz lower edge rather than VGGish's 125 Hz, which leaves out most of a kick
# drum's energy
# (docs/benchmarks/experiments.md#mel-range-from-50-hz-instead-of-125-hz-measured-alone).
MEL_MIN_HZ = 50.0
MEL_MAX_HZ = 7500.0
# How fast the Gabor filters' centres and widths learn, relative to the rest of the model. With a
# few hundred clips, learning them at the full rate cost the raw model 0.024 mAP on drums16k, and
# filters kept at their mel start tied the log-mel model
# (docs/benchmarks/experiments.md#the-gabor-filters-frozen-at-their-mel-start-measured-alone).
GABOR_LEARNING_RATE_SCALE = 0.0
LEVEL_FRAME_MS = (
    50  # a sound's level: the RMS of its loudest 50 ms (level normalisation, level-matched mixing)
)
FRONTEND_COMPRESSIONS = ("none", "log", "pcen")
# The raw model's front-ends: name → the module that defines its `Frontend` (built by
# `keras_rawaudio.models.frontends.get`). A new front-end is that module and one line here.
FRONTENDS = {
    "cnn": "keras_rawaudio.models.frontends.cnn",
    "gabor": "keras_rawaudio.models.frontends.gabor",
}


def field(default, help=None, lower=None, upper=None, choices=None):
    """A dataclass field; with `help`, also a command-line flag of that help, bounds and
    choices (`keras_rawaudio.cli.define_field_flags` defines it)."""
    metadata = (
        {} if help is None else {"help": help, "lower": lower, "upper": upper, "choices": choices}
    )
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(instance):
    """ConfigError naming the first flag field of dataclass `instance` (one with a help,
    `field`) whose value is not of its type (a bool is not a number; a number is finite) or lies
    outside its bounds or choices. Each configuration class calls it first in __post_init__."""
    for spec in dataclasses.fields(instance):
        meta, value = spec.metadata, getattr(instance, spec.name)
        if "help" not in meta:
            continue
        kinds = typing.get_args(spec.type) if isinstance(spec.type, types.UnionType) else ()
        kind = next((k for k in kinds if k is not type(None)), spec.type)
        if value is None and type(None) in kinds:
            continue
        number = kind in (int, float)
        right_type = (
            isinstance(value, kind) and not isinstance(value, bool)
            if kind is int
            else isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not right_type or (number and not math.isfinite(value)):
            article = "an" if kind is int else "a"
            noun = {int: "integer", float: "finite number", str: "string", bool: "bool"}[kind]
            raise ConfigError(f"{spec.name} must be {article} {noun}, got {value!r}")
        if meta["choices"] and value not in meta["choices"]:
            raise ConfigError(
                f"{spec.name} must be one of {', '.join(meta['choices'])}, got {value!r}"
            )
        lower, upper = meta["lower"], meta["upper"]
        if number and not ((lower is None or value >= lower) and (upper is None or value <= upper)):
            bounds = (
                f"in [{lower:g}, {upper:g}]"
                if lower is not None and upper is not None
                else f">= {lower:g}"
                if lower is not None
                else f"<= {upper:g}"
            )
            raise ConfigError(f"{spec.name} must be {bounds}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Stage:
    """One residual stage: `blocks` basic blocks, the first one strided.

    filters: output channels.
    kernel: kernel length (1D) or side (2D) of the block convolutions.
    stride: time stride (1D) or (frequency, time) stride (2D) of the stage's first block.
    separable: each block convolution is depthwise-separable, as MobileNet's are: a depthwise
      convolution of `kernel` (one filter per input channel) → BatchNorm → ReLU, then a 1×1
      convolution to `filters`. Up to `kernel`² times fewer multiply-accumulates and weights
      than a full convolution (5.8× at 16 channels, 8.4× at 128 for 3 × 3), so a stage can be
      wider or deeper at the same cost.
    """

    filters: int
    kernel: int
    stride: int | tuple[int, int]
    blocks: int = 1
    separable: bool = False


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a `RawWaveformClassifier` or `LogMelClassifier`.

    Waveform front-end (raw model only), by `frontend`:
      'cnn' (the paper's): a Conv1D stem then `frontend_stages`; the product of the stem and
        stage strides is the hop in samples (160 = 10 ms at 16 kHz), and the last stage's
        filters are the C learned "frequency" bands of the image.
      'gabor': `mel_bins` learnable complex Gabor filters, `window_ms` long, every `hop_ms`,
        initialised at mel-spaced centres in [`mel_min_hz`, `mel_max_hz`], and each band's
        power (`GaborFilterbank`): the log-mel model's sizes, with a learnable filterbank in
        place of the fixed one. The filters' centres and widths learn at
        `gabor_learning_rate_scale` times the learning rate (0: they keep their mel start).
    Log-mel front-end (log-mel model only): `mel_bins` bands, `window_ms` / `hop_ms` frames.
    Back-end: a 2D ResNet (`resnet_stem_filters`, `resnet_stages`) over the (C, T, 1) image.
    Heads: attention pooling on the outputs of the last `num_heads` stages, each with an
    optional hidden layer of `head_units` (0 = none); attention logits clipped to
    +/- `attention_clip`; `dropout` before each head.
    Input: `level_normalization` scales each window to a fixed level first (`LevelNormalization`):
    the RMS of its loudest frame `level_frame_ms` long (the sound's peak level, whatever its
    duration), or with `level_frame_ms` 0 the whole window's RMS; a window quieter than
    `level_floor_dbfs` is raised only as far as a window at that level would be, so that a
    faint hiss stays faint rather than arriving as loud as a sound.
    Image (raw model only): `frontend_compression` 'log' compresses the learned filterbank's
    output as a spectrogram's log does (`LogCompression`), 'pcen' divides each band by its
    smoothed history over the shortest input's frames, then takes a root, all learned
    (`PerChannelEnergyNormalization`, LEAF's choice), 'none' leaves it linear.
    `band_normalization` (both models) batch-normalises each band of the image before the
    ResNet, as PANNs' bn0 does for log-mel bins. `mask_bands` / `mask_frames` (both models):
    SpecAugment in training, one run of up to that many bands / frames of each example's image
    set to 0 (`TimeFrequencyMasking`; 0: off). `filter_augment_db` (both models; the raw
    model's image must be log-compressed): in training, a random equaliser of up to that many
    dB, smooth across the bands, added to each example's image before band normalisation
    (`FilterAugment`; 0: off).
    """

    num_classes: int
    sample_rate: int = SAMPLE_RATE
    input_samples: int | None = None  # None: any length >= min_samples; fixed for export.
    min_samples: int = SAMPLE_RATE
    frontend: str = field(
        "gabor",
        "Raw model: the learned filterbank, the paper's 1D CNN or Gabor-initialised "
        "complex filters.",
        choices=FRONTENDS,  # the registry itself: a front-end registered later is a choice
    )
    stem_filters: int = 16
    stem_kernel: int = 7
    stem_stride: int = 4
    frontend_stages: tuple[Stage, ...] = (
        Stage(32, 5, 2),
        Stage(48, 9, 4),
        Stage(64, 11, 5),
    )
    mel_bins: int = 64
    window_ms: float = 25.0
    hop_ms: float = 10.0
    mel_min_hz: float = field(
        MEL_MIN_HZ,
        "Lower edge of the mel range: the log-mel bands, the Gabor filters' "
        "initial centres and, in ablate, the classical baseline's bands.",
        lower=0,
    )
    mel_max_hz: float = field(
        MEL_MAX_HZ, "Upper edge of the mel range (at most half the sample rate).", lower=0
    )
    gabor_learning_rate_scale: float = field(
        GABOR_LEARNING_RATE_SCALE,
        "Raw model, Gabor front-end: the filters' "
        "centres and widths learn at this fraction of the learning rate (0: they "
        "keep their mel start; 1: as fast as the rest).",
        lower=0,
        upper=1,
    )
    resnet_stem_filters: int = 16
    resnet_stages: tuple[Stage, ...] = (
        Stage(16, 3, (2, 2)),
        Stage(32, 3, (2, 2)),
        Stage(64, 3, (2, 2)),
        Stage(128, 3, (2, 2)),
    )
    num_heads: int = 2
    head_units: int = 0
    attention_clip: float = 10.0
    dropout: float = field(
        0.1, "Dropout of the features entering each attention head.", lower=0, upper=0.95
    )
    batch_norm_momentum: float = 0.9  # PyTorch's default (0.1 there); adapts within few steps
    level_normalization: bool = field(True, "Scale each input window to a fixed level.")
    level_frame_ms: float = field(
        LEVEL_FRAME_MS,
        "Level normalisation and level-matched mixing measure the RMS "
        "of each window's loudest frame of this many ms (0: the whole window; at most "
        "1000, the shortest input).",
        lower=0,
        upper=1000,
    )
    level_floor_dbfs: float = field(
        -40.0,
        "Level normalisation raises no window whose level is below this (dB re full scale): a "
        "quieter window stays that much quieter than a sound.",
        lower=-100,
        upper=-10,
    )
    frontend_compression: str = field(
        "log",
        "Raw model: compression of the learned filterbank's output.",
        choices=FRONTEND_COMPRESSIONS,
    )
    band_normalization: bool = field(True, "Batch-normalise each band of the image.")
    mask_bands: int = field(
        0,
        "SpecAugment: in training, up to this many consecutive bands of each image set "
        "to 0 (0: off).",
        lower=0,
    )
    mask_frames: int = field(
        0,
        "SpecAugment: in training, up to this many consecutive frames (10 ms each) of "
        "each image set to 0 (0: off).",
        lower=0,
    )
    filter_augment_db: float = field(
        0.0,
        "FilterAugment: in training, a random equaliser of up to this many dB, "
        "smooth across the bands, on each image (0: off; the raw model needs "
        "--frontend_compression=log).",
        lower=0,
    )

    def __post_init__(self):
        check_fields(self)  # types, bounds and choices of every flag field
        if self.filter_augment_db and self.frontend_compression != "log":
            raise ConfigError(
                "filter_augment_db adds gains in log units: it needs frontend_compression='log', "
                f"got {self.frontend_compression!r}"
            )
        shortest_ms = 1000 * self.min_samples / self.sample_rate
        if not (self.level_frame_ms == 0 or 1 <= self.level_frame_ms <= shortest_ms):
            raise ConfigError(
                f"level_frame_ms must be 0 (the whole window) or in [1, {shortest_ms:g}] "
                f"(the shortest input), got {self.level_frame_ms}"
            )
        if not 0 <= self.mel_min_hz < self.mel_max_hz <= self.sample_rate / 2:
            raise ConfigError(
                "the mel range must satisfy 0 <= mel_min_hz < mel_max_hz <= "
                f"{self.sample_rate / 2:g} "
                f"(half the sample rate), got {self.mel_min_hz:g}-{self.mel_max_hz:g} Hz"
            )
        if (
            isinstance(self.num_classes, bool)
            or not isinstance(self.num_classes, int)
            or self.num_classes < 1
        ):
            raise ConfigError(
                f"num_classes must be >= 1 and a whole number, got {self.num_classes!r}"
            )
        if not 1 <= self.num_heads <= len(self.resnet_stages):
            raise ConfigError(
                f"num_heads must be in [1, {len(self.resnet_stages)}] (the number of ResNet "
                f"stages), got {self.num_heads}"
            )
        if self.input_samples is not None and self.input_samples < self.min_samples:
            raise ConfigError(
                f"input_samples={self.input_samples} is shorter than min_samples={self.min_samples}"
            )

    @property
    def hop_samples(self) -> int:
        """Samples per frame of the raw front-end's output: the CNN's total time stride, every
        other front-end's `hop_ms`."""
        if self.frontend != "cnn":
            return self.frame_hop_samples
        hop = self.stem_stride
        for stage in self.frontend_stages:
            hop *= stage.stride
        return hop

    @property
    def level_frame_samples(self) -> int | None:
        """Samples of `level_frame_ms`, the frame whose RMS `LevelNormalization` sets (None: the
        window)."""
        return round(self.level_frame_ms * self.sample_rate / 1000) if self.level_frame_ms else None

    @property
    def window_samples(self) -> int:
        """Samples of the log-mel and Gabor front-ends' analysis window."""
        return round(self.window_ms * self.sample_rate / 1000)

    @property
    def frame_hop_samples(self) -> int:
        """Samples between the log-mel and Gabor front-ends' frames."""
        return round(self.hop_ms * self.sample_rate / 1000)

    @property
    def frequency_bands(self) -> int:
        """C: channels of the raw front-end, i.e. the height of the image: the CNN's last stage's
        filters, every other front-end's `mel_bins`."""
        if self.frontend != "cnn":
            return self.mel_bins
        return self.frontend_stages[-1].filters

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        values = dict(values)
        values.setdefault(
            "frontend", "cnn"
        )  # written before 0.3.0, when the CNN was the only raw front-end
        values.setdefault(
            "gabor_learning_rate_scale", 1.0
        )  # before 0.3.13 the filters learned at the full rate
        if values.get("level_frame_ms") is None:  # before 0.3.10, None or absent: the whole window
            values["level_frame_ms"] = 0.0
        values.setdefault("level_floor_dbfs", -60.0)  # before 0.4.1 the floor was -60 dBFS
        for key in ("frontend_stages", "resnet_stages"):
            if key in values:
                values[key] = tuple(_stage_from_dict(s) for s in values[key])
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown ModelConfig fields: {sorted(unknown)}")
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _stage_from_dict(values) -> Stage:
    if isinstance(values, Stage):
        return values
    values = dict(values)
    if isinstance(values["stride"], list):
        values["stride"] = tuple(values["stride"])
    return Stage(**values)
