"""The export report: each file's size, checks, metadata and latency, as JSON and Markdown."""

import dataclasses
import time

import numpy as np

from keras_rawaudio.edge import EdgeClassifier
from keras_rawaudio.edge.metadata import ModelDescription


def latency_ms(path, window, threads, runs):
    runner = EdgeClassifier(path, num_threads=threads)
    x = np.zeros((1, window), np.float32)
    runner.predict(x)
    start = time.perf_counter()
    for _ in range(runs):
        runner.predict(x)
    return (time.perf_counter() - start) / runs * 1000


def metadata_summary(description: ModelDescription) -> dict:
    """What a file's metadata says, for the report (the labels as their count and file)."""
    summary = dataclasses.asdict(description)
    labels = summary.pop("labels")
    return summary | {"labels_count": len(labels)}


def report_markdown(report) -> str:
    seconds = report["window_samples"] / report["sample_rate"]
    lines = [
        f"Export of {report['model']}: fixed input (1, {report['window_samples']}) = {seconds:g} s "
        f"at "
        f"{report['sample_rate']} Hz (float32 in [-1, 1]; int16 PCM for int8_pcm16); output (1, "
        f"classes) "
        "float32 probabilities.",
        f"Keras model: val mAP {report['keras']['val_mAP']:.4f}, val accuracy "
        f"{report['keras']['val_accuracy']:.4f}.",
        *(
            [
                "Integer files: activation ranges cover the central "
                f"{report['int8']['calibration_percentile']:g} % of the "
                "calibration values; layers kept in float32: "
                f"{', '.join(report['int8']['float_layers']) or 'none'}."
            ]
            if "int8" in report
            else []
        ),
        "",
        "| file | size KiB | val mAP | val accuracy | max abs Δ vs Keras | ms/window 1 thread | 2 "
        "threads |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["files"].values():
        lines.append(
            f"| {r['file']} | {r['bytes'] / 1024:.0f} | {r['val_mAP']:.4f} | "
            f"{r['val_accuracy']:.4f} | "
            f"{r['max_abs_difference']:.2g} | {r['latency_ms']['1_threads']:.2f} | "
            f"{r['latency_ms']['2_threads']:.2f} |"
        )
    lines += [
        "",
        "Ops: " + ", ".join(sorted({op for r in report["files"].values() for op in r["ops"]})),
    ]
    for r in report["files"].values():
        m = r["metadata"]
        lines.append(
            f"{r['file']}: metadata {m['name']!r} version {m['version']!r}, input "
            f"`{m['input_name']}` "
            f"{m['sample_rate']} Hz × {m['channels']}, output `{m['output_name']}` with "
            f"{m['labels_file']} "
            f"({m['labels_count']} labels) packed in; signatures {', '.join(r['signatures'])}"
        )
    return "\n".join(lines) + "\n"
