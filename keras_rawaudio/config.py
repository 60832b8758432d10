"""Frozen model configuration and named presets.

Every size of the network lives here. A stage table is a tuple of `Stage` rows; the model
builders turn each row into layers with a loop, as YAMNet does with its layer table.
"""

import dataclasses
import json
import os

SAMPLE_RATE = 16000
# The mel range of the log-mel front-end, the Gabor front-end's initial centres and the classical
# baseline: PANNs' 50 Hz lower edge rather than VGGish's 125 Hz, which leaves out most of a kick
# drum's energy (BENCHMARKS.md, "Mel range from 50 Hz instead of 125 Hz").
MEL_MIN_HZ = 50.0
MEL_MAX_HZ = 7500.0
# How fast the Gabor filters' centres and widths learn, relative to the rest of the model. With a
# few hundred clips, learning them at the full rate cost the raw model 0.024 mAP on drums16k, and
# filters kept at their mel start tied the log-mel model (BENCHMARKS.md, "Gabor filters frozen").
GABOR_LEARNING_RATE_SCALE = 0.0
LEVEL_FRAME_MS = 50  # a sound's level: the RMS of its loudest 50 ms (level normalisation, level-matched mixing)
FRONTEND_COMPRESSIONS = ("none", "log", "pcen")
FRONTENDS = ("cnn", "gabor")


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
    duration), or with `level_frame_ms` 0 the whole window's RMS.
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
    frontend: str = "gabor"
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
    mel_min_hz: float = MEL_MIN_HZ
    mel_max_hz: float = MEL_MAX_HZ
    gabor_learning_rate_scale: float = GABOR_LEARNING_RATE_SCALE
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
    dropout: float = 0.1
    batch_norm_momentum: float = 0.9  # PyTorch's default (0.1 there); adapts within few steps
    level_normalization: bool = True
    level_frame_ms: float = LEVEL_FRAME_MS  # 0: the whole window
    frontend_compression: str = "log"
    band_normalization: bool = True
    mask_bands: int = 0
    mask_frames: int = 0
    filter_augment_db: float = 0.0

    def __post_init__(self):
        if self.stem_filters < 16 and os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
            raise ValueError(
                f"stem_filters={self.stem_filters}: TensorFlow's oneDNN CPU kernels corrupt memory "
                "when training a one-channel Conv1D with fewer than 16 filters; use >= 16 or set "
                "TF_ENABLE_ONEDNN_OPTS=0 before importing TensorFlow"
            )
        if self.frontend not in FRONTENDS:
            raise ValueError(f"frontend must be one of {', '.join(FRONTENDS)}, got {self.frontend!r}")
        if self.frontend_compression not in FRONTEND_COMPRESSIONS:
            raise ValueError(f"frontend_compression must be one of {', '.join(FRONTEND_COMPRESSIONS)}, "
                             f"got {self.frontend_compression!r}")
        if self.mask_bands < 0 or self.mask_frames < 0:
            raise ValueError(f"mask_bands and mask_frames must be >= 0, got {self.mask_bands}, {self.mask_frames}")
        if self.filter_augment_db < 0:
            raise ValueError(f"filter_augment_db must be >= 0, got {self.filter_augment_db:g}")
        if self.filter_augment_db and self.frontend_compression != "log":
            raise ValueError("filter_augment_db adds gains in log units: it needs frontend_compression='log', "
                             f"got {self.frontend_compression!r}")
        shortest_ms = 1000 * self.min_samples / self.sample_rate
        if not (self.level_frame_ms == 0 or 1 <= self.level_frame_ms <= shortest_ms):
            raise ValueError(f"level_frame_ms must be 0 (the whole window) or in [1, {shortest_ms:g}] "
                             f"(the shortest input), got {self.level_frame_ms}")
        if not 0 <= self.mel_min_hz < self.mel_max_hz <= self.sample_rate / 2:
            raise ValueError(f"the mel range must satisfy 0 <= mel_min_hz < mel_max_hz <= {self.sample_rate / 2:g} "
                             f"(half the sample rate), got {self.mel_min_hz:g}-{self.mel_max_hz:g} Hz")
        if not 0 <= self.gabor_learning_rate_scale <= 1:
            raise ValueError(f"gabor_learning_rate_scale must be in [0, 1], got {self.gabor_learning_rate_scale:g}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
        if not 1 <= self.num_heads <= len(self.resnet_stages):
            raise ValueError(
                f"num_heads must be in [1, {len(self.resnet_stages)}] (the number of ResNet "
                f"stages), got {self.num_heads}"
            )
        if self.input_samples is not None and self.input_samples < self.min_samples:
            raise ValueError(
                f"input_samples={self.input_samples} is shorter than min_samples={self.min_samples}"
            )

    @property
    def hop_samples(self) -> int:
        """Samples per frame of the raw front-end's output (its total time stride)."""
        if self.frontend == "gabor":
            return self.frame_hop_samples
        hop = self.stem_stride
        for stage in self.frontend_stages:
            hop *= stage.stride
        return hop

    @property
    def level_frame_samples(self) -> int | None:
        """Samples of `level_frame_ms`, the frame whose RMS `LevelNormalization` sets (None: the window)."""
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
        """C: channels of the raw front-end, i.e. the height of the image."""
        if self.frontend == "gabor":
            return self.mel_bins
        return self.frontend_stages[-1].filters

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        values = dict(values)
        values.setdefault("frontend", "cnn")  # written before 0.3.0, when the CNN was the only raw front-end
        values.setdefault("gabor_learning_rate_scale", 1.0)  # before 0.3.13 the filters learned at the full rate
        if values.get("level_frame_ms") is None:  # before 0.3.10, None or absent: the whole window
            values["level_frame_ms"] = 0.0
        for key in ("frontend_stages", "resnet_stages"):
            if key in values:
                values[key] = tuple(_stage_from_dict(s) for s in values[key])
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
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


# Presets: the sizes that differ from ModelConfig's defaults (which are the `edge` preset).
PRESETS: dict[str, dict] = {
    # <= 1 M parameters and <= 75 M multiply-accumulates per second of audio:
    # trains on a 2-core CPU, runs in real time on a Raspberry Pi. Its raw front-end is the
    # Gabor filterbank (mel-spaced, learnable, kept at its start by default): with a few hundred
    # clips it beat the paper's 1D CNN by 0.13 mAP (BENCHMARKS.md, "Accuracy study"), and it
    # costs 5 M of the 32 M MACs.
    "edge": {},
    # The paper's 1D CNN front-end, with ResNet widths sized for AudioSet on a GPU.
    "paper": {
        "frontend": "cnn",
        "stem_filters": 32,
        "stem_stride": 2,
        "frontend_stages": (
            Stage(64, 5, 2, 2),
            Stage(96, 5, 2, 2),
            Stage(128, 9, 4, 2),
            Stage(128, 11, 5, 2),
        ),
        "mel_bins": 128,
        "resnet_stem_filters": 64,
        "resnet_stages": (
            Stage(64, 3, (2, 2), 2),
            Stage(128, 3, (2, 2), 2),
            Stage(256, 3, (2, 2), 2),
            Stage(512, 3, (2, 2), 2),
        ),
        "num_heads": 3,
        "head_units": 512,
        "dropout": 0.2,
    },
    # A smoke-test size (about 40 k parameters): seconds per epoch on a CPU, for tests and for
    # checking a pipeline end to end, not for accuracy. The paper's CNN front-end, so that the
    # tests exercise both (the `edge` test fixture has the Gabor one).
    "tiny": {
        "frontend": "cnn",
        "frontend_stages": (Stage(16, 5, 2), Stage(16, 9, 4), Stage(16, 11, 5)),
        "resnet_stem_filters": 8,
        "resnet_stages": (Stage(8, 3, (2, 2)), Stage(16, 3, (2, 2)), Stage(16, 3, (2, 2))),
        "head_units": 16,
        "mel_bins": 16,
    },
}


def preset_config(name: str, num_classes: int, **overrides) -> ModelConfig:
    """The `ModelConfig` of preset `name` with `num_classes` and any field overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return ModelConfig(num_classes=num_classes, **{**PRESETS[name], **overrides})
