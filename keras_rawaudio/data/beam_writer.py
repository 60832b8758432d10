"""`make_tfrecords` as an Apache Beam pipeline, for datasets that outgrow one machine.

  python -m keras_rawaudio.make_tfrecords --layout=... --input_dir=... --output_dir=gs://B/data \\
      --runner=DataflowRunner -- --project=P --region=R --temp_location=gs://B/tmp

Writes what the local writer (`keras_rawaudio.data.writer`) writes: the same records in
the same splits, shards named `<split>-NNNNN-of-MMMMM.tfrecord` with as many shards per split
(clips are spread over them by the runner, not in the local writer's order), `labels.txt` and
`dataset_info.json` with the same counts and skipped files. Each file goes through the same
per-clip step (`audio_io.prepare_clip`, then `writer.clip_records`); files that cannot
be decoded go to a dead-letter output that ends up in `dataset_info.json`'s "skipped". Audio
and outputs go through Beam's `FileSystems`, so gs:// and s3:// paths work where the runner has
those filesystems (the listing itself reads --input_dir and --meta as local paths, as the
local writer does). Arguments after `--` are Beam pipeline options, passed on as they are.
A Beam run is not resumable shard by shard as the local one is: the runner retries failed
work, and a second run into the same --output_dir needs --overwrite.
"""

import io
import json
import logging

from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.layouts import SPLITS, Listing

# Runners Beam ships; any other name is a typo, stopped before a pipeline is built.
RUNNERS = (
    "DirectRunner",
    "PrismRunner",
    "DataflowRunner",
    "FlinkRunner",
    "SparkRunner",
    "PortableRunner",
)
# Pipeline options without which a runner cannot start (Beam would fail later, in many lines).
REQUIRED_OPTIONS = {
    "DataflowRunner": ("project", "region", "temp_location"),
    "PortableRunner": ("job_endpoint",),
}


def pipeline_options(runner: str, args=()):
    """Beam `PipelineOptions` for `runner` and pass-through `args` (`--name=value` strings)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    if runner not in RUNNERS:
        raise InputError(f"--runner={runner}: not a Beam runner; choose from {', '.join(RUNNERS)}")
    malformed = [a for a in args if not a.startswith("--")]
    if malformed:
        raise InputError(f"pipeline options after -- must be --name=value, got {malformed[0]!r}")
    options = PipelineOptions([f"--runner={runner}", *args])
    given = options.get_all_options()
    missing = [f"--{name}" for name in REQUIRED_OPTIONS.get(runner, ()) if not given.get(name)]
    if missing:
        raise InputError(
            f"--runner={runner} needs the pipeline options {', '.join(missing)} (after --)"
        )
    return options


def read_and_prepare(path, sample_rate, window_samples, policy):
    """`prepare_clip` of a file read through Beam's FileSystems (local, gs://, s3://, ...)."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    from keras_rawaudio.audio_io import prepare_clip

    if not FileSystems.exists(path):
        return "missing file"
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
        content = io.BytesIO(file.read())
    return prepare_clip(content, sample_rate, window_samples, policy)


def _prepare_fn(vocabulary, options):
    """The per-file step: (split, item) → records tagged by split, its stats, or a dead letter."""
    import apache_beam as beam

    from keras_rawaudio.data.writer import clip_records, clip_stats

    index = {name: i for i, name in enumerate(vocabulary)}
    window = round(options.clip_seconds * options.sample_rate)

    def prepare(element):
        split, item = element
        prepared = read_and_prepare(item.path, options.sample_rate, window, options.long_clips)
        if isinstance(prepared, str):
            yield beam.pvalue.TaggedOutput("skipped", {"file": item.path, "reason": prepared})
            return
        for record in clip_records(item, prepared, index, options.sample_rate):
            yield beam.pvalue.TaggedOutput(split, record)
        yield beam.pvalue.TaggedOutput(
            "stats", (split, clip_stats(item, prepared, options.sample_rate))
        )

    return prepare


