"""make_tfrecords on Apache Beam (DirectRunner) writes what the local writer writes."""

import json

import numpy as np
import pytest

from conftest import read_records, run_module


def test_direct_runner_writes_the_local_writers_records(class_folders, tmp_path):
    args = [
        "--layout=folders",
        f"--input_dir={class_folders}",
        "--files_per_shard=2",
        "--clip_seconds=1",
        "--val_fraction=0.25",
        "--test_fraction=0.25",
    ]
    local, beam = tmp_path / "local", tmp_path / "beam"
    assert (
        run_module("make_tfrecords", *args, f"--output_dir={local}", "--workers=1").returncode == 0
    )
    result = run_module(
        "make_tfrecords",
        *args,
        f"--output_dir={beam}",
        "--runner=DirectRunner",
        "--",
        "--direct_num_workers=2",
    )
    assert result.returncode == 0, result.stderr
    assert (
        (beam / "labels.txt").read_text()
        == (local / "labels.txt").read_text()
        == "beep\nbuzz\nhum\n"
    )
    assert sorted(p.name for p in beam.glob("*.tfrecord")) == sorted(
        p.name for p in local.glob("*.tfrecord")
    )
    assert sorted(p.name for p in beam.iterdir()) == [
        "dataset_info.json",
        "labels.txt",
        *sorted(p.name for p in local.glob("*.tfrecord")),
    ]

    local_records, beam_records = read_records(local, 3), read_records(beam, 3)
    assert (
        local_records.keys() == beam_records.keys() and len(local_records) == 15
    )  # 12 files, 3 of them two windows
    for clip_id, (waveform, multi_hot, shard, recording, start) in local_records.items():
        other = beam_records[clip_id]
        np.testing.assert_array_equal(other[0], waveform)
        np.testing.assert_array_equal(other[1], multi_hot)
        assert other[2].split("-")[0] == shard.split("-")[0]  # the same split
        assert (other[3], other[4]) == (recording, start)

    local_info, beam_info = (
        json.loads((d / "dataset_info.json").read_text()) for d in (local, beam)
    )
    assert beam_info["splits"] == local_info["splits"]
    assert beam_info["total_seconds"] == local_info["total_seconds"]
    by_file = lambda info: sorted(info["skipped"], key=lambda s: s["file"])  # noqa: E731
    assert (
        by_file(beam_info) == by_file(local_info) and len(local_info["skipped"]) == 2
    )  # the dead letters

    again = run_module("make_tfrecords", *args, f"--output_dir={beam}", "--runner=DirectRunner")
    assert (
        again.returncode == 2
        and "already holds records; pass --overwrite" in again.stderr.strip().splitlines()[-1]
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--runner=DirectRuner"],
            "--runner=DirectRuner: not a Beam runner; choose from DirectRunner, ",
        ),
        (
            ["--runner=DataflowRunner", "--", "--project=p"],
            "--runner=DataflowRunner needs the pipeline options "
            "--region, --temp_location (after --)",
        ),
        (
            ["--runner=DirectRunner", "--", "direct_num_workers=2"],
            "pipeline options after -- must be --name=value",
        ),
        (
            ["--", "--project=p"],
            "unexpected arguments: --project=p (pipeline options after -- need --runner)",
        ),
    ],
)
def test_bad_runner_or_options_are_one_line_and_write_nothing(
    class_folders, tmp_path, extra, message
):
    result = run_module(
        "make_tfrecords",
        "--layout=folders",
        f"--input_dir={class_folders}",
        f"--output_dir={tmp_path / 'out'}",
        *extra,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"make_tfrecords: error: {message}")
    assert not (tmp_path / "out").exists()
