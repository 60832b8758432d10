"""Writes a `Listing` as sharded TFRecords: parallel decoding, streaming, resumable
(`make_tfrecords` is what the command and the demo call; `write_tfrecords` is its local writer,
`beam_writer` the Apache Beam one).

Output in `output_dir`: `<split>-NNNNN-of-MMMMM.tfrecord`, `labels.txt`, `dataset_info.json`,
and `shard_stats/` (one small JSON per finished shard, from which the info file is built).

A shard is written to a temporary file and renamed when complete, so a run killed at any
moment loses at most the shards in flight; the same command skips finished shards, and
because the shard plan is a deterministic function of the listing and the options, the
resumed output equals an uninterrupted run's.
"""

import collections
import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import pathlib
import random

import tensorflow as tf
from tqdm import tqdm

from keras_rawaudio.audio_io import prepare_clip
from keras_rawaudio.data.records import RECORD_FORMAT, serialize
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.files import (
    DirectoryLock,
    atomic_path,
    read_json,
    read_lines,
    remove_partial_files,
    write_atomic,
)
from keras_rawaudio.layouts import SPLITS, Listing
from keras_rawaudio.processes import worker_pool


@dataclasses.dataclass(frozen=True)
class WriteOptions:
    sample_rate: int = 16000
    clip_seconds: float = 10.0
    long_clips: str = "split"  # or "crop"
    files_per_shard: int = 256
    seed: int = 0


class WriteError(InputError):
    """The output directory cannot be written as asked; the message says what to do."""


def shard_plan(listing: Listing, options: WriteOptions) -> dict[str, list[list]]:
    """{split: [[item, ...] per shard]}: items shuffled with the seed, then cut into shards."""
    plan = {}
    for split in SPLITS:
        items = [item for item in listing.items if item.split == split]
        random.Random(f"{options.seed}/{split}").shuffle(items)
        count = math.ceil(len(items) / options.files_per_shard)
        plan[split] = [
            items[k * options.files_per_shard : (k + 1) * options.files_per_shard]
            for k in range(count)
        ]
    return plan


