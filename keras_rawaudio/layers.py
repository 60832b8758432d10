"""Custom Keras layers: attention pooling over time, an in-graph log-mel front-end, the raw
front-end's level normalisation and compressions (log, PCEN), a learnable Gabor filterbank, and
training-only augmentations of the image (SpecAugment's masks, FilterAugment's equaliser).

All are registered serialisable, so a `.keras` file loads without `custom_objects`, and all
convert to TFLite builtin ops.
"""

import keras
import numpy as np
from keras import ops

from keras_rawaudio.config import MEL_MAX_HZ, MEL_MIN_HZ


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class AttentionPooling(keras.layers.Layer):
    """Pools frame features over time with per-class attention.

    For every class k and frame t: cla = sigmoid(W_c·h_t), att = softmax over t of
    clip(W_a·h_t, ±clip); the clip probability is Σ_t att·cla.

    Input: (batch, frames, features). Returns a tuple
    (clipwise (batch, classes), framewise cla (batch, frames, classes),
    attention (batch, frames, classes), which sums to 1 over frames).
    """

    def __init__(self, num_classes: int, attention_clip: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.attention_clip = attention_clip
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.attention = keras.layers.Dense(num_classes, name="attention")

    def build(self, input_shape):
        self.classifier.build(input_shape)
        self.attention.build(input_shape)

    def call(self, frames):
        framewise = ops.sigmoid(self.classifier(frames))
        logits = ops.clip(self.attention(frames), -self.attention_clip, self.attention_clip)
        attention = ops.softmax(logits, axis=1)
        clipwise = ops.sum(attention * framewise, axis=1)
        return clipwise, framewise, attention

    def compute_output_shape(self, input_shape):
        framewise = (*input_shape[:2], self.num_classes)
        return (input_shape[0], self.num_classes), framewise, framewise

    def multiply_accumulates(self, input_shape) -> int:
        """MACs of one call on an input of `input_shape` (batch 1)."""
        return int(np.prod(input_shape[1:])) * 2 * self.num_classes

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "attention_clip": self.attention_clip,
        }


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LevelNormalization(keras.layers.Layer):
    """Scales each waveform to a fixed RMS level, so that a clip's gain does not change the model.

    y = target_rms · x / sqrt(P + floor²), where P is the mean square of the whole waveform or,
    with `frame_samples`, of its loudest frame of that many samples (frames every half frame):
    the level of the sound it holds, whatever its duration, as `data.loudest_frame_rms`
    measures it for level-matched mixing. Windows quieter than `floor` (RMS) are scaled up at
    most target_rms / floor, so silence stays near silence. TFLite builtin ops.

    Args:
        target_rms: the RMS the waveform (or its loudest frame) is scaled to.
        floor: RMS below which the gain stops growing.
        frame_samples: None: the whole waveform's RMS; else the loudest frame's.
    """

    def __init__(self, target_rms=0.1, floor=1e-3, frame_samples=None, **kwargs):
        super().__init__(**kwargs)
        self.target_rms, self.floor, self.frame_samples = target_rms, floor, frame_samples

    def call(self, waveform):
        squared = waveform * waveform  # MUL: int8 TFLite has no SQUARE
        if self.frame_samples is None:
            power = ops.mean(squared, axis=-1, keepdims=True)
        else:
            frames = ops.average_pool(ops.expand_dims(squared, -1), self.frame_samples, self.frame_samples // 2, "same")
            power = ops.max(frames, axis=1)
        return waveform * (self.target_rms * ops.rsqrt(power + self.floor**2))

    def get_config(self):
        return {**super().get_config(), "target_rms": self.target_rms, "floor": self.floor,
                "frame_samples": self.frame_samples}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class TimeFrequencyMasking(keras.layers.Layer):
    """SpecAugment's masks, in training only: each example's image gets one run of 0 to
    `max_bands` consecutive bands and one of 0 to `max_frames` consecutive frames set to 0 (the
    mean of a band-normalised image), widths and positions uniform. At inference it is the
    identity and adds no op to an exported file.

    Input and output: (batch, frames, bands).

    Example: `TimeFrequencyMasking(8, 10)(frames, training=True)`.
    """

    def __init__(self, max_bands=0, max_frames=0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_bands, self.max_frames, self.seed = max_bands, max_frames, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _keep(self, batch, size, max_width):
        """(batch, size) float: 0 on one run of 0..max_width positions per example, else 1."""
        width = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) * (max_width + 1))
        start = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) * (ops.cast(size, "float32") - width + 1))
        position = ops.cast(ops.arange(size), "float32")[None, :]
        return ops.cast((position < start) | (position >= start + width), "float32")

    def call(self, frames, training=False):
        if not training or not (self.max_bands or self.max_frames):
            return frames
        shape = ops.shape(frames)
        keep = ops.ones_like(frames)
        if self.max_frames:
            keep = keep * self._keep(shape[0], shape[1], self.max_frames)[:, :, None]
        if self.max_bands:
            keep = keep * self._keep(shape[0], shape[2], self.max_bands)[:, None, :]
        return frames * keep

    def get_config(self):
        return {**super().get_config(), "max_bands": self.max_bands, "max_frames": self.max_frames, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class FilterAugment(keras.layers.Layer):
    """A random equaliser, in training only (FilterAugment, Nam et al., 2022): each example's
    log-compressed image gets a gain curve across its bands, `points` gains drawn uniformly in
    ±`max_db` dB at evenly spaced bands and linearly interpolated between them, added in
    natural-log units (a power gain of G dB adds G·ln(10)/10 to log(power)). It imitates another
    microphone, room or recording chain colouring the same sound. At inference it is the
    identity and adds no op to an exported file.

    Input and output: (batch, frames, bands), log-compressed.

    Example: `FilterAugment(6.0)(log_mel_frames, training=True)`.
    """

    def __init__(self, max_db=6.0, points=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if points < 2:
            raise ValueError(f"FilterAugment needs at least 2 points, got {points}")
        self.max_db, self.points, self.seed = max_db, points, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        # (points, bands): row p holds the weight of control point p at each band.
        position = np.linspace(0, self.points - 1, input_shape[-1])
        self.interpolation = np.array([np.interp(position, np.arange(self.points), row)
                                       for row in np.eye(self.points)], np.float32)

    def call(self, frames, training=False):
        if not training or not self.max_db:
            return frames
        gains_db = keras.random.uniform((ops.shape(frames)[0], self.points), -self.max_db, self.max_db,
                                        seed=self.seed_generator)
        curve = ops.matmul(gains_db, ops.convert_to_tensor(self.interpolation)) * (np.log(10.0) / 10)
        return frames + curve[:, None, :]

    def get_config(self):
        return {**super().get_config(), "max_db": self.max_db, "points": self.points, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LogCompression(keras.layers.Layer):
    """Compresses non-negative filterbank frames as a spectrogram's log does: y = log(1 + g·x).

    One learnable gain g per band (the last axis), initialised at `initial_gain` and kept
    positive (stored as log g). Large g·x gives log(g·x), a gain change of the input then
    only shifts the band; small g·x stays nearly linear. TFLite builtin ops (LOG, EXP, MUL).

    Input and output: (batch, frames, bands).
    """

    def __init__(self, initial_gain=10.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_gain = initial_gain

    def build(self, input_shape):
        self.log_gain = self.add_weight(
            shape=(input_shape[-1],), initializer=keras.initializers.Constant(np.log(self.initial_gain)),
            name="log_gain")

    def call(self, frames):
        return ops.log1p(ops.exp(self.log_gain) * ops.relu(frames))

    def get_config(self):
        return {**super().get_config(), "initial_gain": self.initial_gain}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class PerChannelEnergyNormalization(keras.layers.Layer):
    """Learnable per-channel energy normalisation (PCEN; Wang et al., 2017), LEAF's compression.

    Each band is divided by a smoothed history of itself, an automatic gain control per band,
    then root-compressed:

        M[t] = Σ_k w_k·x[t−k] / Σ_k w_k,  w_k = s·(1 − s)^k,  0 ≤ k < min(t + 1, context_frames)
        y[t] = (x[t] / (ε + M[t])^α + δ)^(1/r) − δ^(1/r)

    A steady band (a drone, background noise, the decay of a held note) tends to a constant,
    and an onset stands out by its ratio to what came before, whatever the recording's level
    (for α = 1 a gain of the input cancels exactly). One s, α, δ and r per band (the last
    axis), learned, initialised at LEAF's values (0.04, 0.96, 2, 2) and clipped to s ∈
    [1e-3, 1], α ∈ [0, 1], δ ≥ 1e-3, r ≥ 1 in use. The recursive smoother of the paper is
    written as a causal depthwise convolution truncated at `context_frames`, its weights
    renormalised over the frames within reach, so the first frames average what there is:
    TFLite builtin ops (DEPTHWISE_CONV_2D, POW, DIV).

    Args:
        context_frames: frames of history the smoother sees (its kernel length).
        epsilon: floor of the smoothed energy, in the input's units.

    Input and output: (batch, frames, bands), the input non-negative (negative values are cut).

    Example: `PerChannelEnergyNormalization(100)(GaborFilterbank(64)(waveforms))`.
    """

    def __init__(self, context_frames=100, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.context_frames, self.epsilon = context_frames, epsilon

    def build(self, input_shape):
        bands = (input_shape[-1],)
        constant = keras.initializers.Constant
        self.smoothing = self.add_weight(shape=bands, initializer=constant(0.04), name="smoothing")
        self.alpha = self.add_weight(shape=bands, initializer=constant(0.96), name="alpha")
        self.delta = self.add_weight(shape=bands, initializer=constant(2.0), name="delta")
        self.root = self.add_weight(shape=bands, initializer=constant(2.0), name="root")

    def smoother_kernel(self):
        """The smoother's weights as a depthwise kernel, (context_frames, bands, 1), oldest frame first."""
        s = ops.clip(self.smoothing, 1e-3, 1.0)
        lag = ops.convert_to_tensor(np.arange(self.context_frames - 1, -1, -1.0)[:, None], "float32")
        return ops.expand_dims(s * ops.power(1.0 - s, lag), -1)

    def call(self, frames):
        frames = ops.relu(frames)
        kernel = self.smoother_kernel()
        causal = [[0, 0], [self.context_frames - 1, 0], [0, 0]]
        smooth = lambda x: ops.depthwise_conv(ops.pad(x, causal), kernel, padding="valid")  # noqa: E731
        history = smooth(frames) / smooth(ops.ones_like(frames))
        alpha = ops.clip(self.alpha, 0.0, 1.0)
        delta = ops.maximum(self.delta, 1e-3)
        inverse_root = 1.0 / ops.maximum(self.root, 1.0)
        gained = frames / ops.power(self.epsilon + history, alpha)
        return ops.power(gained + delta, inverse_root) - ops.power(delta, inverse_root)

    def multiply_accumulates(self, input_shape) -> int:
        return input_shape[1] * input_shape[2] * self.context_frames

    def get_config(self):
        return {**super().get_config(), "context_frames": self.context_frames, "epsilon": self.epsilon}


def hertz_to_mel(hertz):
    """HTK mel scale, as tf.signal uses: 1127·ln(1 + f/700)."""
    return 1127.0 * np.log1p(np.asarray(hertz, np.float64) / 700.0)


def mel_band_edges(num_bands, lower_hz, upper_hz) -> np.ndarray:
    """The num_bands + 2 mel values, equally spaced, whose triples are the triangular bands' edges."""
    return np.linspace(hertz_to_mel(lower_hz), hertz_to_mel(upper_hz), num_bands + 2)


def mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sample_rate, lower_hz, upper_hz):
    """Triangular mel filterbank, (num_spectrogram_bins, num_mel_bins) float64.

    Same definition as tf.signal.linear_to_mel_weight_matrix (the DC bin is zeroed).
    """
    bin_hz = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    bin_mel = hertz_to_mel(bin_hz)[:, None]
    edges = mel_band_edges(num_mel_bins, lower_hz, upper_hz)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (center - lower)
    falling = (upper - bin_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, num_mel_bins)), weights], axis=0)


def dft_kernel(window_samples: int, fft_length: int) -> np.ndarray:
    """Periodic-Hann-windowed real DFT as a Conv1D kernel, (window, 1, 2·(fft_length//2+1)).

    Output channels are the real parts of the bins, then the imaginary parts.
    """
    n = np.arange(window_samples)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / window_samples)
    phase = 2.0 * np.pi * np.outer(n, np.arange(fft_length // 2 + 1)) / fft_length
    kernel = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * window[:, None]
    return kernel[:, None, :]


# The Gabor filters' gain: a sinusoid 80 dB below full scale (amplitude 1e-4) has a band power
# of about 1, so the log compression that follows starts with a gain near 1. Float16 files
# store constants in float16 (at most 65504): a gain of 1e8 on the power of unit-gain filters
# would overflow there.
GABOR_GAIN = 1e4


def mel_to_hertz(mel):
    """The inverse of `hertz_to_mel`."""
    return 700.0 * np.expm1(np.asarray(mel, np.float64) / 1127.0)


def gabor_init(bands, window, sample_rate, lower_hz, upper_hz) -> tuple[np.ndarray, np.ndarray]:
    """Centre frequencies (Hz) and envelope standard deviations (samples) of mel-like Gabor filters.

    Centres are those of `bands` triangular mel bands in [lower_hz, upper_hz]; each envelope makes
    the magnitude response as wide at half maximum as its triangle is (half its base), as far as
    the window allows (a standard deviation of at most window / 6).
    """
    edges = mel_to_hertz(mel_band_edges(bands, lower_hz, upper_hz))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    # A Gaussian of standard deviation s samples has a frequency response of standard deviation
    # rate / (2π s) Hz, and a full width at half maximum 2·sqrt(2 ln 2) times that.
    std = 2.0 * np.sqrt(2.0 * np.log(2.0)) * sample_rate / (2.0 * np.pi * (upper - lower) / 2.0)
    return centre, np.minimum(std, window / 6.0)


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class GaborFilterbank(keras.layers.Layer):
    """Learned complex Gabor filters, one frame every `hop_samples`, and each band's power.

    Band b's filter is a Gaussian envelope of standard deviation σ_b samples, normalised to sum
    `GABOR_GAIN`, times exp(2πi·f_b·n / sample_rate) over a `window_samples` window: a sinusoid
    of amplitude A at f_b gives power (GABOR_GAIN · A / 2)². Only f_b and σ_b are learned (two
    numbers per band, as in LEAF), so with a few hundred clips the filterbank stays a
    filterbank: the centres as mel values relative to the Nyquist frequency's, the widths as
    log(σ_b / window), both of order 1 so that the optimizer's steps suit them. Initialised mel-like (`gabor_init`), the
    layer starts as a mel-spaced power spectrogram. Frames use 'same' padding: ceil(samples /
    hop) frames. The filters are computed from the two weights in the graph; TFLite conversion
    folds them into a constant convolution kernel.

    `learning_rate_scale` s slows the filters' learning: the weights hold centre / s and
    width / s and the filters use s times them, so an optimizer step of a given size (Adam's
    steps do not depend on the gradient's scale) moves the filters s times as far. With s = 0
    the filters keep their initial values (the weights are not trainable).

    Args:
        bands: number of filters (the image's height).
        window_samples, hop_samples: filter length and frame hop, in samples.
        sample_rate: Hz.
        lower_hz, upper_hz: the mel range of the initial centres.
        learning_rate_scale: in [0, 1], how fast the filters learn relative to the rest of the model.

    Input (batch, samples) → output (batch, frames, bands), non-negative.

    Example: `GaborFilterbank(64, 400, 160)(waveforms)` → (batch, 100, 64) for 1 s at 16 kHz.
    """

    def __init__(self, bands, window_samples=400, hop_samples=160, sample_rate=16000, lower_hz=MEL_MIN_HZ,
                 upper_hz=MEL_MAX_HZ, learning_rate_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= learning_rate_scale <= 1:
            raise ValueError(f"learning_rate_scale must be in [0, 1], got {learning_rate_scale}")
        self.bands, self.window_samples, self.hop_samples = bands, window_samples, hop_samples
        self.sample_rate, self.lower_hz, self.upper_hz = sample_rate, lower_hz, upper_hz
        self.learning_rate_scale = learning_rate_scale
        self.weight_scale = learning_rate_scale or 1.0  # filter value = weight_scale · weight
        self.nyquist_mel = float(hertz_to_mel(sample_rate / 2.0))

    def build(self, input_shape):
        centre_hz, std = gabor_init(self.bands, self.window_samples, self.sample_rate, self.lower_hz, self.upper_hz)
        initial = {"centre": hertz_to_mel(centre_hz) / self.nyquist_mel, "log_width": np.log(std / self.window_samples)}
        self.centre, self.log_width = (
            self.add_weight(shape=(self.bands,), name=name, trainable=self.learning_rate_scale > 0,
                            initializer=keras.initializers.Constant(value / self.weight_scale))
            for name, value in initial.items())

    def filters(self):
        """(centre frequencies in Hz, standard deviations in samples), clipped to the usable range."""
        centre_mel = ops.clip(self.weight_scale * self.centre, 0.0, 1.0) * self.nyquist_mel
        centre_hz = 700.0 * (ops.exp(centre_mel / 1127.0) - 1.0)
        log_width = ops.clip(self.weight_scale * self.log_width, np.log(1.0 / self.window_samples), np.log(1.0 / 6.0))
        return centre_hz, ops.exp(log_width) * self.window_samples

    def kernels(self):
        """The real and imaginary parts of the filters as convolution kernels, each (window, 1, bands)."""
        centre_hz, std = self.filters()
        n = ops.convert_to_tensor(np.arange(self.window_samples) - (self.window_samples - 1) / 2.0, "float32")[:, None]
        envelope = ops.exp(-0.5 * ops.square(n / std))
        envelope = envelope * (GABOR_GAIN / ops.sum(envelope, axis=0))
        phase = (2.0 * np.pi / self.sample_rate) * n * centre_hz
        # expand_dims, not [:, None, :]: TFLite conversion does not fold a new-axis STRIDED_SLICE,
        # which would leave the kernels computed at run time and the convolutions off XNNPACK.
        return ops.expand_dims(envelope * ops.cos(phase), 1), ops.expand_dims(envelope * ops.sin(phase), 1)

    def call(self, waveform):
        # Two convolutions rather than one split in two: an int8 export keeps this layer in float,
        # and the quantizer would quantise a SPLIT between float ops.
        x = ops.expand_dims(waveform, -1)
        real, imag = (ops.conv(x, kernel, strides=self.hop_samples, padding="same") for kernel in self.kernels())
        return real * real + imag * imag  # MUL: int8 TFLite has no SQUARE

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        return (input_shape[0], None if samples is None else -(-samples // self.hop_samples), self.bands)

    def multiply_accumulates(self, input_shape) -> int:
        return -(-input_shape[1] // self.hop_samples) * self.window_samples * 2 * self.bands

    def get_config(self):
        return {**super().get_config(), "bands": self.bands, "window_samples": self.window_samples,
                "hop_samples": self.hop_samples, "sample_rate": self.sample_rate, "lower_hz": self.lower_hz,
                "upper_hz": self.upper_hz, "learning_rate_scale": self.learning_rate_scale}


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LogMelSpectrogram(keras.layers.Layer):
    """log(mel(|STFT|) + offset), built from TFLite builtin ops (a strided convolution).

    Input: (batch, samples) float32 at `sample_rate`. Output: (batch, frames, mel_bins), with
    frames = 1 + (samples - window) // hop (no centering, like YAMNet).
    """

    def __init__(
        self,
        sample_rate=16000,
        window_samples=400,
        hop_samples=160,
        mel_bins=64,
        lower_hz=MEL_MIN_HZ,
        upper_hz=MEL_MAX_HZ,
        log_offset=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.window_samples = window_samples
        self.hop_samples = hop_samples
        self.mel_bins = mel_bins
        self.lower_hz = lower_hz
        self.upper_hz = upper_hz
        self.log_offset = log_offset
        self.fft_length = 2 ** int(np.ceil(np.log2(window_samples)))
        self.spectrum_bins = self.fft_length // 2 + 1

    def build(self, input_shape):
        dft = dft_kernel(self.window_samples, self.fft_length)
        mel = mel_weight_matrix(
            self.mel_bins, self.spectrum_bins, self.sample_rate, self.lower_hz, self.upper_hz
        )
        self.dft = self.add_weight(shape=dft.shape, initializer="zeros", trainable=False, name="dft")
        self.mel = self.add_weight(shape=mel.shape, initializer="zeros", trainable=False, name="mel")
        self.dft.assign(dft.astype("float32"))
        self.mel.assign(mel.astype("float32"))

    def call(self, waveform):
        spectrum = ops.conv(ops.expand_dims(waveform, -1), self.dft, strides=self.hop_samples)
        real, imag = ops.split(spectrum, 2, axis=-1)
        magnitude = ops.sqrt(ops.square(real) + ops.square(imag))
        return ops.log(ops.matmul(magnitude, self.mel) + self.log_offset)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else 1 + (samples - self.window_samples) // self.hop_samples
        return (input_shape[0], frames, self.mel_bins)

    def multiply_accumulates(self, input_shape) -> int:
        frames = 1 + (input_shape[1] - self.window_samples) // self.hop_samples
        per_frame = self.window_samples * 2 * self.spectrum_bins + self.spectrum_bins * self.mel_bins
        return frames * per_frame

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "window_samples": self.window_samples,
            "hop_samples": self.hop_samples,
            "mel_bins": self.mel_bins,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "log_offset": self.log_offset,
        }
