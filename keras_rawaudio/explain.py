"""What a trained model learned, and where in a recording it hears each class.

  python -m keras_rawaudio.explain --model=RUN/best.keras --audio=recording.wav --out_dir=explain

Writes to --out_dir:
  * filterbank.png / filterbank.csv: the learned front-end's filters (their own magnitude
    response: the Gabor filters, or the CNN's stem kernels) and the effective response of the
    whole front-end measured with sine sweeps, channels sorted by centre frequency, the mel
    scale drawn for comparison; per channel its centre frequency and bandwidth;
  * image.png: the (C, T) image the 2D ResNet sees for the recording's start, beside its log-mel
    spectrogram on the same time axis;
  * timeline.png, events.csv, events.json: frame-level class probabilities of the attention heads
    over the whole recording (the top classes), their attention weights, and the events the one
    detector (`keras_rawaudio.events`) finds in them (onset, offset, label, score) with the run's
    per-class thresholds (event_rule.json; --threshold for one), at least --min_duration long.
The recording is streamed: memory is bounded by one window, not by the file's length. Each plot
is also a function returning a matplotlib figure (`filterbank_figure`, `image_figure`,
`timeline_figure`). A log-mel model has no learned filterbank: its filterbank.png says so.
"""

import dataclasses
import json
import pathlib

import numpy as np

from keras_rawaudio import cli
from keras_rawaudio.audio_io import AudioError, stream_audio
from keras_rawaudio.dsp import mel_band_edges, mel_to_hertz
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.events import Event, EventRule, detect_events, read_rule
from keras_rawaudio.files import check_directory, save_figure, write_atomic, write_csv

SWEEP_POINTS = 160  # sine frequencies of the sweep, log-spaced
SWEEP_LOWEST_HZ = 40.0
IMAGE_SECONDS = 10.0  # image.png shows at most the recording's first 10 s


def filterbank_output(model):
    """The sub-model waveform → the learned filterbank's frames (batch, T, C), before
    compression."""
    import keras

    from keras_rawaudio.models import frontends

    layer = model.get_layer(frontends.get(model.config.frontend).output_layer(model.config))
    return keras.Model(model.input, layer.output)


def sweep_frequencies(sample_rate) -> np.ndarray:
    return np.geomspace(SWEEP_LOWEST_HZ, 0.98 * sample_rate / 2, SWEEP_POINTS)