def _read_json_lines(pattern) -> list:
    from apache_beam.io.filesystems import FileSystems

    values = []
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(metadata.path) as file:
            values += [
                json.loads(line) for line in file.read().decode().splitlines() if line.strip()
            ]
    return values


def _write_text(path, text):
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(path) as file:
        file.write(text.encode())


def write_tfrecords_beam(
    listing: Listing,
    output_dir: str,
    options,
    runner: str,
    args=(),
    overwrite=False,
    description=None,
) -> dict:
    """Writes `listing` as the local writer does, on a Beam runner; returns the dataset_info dict.

    Example: `write_tfrecords_beam(listing, "out", WriteOptions(), "DirectRunner")`.
    """
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.io.tfrecordio import WriteToTFRecord

    from keras_rawaudio.data.writer import dataset_info, merge_stats, shard_plan

    beam_options = pipeline_options(runner, args)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # not every shard rename
    existing = FileSystems.match([FileSystems.join(output_dir, "*.tfrecord")])[0].metadata_list
    if existing and not overwrite:
        raise InputError(
            f"--output_dir {output_dir} already holds records; pass --overwrite to replace them"
        )
    for metadata in existing:
        FileSystems.delete([metadata.path])
    shards = {
        split: len(plan) for split, plan in shard_plan(listing, options).items()
    }  # the local writer's counts
    work = FileSystems.join(output_dir, "beam_stats")
    try:
        with beam.Pipeline(options=beam_options) as pipeline:
            outputs = (
                pipeline
                | "list" >> beam.Create([(item.split, item) for item in listing.items])
                | "decode and serialise"
                >> beam.FlatMap(_prepare_fn(listing.vocabulary, options)).with_outputs(
                    "skipped", "stats", *SPLITS
                )
            )
            for split, count in shards.items():
                if count:
                    _ = outputs[split] | f"write {split}" >> WriteToTFRecord(
                        FileSystems.join(output_dir, split),
                        file_name_suffix=".tfrecord",
                        num_shards=count,
                        shard_name_template="-SSSSS-of-NNNNN",
                    )
            _ = (
                outputs.stats
                | "sum per split" >> beam.CombinePerKey(merge_stats)
                | "stats as json"
                >> beam.MapTuple(lambda split, stats: json.dumps({"split": split, **stats}))
                | "write stats"
                >> beam.io.WriteToText(FileSystems.join(work, "splits"), file_name_suffix=".jsonl")
            )
            _ = (
                outputs.skipped
                | "skipped as json" >> beam.Map(json.dumps)
                | "write skipped"
                >> beam.io.WriteToText(FileSystems.join(work, "skipped"), file_name_suffix=".jsonl")
            )
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 - a runner raises its own types
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise RunError(f"the {runner} pipeline failed: {first}") from None

    splits = {}
    for entry in _read_json_lines(FileSystems.join(work, "splits*")):
        splits[entry["split"]] = entry | {"shards": shards[entry["split"]]}
    for split, count in shards.items():
        if count and split not in splits:  # every file of the split was skipped
            splits[split] = merge_stats([]) | {"shards": count}
    skipped = sorted(_read_json_lines(FileSystems.join(work, "skipped*")), key=lambda s: s["file"])
    FileSystems.delete(
        [m.path for m in FileSystems.match([FileSystems.join(work, "*")])[0].metadata_list]
    )
    if FileSystems.exists(work):  # a local directory; object stores have no empty "directories"
        FileSystems.delete([work])
    info = dataset_info(
        listing,
        options,
        {split: splits[split] for split in SPLITS if split in splits},
        skipped,
        description,
    )
    _write_text(
        FileSystems.join(output_dir, "labels.txt"),
        "".join(f"{name}\n" for name in listing.vocabulary),
    )
    _write_text(FileSystems.join(output_dir, "dataset_info.json"), json.dumps(info, indent=2))
    return info
