"""How training batches are drawn: `DataOptions`, one frozen dataclass that `train` passes whole."""

import dataclasses

from keras_rawaudio.config import check_fields, field
from keras_rawaudio.errors import ConfigError

MIX_MODES = ("none", "mix_training", "mixup")
CROPS = ("random", "energy")
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed accepts seeds in [0, MAX_SEED]


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """How training batches are drawn; `train` passes it through whole.

    Args:
        batch_size: clips per batch (training drops the last partial batch).
        clip_seconds: every clip cropped/padded to this length (a random window when
            training, the first window otherwise); None keeps whole clips, zero-padded to the
            longest of each batch.
        mix: 'none', 'mix_training' or 'mixup' (training only).
        mix_probability: fraction of the clips that are mixed.
        mix_concentration: α ~ Beta(a, a) with this a; None: α ~ Uniform(0, 1) for
            mix_training, Beta(0.2, 0.2) for mixup.
        mix_different_classes: pair each clip with a random clip of the batch that shares none
            of its classes (one of the same class where the batch has no other), as
            between-class learning does (Tokozume et al., 2018), rather than with its neighbour,
            which has the same class in one pair in seven on drums16k's class sizes: mixed
            with its own class, a sound's target stays its single label.
        match_mix_levels: mix the two sounds at the ratio α of their levels (each sound's
            level is its loudest frame, `models.layers.level`), as between-class learning does
            (Tokozume et al., 2018), rather than at the ratio α of their recorded amplitudes,
            where a sound recorded 25 dB quieter than its partner is inaudible in the mix yet
            labelled present (the default; False: the paper's plain amplitude mix).
        balanced: class-balanced sampling (training; the dataset is then endless).
        cache: keep decoded clips in memory after the first pass (small datasets).
        crop: how a training window is cut from a longer clip: 'energy' (the default: anywhere
            its energy is at least half the clip's loudest window's, so that a short event in a
            long clip is heard rather than the silence around it), or 'random' (anywhere).
        gain_db: training clips are scaled by a random gain, uniform in ±gain_db dB, so that
            the model learns that a recording's level is not its class (0: off).
        speed_semitones: each training clip is played at a random speed that moves its pitch
            uniformly in ±speed_semitones (and its duration by the inverse factor), as speed
            perturbation does in speech recognition and pitch shifting in environmental sound
            classification: a smaller drum, a larger engine, another bird of the species
            (0: off).
        empty_fraction: the fraction of training windows replaced by background alone, with an
            all-zero target: what a stream holds between events (`data.background`).
        background_fraction: the fraction of the other training windows that get background
            added under the sound.
        background_snr_min_db, background_snr_max_db: the range of the sound's level over the
            background's (its loudest frame's RMS over the background's RMS), uniform.
        background_dir: recordings of real ambience without events (a folder per kind; a kind
            named like a class is left out), drawn as backgrounds beside silence and white,
            pink and brown noise; None: those alone.
        shuffle_buffer: clips in the shuffle buffer.
        seed: makes shuffling, crops and mixing deterministic.
    """

    batch_size: int = field(32, "Global batch size.", lower=1, upper=65536)
    clip_seconds: float | None = field(1.0, "Training window in seconds.", lower=0.1, upper=600)
    mix: str = field("none", "Phase-1 mixing.", choices=MIX_MODES)
    mix_probability: float = field(1.0, "Fraction of clips mixed in phase 1.", lower=0, upper=1)
    mix_concentration: float | None = field(
        None, "α ~ Beta(a, a); default U(0, 1) (mix_training), Beta(0.2, 0.2) (mixup).", lower=1e-3
    )
    mix_different_classes: bool = field(
        False,
        "Mix each clip with a random clip of the batch that shares none of "
        "its classes, not with its neighbour.",
    )
    match_mix_levels: bool = field(
        True,
        "Mix two sounds at the ratio α of their levels (the loudest frame of each, "
        "as level normalisation measures it), not of their recorded amplitudes.",
    )
    balanced: bool = field(False, "Class-balanced sampling (needs --steps_per_epoch).")
    cache: bool = field(False, "Keep decoded clips in memory.")
    crop: str = field(
        "energy",
        "Training crops of longer clips: random, or energy (where the clip's energy is).",
        choices=CROPS,
    )
    gain_db: float = field(
        0.0, "Random gain of each training clip, uniform in ±this many dB.", lower=0
    )
    speed_semitones: float = field(
        0.0,
        "Random speed of each training clip, moving its pitch uniformly in ±this many semitones.",
        lower=0,
        upper=12,
    )
    empty_fraction: float = field(
        0.2,
        "Fraction of training windows replaced by background alone (target: no class).",
        lower=0,
        upper=1,
    )
    background_fraction: float = field(
        0.25, "Fraction of the other training windows with background under them.", lower=0, upper=1
    )
    background_snr_min_db: float = field(
        10.0, "Lowest level of a sound over its background, dB.", lower=-30, upper=60
    )
    background_snr_max_db: float = field(
        40.0, "Highest level of a sound over its background, dB.", lower=-30, upper=60
    )
    background_dir: str | None = field(
        None,
        "Recordings of real ambience with no event, a folder per kind, drawn as training "
        "backgrounds beside silence and noise (a kind named like a class is left out).",
    )
    shuffle_buffer: int = 2048
    seed: int | None = field(
        None, "Seed of weights, shuffling, crops and mixing.", lower=0, upper=MAX_SEED
    )

    def __post_init__(self):
        check_fields(self)  # types, bounds and choices of every field
        if self.background_snr_min_db > self.background_snr_max_db:
            raise ConfigError(
                f"background_snr_min_db ({self.background_snr_min_db}) is above "
                f"background_snr_max_db ({self.background_snr_max_db})"
            )
        if self.mix_concentration is not None and self.mix_concentration <= 0:
            raise ConfigError(f"mix_concentration must be positive, got {self.mix_concentration}")

    def replace(self, **changes) -> "DataOptions":
        return dataclasses.replace(self, **changes)

    @property
    def concentration(self) -> float | None:
        """Beta concentration of α: as given, else 0.2 for mixup and None (uniform) otherwise."""
        if self.mix_concentration is None and self.mix == "mixup":
            return 0.2
        return self.mix_concentration