def sweep_response(model) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies (F,), response (C, F)): each channel's mean output for a sine of each
    frequency at the same level, scaled to a peak of 1 per channel."""
    rate, samples = model.config.sample_rate, model.config.min_samples
    frequencies = sweep_frequencies(rate)
    t = np.arange(samples) / rate
    sines = (0.5 * np.sin(2 * np.pi * frequencies[:, None] * t)).astype(np.float32)
    frames = np.asarray(
        filterbank_output(model).predict(sines, batch_size=32, verbose=0)
    )  # (F, T, C)
    response = frames.mean(axis=1).T
    return frequencies, response / np.maximum(response.max(axis=1, keepdims=True), 1e-30)


def filter_responses(model) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies (F,), |H| (C, F)) of the first learned filters: the Gabor filters, or the CNN
    stem's kernels, from their taps (an FFT), each scaled to a peak of 1."""
    from keras_rawaudio.models import frontends

    rate = model.config.sample_rate
    taps = frontends.get(model.config.frontend).filter_taps(model)  # (taps, filters)
    size = max(2048, 2 ** int(np.ceil(np.log2(len(taps)))))
    magnitude = np.abs(np.fft.fft(taps, size, axis=0))[: size // 2].T
    return np.arange(size // 2) * rate / size, magnitude / np.maximum(
        magnitude.max(axis=1, keepdims=True), 1e-30
    )


def half_peak_crossing(frequencies, curve, peak, step) -> float:
    """Where `curve` falls to half its peak, walking from `peak` by `step` (±1), interpolated
    in log frequency between the sweep's points (the sweep's end if it never does)."""
    i = peak
    while 0 <= i + step < len(curve) and curve[i + step] >= 0.5:
        i += step
    j = i + step
    if not 0 <= j < len(curve):
        return float(frequencies[i])
    fraction = (curve[i] - 0.5) / (curve[i] - curve[j])
    return float(
        np.exp(
            np.log(frequencies[i]) + fraction * (np.log(frequencies[j]) - np.log(frequencies[i]))
        )
    )


def channel_summary(frequencies, response) -> list[dict]:
    """Per channel: the frequency of its peak, and the width of the band around it where the
    response is at least half the peak."""
    rows = []
    for channel, curve in enumerate(response):
        peak = int(np.argmax(curve))
        low, high = (half_peak_crossing(frequencies, curve, peak, step) for step in (-1, 1))
        rows.append(
            {"channel": channel, "centre_hz": float(frequencies[peak]), "bandwidth_hz": high - low}
        )
    return sorted(rows, key=lambda row: row["centre_hz"])


def _db(values):
    return 10 * np.log10(np.maximum(values, 1e-6))


def filterbank_figure(model):
    """(figure, per-channel rows sorted by centre frequency, or None for a log-mel model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not model.learns_frontend:
        figure, axis = plt.subplots(figsize=(7, 2))
        axis.axis("off")
        axis.text(
            0.5,
            0.5,
            f"{type(model).__name__}: no learned filterbank\n(its front-end is a fixed "
            f"{model.config.mel_bins}-band log-mel spectrogram)",
            ha="center",
            va="center",
        )
        return figure, None
    config = model.config
    frequencies, response = sweep_response(model)
    rows = channel_summary(frequencies, response)
    order = [row["channel"] for row in rows]
    from keras_rawaudio.models import frontends

    frontend = frontends.get(config.frontend)
    filter_frequencies, filters = filter_responses(model)
    if frontend.filters_are_channels:
        filters = filters[order]  # one filter per channel: the same order
    else:  # a first layer that later ones mix: sorted by their own peak
        filters = filters[np.argsort(filter_frequencies[np.argmax(filters, axis=1)])]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    stem = frontend.filter_title(config)
    for axis, x, values, title in (
        (axes[0], filter_frequencies, filters, f"{stem}: |H(f)|"),
        (axes[1], frequencies, response[order], "whole front-end, sine sweep"),
    ):
        mesh = axis.pcolormesh(
            x, np.arange(len(values)), _db(values), shading="nearest", vmin=-30, vmax=0
        )
        axis.set(
            xscale="log",
            xlim=(SWEEP_LOWEST_HZ, config.sample_rate / 2),
            xlabel="frequency (Hz)",
            ylabel="channel (sorted by centre)",
            title=title,
        )
    figure.colorbar(mesh, ax=axes[:2], label="dB below each channel's peak")
    mel = mel_to_hertz(mel_band_edges(len(rows), config.mel_min_hz, config.mel_max_hz)[1:-1])
    axes[2].plot([row["centre_hz"] for row in rows], ".", label="front-end (sine sweep peak)")
    axes[2].plot(
        mel, "-", label=f"mel, {len(rows)} bands {config.mel_min_hz:g}-{config.mel_max_hz:g} Hz"
    )
    axes[2].set(
        yscale="log",
        xlabel="channel (sorted)",
        ylabel="centre frequency (Hz)",
        title="centres vs mel",
    )
    axes[2].legend()
    return figure, rows


def read_start(path, sample_rate, seconds) -> np.ndarray:
    """The first `seconds` of a recording, streamed (the rest is not decoded)."""
    samples, pieces = round(seconds * sample_rate), []
    for block in stream_audio(path, sample_rate, block_seconds=min(seconds, 10.0)):
        pieces.append(block)
        if sum(map(len, pieces)) >= samples:
            break
    return np.concatenate(pieces)[:samples]


def image_figure(model, waveform):
    """The (C, T) image the ResNet sees beside the log-mel spectrogram of `waveform` (1-D, at the
    model's rate, at least its minimum length), on the same time axis."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_rawaudio.models import names
    from keras_rawaudio.models.layers import LogMelSpectrogram

    config = model.config
    waveform = np.pad(waveform, (0, max(0, config.min_samples - len(waveform))))[None].astype(
        np.float32
    )
    image = np.asarray(
        keras.Model(model.input, model.get_layer(names.TO_IMAGE).output).predict(
            waveform, verbose=0
        )
    )[0, :, :, 0]
    log_mel = np.asarray(
        LogMelSpectrogram(
            config.sample_rate,
            config.window_samples,
            config.frame_hop_samples,
            config.mel_bins,
            config.mel_min_hz,
            config.mel_max_hz,
        )(waveform)
    )[0].T
    seconds = waveform.shape[1] / config.sample_rate
    figure, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    name = "learned front-end" if model.learns_frontend else "log-mel front-end"
    for axis, values, title, unit in (
        (axes[0], image, f"the image the ResNet sees ({name}, normalised)", "band"),
        (axes[1], log_mel, "log-mel spectrogram", "mel band"),
    ):
        mesh = axis.imshow(
            values, origin="lower", aspect="auto", extent=(0, seconds, 0, len(values)), cmap="magma"
        )
        axis.set(title=title, ylabel=unit)
        figure.colorbar(mesh, ax=axis)
    axes[1].set_xlabel("time (s)")
    return figure


def head_outputs(model):
    """The sub-model waveform → [framewise, attention] of each attention head (finest first)."""
    import keras

    from keras_rawaudio.models import names

    heads = [model.get_layer(names.head(i + 1, "attention")) for i in range(model.config.num_heads)]
    outputs = []
    for head in heads:
        outputs += [head.output[1], head.output[2]]
    return keras.Model(model.input, outputs)


def frame_scores(model, path, window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame times (N,), probabilities (N, K), attention (N, K)) over the whole recording.

    Windows of `window` samples, one after another (the last one zero-padded), are streamed
    through the model; each head's framewise probabilities are put on the finest head's frames
    and averaged, as the clip output averages the heads. Attention is the finest head's, which
    sums to 1 over each window's frames.
    """
    rate = model.config.sample_rate
    heads = head_outputs(model)
    times, probabilities, attention = [], [], []
    buffer, start = np.zeros(0, np.float32), 0

    def run(chunk, valid):
        outputs = [np.asarray(o)[0] for o in heads.predict(chunk[None], verbose=0)]
        frames = len(outputs[0])
        local = (np.arange(frames) + 0.5) / frames * window / rate
        mean = np.mean(
            [
                np.stack(
                    [
                        np.interp(
                            local, (np.arange(len(f)) + 0.5) / len(f) * window / rate, f[:, k]
                        )
                        for k in range(f.shape[1])
                    ],
                    axis=1,
                )
                for f in outputs[0::2]
            ],
            axis=0,
        )
        keep = local < valid / rate
        keep[0] = True  # a recording shorter than half a frame still has its one frame
        times.append(start / rate + local[keep])
        probabilities.append(mean[keep])
        attention.append(outputs[1][keep])

    for block in stream_audio(path, rate):
        buffer = np.concatenate([buffer, block])
        while len(buffer) >= window:
            run(buffer[:window], window)
            buffer, start = buffer[window:], start + window
    if len(buffer) or not times:
        run(np.pad(buffer, (0, window - len(buffer))), max(len(buffer), 1))
    return np.concatenate(times), np.concatenate(probabilities), np.concatenate(attention)


def frame_events(times, probabilities, labels, rule: EventRule) -> list[Event]:
    """The events of the heads' frames (`frame_scores`), each frame spanning from the midpoint
    before it to the midpoint after it, by the one detector (`keras_rawaudio.events`)."""
    step = times[-1] - times[-2] if len(times) > 1 else 0.1
    edges = np.concatenate([[0.0], (times[1:] + times[:-1]) / 2, [times[-1] + step / 2]])
    return detect_events(probabilities, edges[:-1], edges[1:], labels, rule)


def timeline_figure(times, probabilities, attention, labels, events, rule: EventRule, top_k=5):
    """Probabilities of the `top_k` classes (by peak) over time, events shaded, each class's
    threshold dotted, and their attention."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = np.argsort(-probabilities.max(axis=0))[:top_k]
    figure, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True, height_ratios=(2, 1))
    colours = {}
    for k in top:
        (line,) = axes[0].plot(times, probabilities[:, k], label=labels[k])
        colours[labels[k]] = line.get_color()
        axes[0].axhline(rule.thresholds[k], color=line.get_color(), linestyle=":", linewidth=1)
        axes[1].plot(times, attention[:, k], color=line.get_color())
    for event in events:
        if event.label in colours:
            axes[0].axvspan(event.onset, event.offset, color=colours[event.label], alpha=0.15)
    axes[0].set(
        ylim=(0, 1), ylabel="probability", title=f"top {len(top)} classes; shaded: detected events"
    )
    axes[0].legend(loc="upper right")
    axes[1].set(
        xlabel="time (s)",
        ylabel="attention",
        title="attention weights (finest head; each window sums to 1)",
    )
    return figure


def run_labels(model, model_path) -> list[str]:
    """The class names in the labels.txt beside the model (its run directory), else "class k"."""
    from keras_rawaudio.data.reading import read_labels

    run = pathlib.Path(model_path).parent
    if not (run / "labels.txt").is_file():
        return [f"class {k}" for k in range(model.config.num_classes)]
    labels = read_labels(run)
    if len(labels) != model.config.num_classes:
        raise InputError(
            f"{run / 'labels.txt'} names {len(labels)} classes; the model has "
            f"{model.config.num_classes}"
        )
    return labels


def explain(
    model_path,
    audio_path,
    out_dir,
    window_seconds=None,
    threshold=None,
    min_duration=0.1,
    top_k=5,
) -> dict:
    """Writes the files of the module docstring; returns {"events": [...], "filterbank": rows or
    None}. Events follow the run's event rule (event_rule.json beside the model; none: 0.5 for
    every class), `threshold` for every class if given, with `min_duration`.

    Example: `explain("runs/esc50/best.keras", "street.wav", "explain")`.
    """
    from keras_rawaudio.models import load_classifier
    from keras_rawaudio.train.run_directory import scoring_window

    model = load_classifier(model_path)
    labels = run_labels(model, model_path)
    rule = read_rule(pathlib.Path(model_path).parent, len(labels)) or EventRule.uniform(len(labels))
    if threshold is not None:
        rule = rule.with_threshold(threshold)
    rule = rule.replace(min_duration=min_duration)
    rate = model.config.sample_rate
    window = scoring_window(model, model_path, window_seconds) or rate
    if window < model.config.min_samples:
        raise InputError(
            f"--window_seconds: {window / rate:g} s is shorter than the model's minimum input "
            f"({model.config.min_samples / rate:g} s)"
        )
    out = check_directory(out_dir, "out_dir")
    try:
        start = read_start(
            audio_path, rate, IMAGE_SECONDS
        )  # unreadable audio stops here, before any file
    except AudioError as error:
        raise AudioError(f"--audio {audio_path}: {error}") from None
    try:
        out.mkdir(parents=True, exist_ok=True)
        return write_explanation(model, labels, audio_path, start, window, out, rule, top_k)
    except OSError as error:
        raise RunError(f"cannot write {out}: {error.strerror or error}") from None


def write_explanation(model, labels, audio_path, start, window, out, rule, top_k) -> dict:
    """The work of `explain` once its inputs are checked: the files, then the result dict."""
    import matplotlib.pyplot as plt

    times, probabilities, attention = frame_scores(model, audio_path, window)
    events = frame_events(times, probabilities, labels, rule)
    found = [e.to_dict() for e in events]
    filterbank, rows = filterbank_figure(model)
    figures = {  # everything computed before the first file is written
        "filterbank.png": filterbank,
        "image.png": image_figure(model, start),
        "timeline.png": timeline_figure(
            times, probabilities, attention, labels, events, rule, top_k
        ),
    }
    for name, figure in figures.items():
        save_figure(figure, out / name, dpi=80, bbox_inches="tight")
    plt.close("all")
    if rows is not None:
        write_csv(out / "filterbank.csv", ["channel", "centre_hz", "bandwidth_hz"], rows)
    write_csv(out / "events.csv", ["onset", "offset", "label", "score"], found)
    write_atomic(
        out / "events.json",
        json.dumps(
            {"audio": str(audio_path), "event_rule": dataclasses.asdict(rule), "events": found},
            indent=2,
        ),
    )
    return {"events": found, "filterbank": rows, "seconds": float(times[-1]) if len(times) else 0.0}


def define_flags():
    from absl import flags

    flags.DEFINE_string(
        "model", None, "A keras_rawaudio .keras model (e.g. RUN/best.keras).", required=True
    )
    flags.DEFINE_string(
        "audio", None, "A recording of any length (WAV, FLAC, OGG, MP3, ...).", required=True
    )
    flags.DEFINE_string(
        "out_dir", None, "Where the pictures, CSVs and events.json go.", required=True
    )
    flags.DEFINE_float(
        "window_seconds",
        None,
        "Analysis window (default: the run's training window).",
        lower_bound=0.1,
    )
    flags.DEFINE_float(
        "threshold",
        None,
        "Events: one threshold for every class (default: the run's per-class thresholds, "
        "event_rule.json, else 0.5).",
        lower_bound=0.001,
        upper_bound=1,
    )
    flags.DEFINE_float("min_duration", 0.1, "Events: at least this many seconds.", lower_bound=0)
    flags.DEFINE_integer("top_k", 5, "Classes drawn in timeline.png.", lower_bound=1)


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    result = explain(
        FLAGS.model,
        FLAGS.audio,
        FLAGS.out_dir,
        FLAGS.window_seconds,
        FLAGS.threshold,
        FLAGS.min_duration,
        FLAGS.top_k,
    )
    print(
        f"{len(result['events'])} events in {result['seconds']:.1f} s; wrote filterbank.png"
        f"{', filterbank.csv' if result['filterbank'] else ''}, image.png, timeline.png, "
        f"events.csv, events.json "
        f"to {FLAGS.out_dir}"
    )
    return 0


def entry():
    cli.run(main, define_flags)


if __name__ == "__main__":
    entry()