def _fingerprint(listing: Listing, options: WriteOptions) -> str:
    content = json.dumps(
        [
            RECORD_FORMAT,
            listing.vocabulary,
            [dataclasses.astuple(i) for i in listing.items],
            dataclasses.asdict(options),
        ]
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _prepare_output(output_dir: pathlib.Path, fingerprint: str, overwrite: bool):
    """Checks the directory holds nothing from other inputs (or clears it with overwrite)."""
    (output_dir / "shard_stats").mkdir(parents=True, exist_ok=True)
    for directory in (output_dir, output_dir / "shard_stats"):
        remove_partial_files(directory)  # what a killed run was writing
    stamp = output_dir / "shard_stats" / "plan.sha256"
    old = [*output_dir.glob("*.tfrecord"), *(output_dir / "shard_stats").glob("*.json")]
    if overwrite:
        for path in old:
            path.unlink()
    elif old and (not stamp.exists() or read_lines(stamp) != [fingerprint]):
        raise WriteError(
            f"--output_dir {output_dir} holds records made from other files or flags; "
            "pass --overwrite to replace them"
        )
    write_atomic(stamp, fingerprint)


def _decode_in_parallel(items, options: WriteOptions, workers: int):
    """Yields (item, prepare_clip result) in order, at most 4 files per worker in flight."""
    window = round(options.clip_seconds * options.sample_rate)
    args = lambda item: (item.path, options.sample_rate, window, options.long_clips)  # noqa: E731
    if workers <= 1:
        for item in items:
            yield item, prepare_clip(*args(item))
        return
    # Spawned workers import keras_rawaudio.audio_io and .processes only, which do not load
    # TensorFlow; they end with this process even if it is killed.
    with worker_pool(workers) as pool:
        pending = collections.deque()
        for item in items:
            pending.append((item, pool.submit(prepare_clip, *args(item))))
            if len(pending) >= 4 * workers:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        for item, future in pending:
            yield item, future.result()


def write_tfrecords(
    listing: Listing,
    output_dir,
    options: WriteOptions,
    workers=None,
    overwrite=False,
    description=None,
):
    """Converts `listing` into TFRecords in `output_dir`; returns the dataset_info dict."""
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with DirectoryLock(output_dir, "output_dir"):
        return _write_locked(listing, output_dir, options, workers, overwrite, description)


def _write_locked(listing, output_dir, options, workers, overwrite, description):
    """write_tfrecords, in the output directory it holds locked."""
    _prepare_output(output_dir, _fingerprint(listing, options), overwrite)
    workers = workers or os.cpu_count()
    index = {name: i for i, name in enumerate(listing.vocabulary)}
    shards = [
        (output_dir / f"{split}-{k:05d}-of-{len(shards):05d}.tfrecord", shard)
        for split, shards in shard_plan(listing, options).items()
        for k, shard in enumerate(shards)
    ]
    todo = [(path, shard) for path, shard in shards if not path.exists()]
    stream = _decode_in_parallel([item for _, shard in todo for item in shard], options, workers)
    total = sum(len(shard) for _, shard in todo)
    with (
        contextlib.closing(stream),
        tqdm(total=total, unit="file", desc="decoding", dynamic_ncols=True) as progress,
    ):
        for path, shard in todo:
            _write_shard(path, itertools.islice(stream, len(shard)), index, options, progress)

    info = _dataset_info(output_dir, listing, options, [p for p, _ in shards], description)
    write_atomic(output_dir / "labels.txt", "".join(f"{name}\n" for name in listing.vocabulary))
    write_atomic(output_dir / "dataset_info.json", json.dumps(info, indent=2))
    return info


def _write_shard(path: pathlib.Path, decoded, index, options: WriteOptions, progress):
    """Writes one shard's (item, prepare_clip result) pairs to a temporary file, then its
    stats, then renames the file into place: a shard exists only once it is complete."""
    stats = merge_stats([]) | {"skipped": []}
    try:
        with atomic_path(path) as temporary:
            _write_records(temporary, decoded, index, options, progress, stats)
            write_atomic(path.parent / "shard_stats" / f"{path.stem}.json", json.dumps(stats))
    except (
        OSError,
        tf.errors.OpError,
    ) as error:  # a full disk: TensorFlow raises ResourceExhaustedError
        reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
        raise RunError(
            f"cannot write {path}: {reason.splitlines()[0][:200]}; the finished shards are intact, "
            "and the same command resumes once there is room"
        ) from None


def clip_records(item, prepared, index, sample_rate) -> list[bytes]:
    """The serialised records of one listed file from its `prepare_clip` result: one per stored
    window. With `prepare_clip`, the one per-clip step of the local writer and of the Beam
    pipeline (`keras_rawaudio.beam_writer`)."""
    pieces, duration = prepared
    labels = [index[label] for label in item.labels]
    return [
        serialize(
            audio,
            labels,
            len(index),
            item.clip_id if len(pieces) == 1 else f"{item.clip_id}#{n}",
            item.clip_id,
            duration,
            start,
            sample_rate,
        )
        for n, (start, audio) in enumerate(pieces)
    ]


def clip_stats(item, prepared, sample_rate) -> dict:
    """What one written file adds to its split's counts in dataset_info.json."""
    pieces, _ = prepared
    return {
        "clips": len(pieces),
        "files": 1,
        "seconds": sum(len(audio) / 2 / sample_rate for _, audio in pieces),
        "classes": collections.Counter({label: len(pieces) for label in item.labels}),
    }


def merge_stats(stats) -> dict:
    """The sum of `clip_stats` dicts (and of already merged ones)."""
    total = {"clips": 0, "files": 0, "seconds": 0.0, "classes": collections.Counter()}
    for part in stats:
        for key in ("clips", "files", "seconds"):
            total[key] += part[key]
        total["classes"].update(part["classes"])
    return total


def _write_records(temporary, decoded, index, options: WriteOptions, progress, stats):
    with tf.io.TFRecordWriter(str(temporary)) as writer:
        for item, result in decoded:
            progress.update()
            if isinstance(result, str):
                stats["skipped"].append({"file": item.path, "reason": result})
                continue
            for record in clip_records(item, result, index, options.sample_rate):
                writer.write(record)
            stats.update(merge_stats([stats, clip_stats(item, result, options.sample_rate)]))


def _dataset_info(output_dir, listing, options, shard_paths, description) -> dict:
    splits, skipped = {}, []
    for path in shard_paths:
        stats = read_json(
            output_dir / "shard_stats" / f"{path.stem}.json",
            dict,
            "run make_tfrecords again with --overwrite",
            ("clips", "files", "seconds", "classes", "skipped"),
        )
        splits.setdefault(path.name.split("-")[0], []).append(stats)
        skipped += stats["skipped"]
    return dataset_info(
        listing,
        options,
        {split: merge_stats(parts) | {"shards": len(parts)} for split, parts in splits.items()},
        skipped,
        description,
    )


def dataset_info(listing, options, splits, skipped, description) -> dict:
    """The dataset_info.json dict: `splits` {split: merged stats with "shards"}, `skipped` the
    files that could not be decoded (after the listing's own skipped entries)."""
    splits = {
        split: {
            "clips": s["clips"],
            "files": s["files"],
            "seconds": round(s["seconds"], 3),
            "shards": s["shards"],
            "classes": dict(sorted(s["classes"].items())),
        }
        for split, s in splits.items()
    }
    return {
        "record_format": RECORD_FORMAT,
        "sample_rate": options.sample_rate,
        "clip_seconds": options.clip_seconds,
        "long_clips": options.long_clips,
        "num_classes": len(listing.vocabulary),
        "splits": splits,
        "total_seconds": round(sum(s["seconds"] for s in splits.values()), 3),
        "skipped": list(listing.skipped) + skipped,
        **(description or {}),
    }


def make_tfrecords(
    listing: Listing,
    output_dir,
    options: WriteOptions,
    workers=0,
    overwrite=False,
    description=None,
) -> dict:
    """Writes `listing` (see `write_tfrecords`); raises InputError if no clip was usable and
    RunError naming `output_dir` if it cannot be written."""
    try:
        info = write_tfrecords(listing, output_dir, options, workers, overwrite, description)
    except OSError as error:
        raise RunError(f"cannot write {output_dir}: {error.strerror or error}") from None
    check_usable(info)
    return info


def check_usable(info: dict):
    """InputError if no clip of the dataset could be written."""
    if not any(s["clips"] for s in info["splits"].values()):
        reasons = sorted({s["reason"] for s in info["skipped"]})[:3]
        raise InputError(f"no usable clip ({'; '.join(reasons) or 'no audio files found'})")


def summary(info: dict, output_dir) -> str:
    """One line: the clips written per split, their hours, and how many files were skipped."""
    parts = [f"{split} {s['clips']} clips" for split, s in info["splits"].items() if s["clips"]]
    line = f"wrote {', '.join(parts)} ({info['total_seconds'] / 3600:.2f} h) to {output_dir}"
    if info["skipped"]:
        line += f"; skipped {len(info['skipped'])} files (reasons in dataset_info.json)"
    return line
