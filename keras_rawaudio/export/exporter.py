"""`export`: converts, checks and reports every mode; keeps only the files that pass."""

import dataclasses
import json

import numpy as np

from keras_rawaudio.clip_metrics import clip_metrics
from keras_rawaudio.data.reading import reading_shards, score_split
from keras_rawaudio.edge import EdgeClassifier, EdgeModelError
from keras_rawaudio.edge.metadata import describe
from keras_rawaudio.errors import InputError, check_choices
from keras_rawaudio.export.checks import (
    Reference,
    build_reference,
    calibration_windows,
    file_problems,
)
from keras_rawaudio.export.convert import INTEGER_MODES, MODES, ExportError, convert
from keras_rawaudio.export.quantize import default_percentile, float_layers
from keras_rawaudio.export.report import latency_ms, metadata_summary, report_markdown
from keras_rawaudio.files import atomic_path, check_directory, remove_partial_files, write_atomic
from keras_rawaudio.scoring import DEFAULT_COMBINE


def export(
    model_path,
    data_dir,
    output_dir,
    modes=MODES,
    window_seconds=None,
    calibration_windows_count=200,
    latency_runs=50,
    calibration_percentile=None,
    hop_seconds=None,
    combine=DEFAULT_COMBINE,
    name=None,
    version="1",
):
    """Converts, checks and reports every mode; returns the report dict.

    int8 is calibrated on `calibration_windows_count` random training windows, each
    activation's range covering its central `calibration_percentile` % (see `activation_range`;
    None: `default_percentile`).
    Files that pass their checks are kept and reported even when another mode fails; then
    ExportError names every failure.

    Example: `export("runs/esc50/best.keras", "data/esc50", "tflite", ["float32", "int8"])`.
    """
    check_choices("quantize", modes, MODES, "modes")
    for flag, value in (("name", name), ("version", version)):
        if value is not None and not value.strip():
            raise InputError(f"--{flag} is empty: the files' metadata needs one")
    output_dir = check_directory(output_dir, "output_dir")
    reference = build_reference(
        model_path, data_dir, window_seconds, hop_seconds, combine, name, version
    )
    window = reference.windowing.window
    sample_rate = reference.model.config.sample_rate
    with reading_shards(data_dir, "train"):
        calibration = (
            calibration_windows(data_dir, window / sample_rate, calibration_windows_count)
            if set(modes) & set(INTEGER_MODES)
            else None
        )

    output_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(output_dir, ("model_*.tflite", "labels.txt", "export_report.*"))
    report = {
        "model": str(model_path),
        "window_samples": window,
        "sample_rate": sample_rate,
        "scoring": dataclasses.asdict(reference.windowing)
        | {"hop": reference.windowing.hop_samples},
        "keras": {
            "val_mAP": reference.val_metrics["mAP"],
            "val_accuracy": reference.val_metrics["accuracy"],
        },
        "files": {},
    }
    if calibration is not None:
        if calibration_percentile is None:
            calibration_percentile = default_percentile(reference.model)
        report["int8"] = {
            "calibration_percentile": calibration_percentile,
            "float_layers": list(float_layers(reference.model)),
        }
    failures, converted = [], {}
    for mode in modes:
        print(f"{mode}: converting", flush=True)
        try:
            report["files"][mode] = export_mode(
                mode,
                reference,
                output_dir,
                calibration,
                calibration_percentile,
                latency_runs,
                converted,
            )
        except ExportError as error:
            failures.append(str(error))
            print(f"{mode}: FAILED: {error}", flush=True)
    write_atomic(output_dir / "labels.txt", "".join(f"{name}\n" for name in reference.class_names))
    write_atomic(output_dir / "export_report.json", json.dumps(report, indent=2))
    write_atomic(output_dir / "export_report.md", report_markdown(report))
    if failures:
        raise ExportError(
            " | ".join(failures) + f" (the other files and the report are in {output_dir})"
        )
    return report


def export_mode(
    mode,
    reference: Reference,
    output_dir,
    calibration=None,
    percentile=None,
    latency_runs=50,
    converted=None,
) -> dict:
    """Converts one mode (`converted` as `convert` says), checks it against `reference`, and keeps
    the file only if every check passes; returns its report entry."""
    final = output_dir / f"model_{mode}.tflite"
    content = describe(
        convert(reference.model, mode, calibration, percentile, converted),
        reference.description(mode),
    )
    with atomic_path(final) as temporary:  # renamed into place only if every check passes
        temporary.write_bytes(content)
        try:
            runner = EdgeClassifier(temporary)
        except EdgeModelError as error:
            raise ExportError(f"{mode}: LiteRT cannot run the converted file: {error}") from None
        probe_scores = runner.predict(reference.probes)
        _, val_scores = score_split(runner.predict, reference.data_dir, "val", reference.windowing)
        problems = file_problems(runner, mode, reference, probe_scores, val_scores)
        if problems:
            raise ExportError(f"{mode}: the exported file fails its checks: {'; '.join(problems)}")
    result = clip_metrics(reference.val_labels, val_scores)
    difference = float(np.abs(probe_scores - reference.probe_scores).max())
    print(
        f"{mode}: {final} ({final.stat().st_size / 1024:.0f} KiB), val mAP {result['mAP']:.4f} "
        f"(Keras {reference.val_metrics['mAP']:.4f}), max |Δ| {difference:.2g}",
        flush=True,
    )
    return {
        "file": final.name,
        "bytes": final.stat().st_size,
        "ops": runner.ops(),
        "input": {
            "name": runner.input["name"],
            "shape": runner.input["shape"].tolist(),
            "dtype": runner.input["dtype"].__name__,
        },
        "output": {
            "name": runner.output["name"],
            "shape": runner.output["shape"].tolist(),
            "dtype": runner.output["dtype"].__name__,
        },
        "metadata": metadata_summary(runner.description),
        "signatures": runner.signatures,
        "max_abs_difference": difference,
        "val_mAP": result["mAP"],
        "val_accuracy": result["accuracy"],
        "latency_ms": {
            f"{n}_threads": latency_ms(final, reference.windowing.window, n, latency_runs)
            for n in (1, 2)
        },
    }
