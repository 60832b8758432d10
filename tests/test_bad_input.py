"""The bad-input catalogue: one table per entry point (data prep, train, ablate, evaluate, export,
demo, classify, evaluate_streams) and one for the Python API.

Every command-line case must end with exit status 2 (bad input or usage) and one last stderr line
`<stage>: error: ...` naming the flag, file or row and what is wrong; never a traceback; and it
must write nothing: its own output path stays absent (unless the row says the failure comes after
the run directory was made) and the shared inputs keep their bytes. The cases of one entry point
run in one Python process (`CASE_RUNNER`), so the catalogue costs one TensorFlow start-up rather
than one per case.
"""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import ROOT, write_tone
from keras_rawaudio import data, presets, train
from keras_rawaudio.edge import EdgeClassifier
from keras_rawaudio.files import DirectoryLock
from keras_rawaudio.models import load_classifier

# One worker runs the whole catalogue (under `make test`'s two pytest-xdist workers), so that its
# module fixtures, which run every command-line case, run once.
pytestmark = pytest.mark.xdist_group("bad_input")

# Runs each JSON [stage, argv] line of stdin through `cli.run` of keras_rawaudio.<stage>, as the
# command line would: flags reset between cases, and a stage's flags removed before the next
# stage defines its own. Prints the digest of every file under the inputs' root, then [exit
# status, stderr, that digest again] per case; an exception escaping `cli.run` is the status
# "traceback".
CASE_RUNNER = """
import contextlib, hashlib, importlib, io, json, pathlib, sys, traceback
from absl import flags
from keras_rawaudio import cli
root = pathlib.Path(sys.argv[1])

def inputs_digest():
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()

print(json.dumps(inputs_digest()), flush=True)
defined, stage_flags = None, set()
for line in sys.stdin:
    stage, argv = json.loads(line)
    if stage != defined:
        for name in stage_flags:
            delattr(flags.FLAGS, name)
        module = importlib.import_module(f"keras_rawaudio.{stage}")
        if hasattr(module, "__path__"):  # a package: its command is its __main__
            module = importlib.import_module(f"keras_rawaudio.{stage}.__main__")
        before = set(flags.FLAGS)
        module.define_flags()
        defined, stage_flags = stage, set(flags.FLAGS) - before
    flags.FLAGS.unparse_flags()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.run(module.main, lambda: None, [stage, *argv])
            status = 0
        except SystemExit as exit:
            status = exit.code
        except BaseException:
            status = "traceback"
            traceback.print_exc()
    print(json.dumps([status, stderr.getvalue(), inputs_digest()]), flush=True)
"""

# (id, argv; {name} is a path of `inputs`, {out} the case's own output path, message regex,
#  whether the case may leave its output path behind).
MAKE_TFRECORDS = [
    (
        "meta_with_folders",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--meta={meta}"],
        r"--meta does not apply to --layout=folders \(it is for esc50, csv\)$",
        False,
    ),
    (
        "val_folds_with_folders",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--val_folds=1"],
        r"--val_folds does not apply to --layout=folders \(it is for esc50\)$",
        False,
    ),
    (
        "classes_differ_in_case",
        ["--layout=folders", "--input_dir={cased}", "--output_dir={out}"],
        r"class names differ only in case: 'A' and 'a' \(rename one, or merge them\)$",
        False,
    ),
    (
        "hidden_folders_only",
        ["--layout=folders", "--input_dir={hidden_only}", "--output_dir={out}"],
        r"--input_dir .*hidden_only has no class folders$",
        False,
    ),
    (
        "output_dir_in_use",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={busy}"],
        r"--output_dir .*busy is in use by another process",
        False,
    ),
    (
        "no_class_folders",
        ["--layout=folders", "--input_dir={missing}", "--output_dir={out}"],
        r"--input_dir .*missing has no class folders",
        False,
    ),
    (
        "meta_missing",
        ["--layout=esc50", "--input_dir={audio}", "--meta={missing}", "--output_dir={out}"],
        r"cannot read .*missing: No such file",
        False,
    ),
    (
        "esc50_needs_meta",
        ["--layout=esc50", "--input_dir={audio}", "--output_dir={out}"],
        r"--layout=esc50 needs --meta$",
        False,
    ),
    (
        "fold_not_a_number",
        ["--layout=esc50", "--input_dir={audio}", "--meta={fold_x}", "--output_dir={out}"],
        r"--meta .*fold_x.csv line 3: fold 'x' is not a fold number",
        False,
    ),
    (
        "fold_empty",
        ["--layout=esc50", "--input_dir={audio}", "--meta={fold_empty}", "--output_dir={out}"],
        r"--meta .*fold_empty.csv line 3: fold '' is not a fold number",
        False,
    ),
    (
        "short_row",
        ["--layout=esc50", "--input_dir={audio}", "--meta={short_row}", "--output_dir={out}"],
        r"short_row.csv line 3: 2 cells, the header has 3 \(filename,fold,label\)",
        False,
    ),
    (
        "row_without_label",
        ["--layout=esc50", "--input_dir={audio}", "--meta={no_label}", "--output_dir={out}"],
        r"--meta .*no_label.csv line 2: no label",
        False,
    ),
    (
        "unknown_columns",
        ["--layout=esc50", "--input_dir={audio}", "--meta={labels}", "--output_dir={out}"],
        r"columns .* are neither ESC-50",
        False,
    ),
    (
        "val_fold_missing",
        [
            "--layout=esc50",
            "--input_dir={audio}",
            "--meta={meta}",
            "--output_dir={out}",
            "--val_folds=9",
            "--test_folds=3",
        ],
        r"--val_folds: no row of --meta .* has fold 9",
        False,
    ),
    (
        "folds_overlap",
        [
            "--layout=esc50",
            "--input_dir={audio}",
            "--meta={meta}",
            "--output_dir={out}",
            "--val_folds=2",
            "--test_folds=2",
        ],
        r"--val_folds and --test_folds share folds \[2\]",
        False,
    ),
    (
        "folds_not_numbers",
        [
            "--layout=esc50",
            "--input_dir={audio}",
            "--meta={meta}",
            "--output_dir={out}",
            "--val_folds=a",
            "--test_folds=3",
        ],
        r"--val_folds must be comma-separated fold numbers",
        False,
    ),
    (
        "fractions_sum",
        [
            "--layout=folders",
            "--input_dir={audio}",
            "--output_dir={out}",
            "--val_fraction=0.6",
            "--test_fraction=0.5",
        ],
        r"--val_fraction \+ --test_fraction must be below 1",
        False,
    ),
    (
        "fraction_range",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--val_fraction=1.5"],
        r"flag --val_fraction=1.5: 1.5 is not a number in the range \[0, 0.99\]",
        False,
    ),
    (
        "labels_unreadable",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--labels={audio}"],
        r"--labels .*audio cannot be read \(IsADirectoryError\)",
        False,
    ),
    (
        "labels_empty",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--labels={empty}"],
        r"--labels .*empty.txt names no class",
        False,
    ),
    (
        "labels_repeated",
        [
            "--layout=folders",
            "--input_dir={audio}",
            "--output_dir={out}",
            "--labels={labels_twice}",
        ],
        r"--labels .*labels_twice.txt names 'a' more than once",
        False,
    ),
    (
        "output_is_a_file",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={labels}"],
        r"--output_dir .*labels.txt is a file, not a directory",
        False,
    ),
    (
        "csv_header",
        ["--layout=csv", "--input_dir={audio}", "--meta={meta}", "--output_dir={out}"],
        r"--meta .*meta.csv needs a header with columns path,labels\[,split\]",
        False,
    ),
    (
        "audioset_needs_csv",
        ["--layout=audioset", "--input_dir={audio}", "--class_labels={meta}", "--output_dir={out}"],
        r"--layout=audioset needs at least one of --train_csv",
        False,
    ),
    (
        "audioset_class_columns",
        [
            "--layout=audioset",
            "--input_dir={audio}",
            "--class_labels={meta}",
            "--train_csv={meta}",
            "--output_dir={out}",
        ],
        r"--class_labels .*meta.csv needs columns index,mid,display_name",
        False,
    ),
    (
        "audioset_class_index",
        [
            "--layout=audioset",
            "--input_dir={audio}",
            "--class_labels={class_index_x}",
            "--train_csv={meta}",
            "--output_dir={out}",
        ],
        r"--class_labels .*class_index_x.csv line 2: index 'x' is not a number",
        False,
    ),
    (
        "audioset_split_csv_missing",
        [
            "--layout=audioset",
            "--input_dir={audio}",
            "--class_labels={class_labels}",
            "--train_csv={missing}",
            "--output_dir={out}",
        ],
        r"--train_csv .*missing cannot be read: No such file",
        False,
    ),
    (
        "sample_rate_range",
        [
            "--layout=folders",
            "--input_dir={audio}",
            "--output_dir={out}",
            "--sample_rate=999999999",
        ],
        r"flag --sample_rate=999999999: .* is not an integer in the range \[1000, 192000\]",
        False,
    ),
    (
        "no_usable_clip",
        ["--layout=folders", "--input_dir={unreadable}", "--output_dir={out}", "--workers=1"],
        r"no usable clip \(unreadable audio",
        True,
    ),
    (
        "unknown_runner",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--runner=Nope"],
        r"--runner=Nope: not a Beam runner",
        False,
    ),
    (
        "options_without_runner",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--", "--x=1"],
        r"unexpected arguments: --x=1 \(pipeline options after -- need --runner\)",
        False,
    ),
    (
        "unknown_layout",
        ["--layout=zip", "--input_dir={audio}", "--output_dir={out}"],
        r"flag --layout=zip",
        False,
    ),
    (
        "unknown_flag",
        ["--layout=folders", "--input_dir={audio}", "--output_dir={out}", "--shards=2"],
        r"Unknown command line flag 'shards'",
        False,
    ),
]

TRAIN = [
    (
        "no_labels_txt",
        ["--data_dir={missing}", "--model_dir={out}"],
        r"missing has no labels.txt",
        False,
    ),
    (
        "info_not_json",
        ["--data_dir={info_not_json}", "--model_dir={out}"],
        r"dataset_info.json is damaged \(not JSON: .*\); restore the file that make_tfrecords "
        r"wrote, or run it again with --overwrite$",
        False,
    ),
    (
        "info_malformed",
        ["--data_dir={info_malformed}", "--model_dir={out}"],
        r"dataset_info.json is damaged \(sample_rate or splits malformed\)",
        False,
    ),
    (
        "state_json_empty",
        ["--data_dir={records}", "--model_dir={state_empty}", "--preset=tiny", "--batch_size=2"],
        r"state_empty/state.json is damaged \(not JSON: Expecting value.*\); remove the run "
        r"directory \(or that file\) and train again$",
        False,
    ),
    (
        "config_json_truncated",
        ["--data_dir={records}", "--model_dir={config_cut}", "--preset=tiny", "--batch_size=2"],
        r"config_cut/config.json is damaged \(not JSON",
        False,
    ),
    (
        "model_dir_in_use",
        ["--data_dir={records}", "--model_dir={busy}", "--preset=tiny", "--batch_size=2"],
        rf"--model_dir .*busy is in use by another process \(PID {os.getpid()}\); wait for it",
        False,
    ),
    (
        "epochs_beyond_reason",
        ["--data_dir={records}", "--model_dir={out}", "--epochs=100000000000000000000"],
        r"flag --epochs=1",
        False,
    ),
    (
        "labels_do_not_match_records",
        ["--data_dir={labels_mismatch}", "--model_dir={out}"],
        r"labels.txt names 3 classes but the records of .* have 2",
        False,
    ),
    (
        "fewer_clips_than_a_batch",
        ["--data_dir={records}", "--model_dir={out}", "--preset=tiny"],
        r"has 4 clips, fewer than one batch of 32: no training step would run",
        False,
    ),
    (
        "no_val_split",
        ["--data_dir={no_val}", "--model_dir={out}", "--preset=tiny", "--batch_size=2"],
        r"has no TFRecords of split 'val'",
        False,
    ),
    (
        "window_below_the_model_minimum",
        [
            "--data_dir={records}",
            "--model_dir={out}",
            "--preset=tiny",
            "--batch_size=2",
            "--clip_seconds=0.5",
        ],
        r"shorter than the model's minimum input of 16000",
        False,
    ),
    (
        "window_longer_than_the_clips",
        [
            "--data_dir={records}",
            "--model_dir={out}",
            "--preset=tiny",
            "--batch_size=2",
            "--clip_seconds=20",
        ],
        r"clip_seconds=20 is longer than the clips of",
        False,
    ),
    (
        "init_model_missing",
        [
            "--data_dir={records}",
            "--model_dir={out}",
            "--preset=tiny",
            "--batch_size=2",
            "--init_model={missing}/best.keras",
        ],
        r"--init_model .*missing/best.keras does not exist$",
        False,
    ),
    (
        "init_model_of_another_preset",
        ["--data_dir={records}", "--model_dir={out}", "--batch_size=2", "--init_model={model}"],
        r"--init_model .*tiny.keras is another architecture: .* \(a warm start needs the same "
        r"model, preset and front-end\)$",
        False,
    ),
    (
        "learning_rate_zero",
        ["--data_dir={records}", "--model_dir={out}", "--learning_rate=0"],
        r"learning_rate must be positive, got 0.0",
        False,
    ),
    (
        "learning_rate_nan",
        ["--data_dir={records}", "--model_dir={out}", "--learning_rate=nan"],
        r"--learning_rate=nan: not a finite number",
        False,
    ),
    (
        "checkpoint_seconds_negative",
        ["--data_dir={records}", "--model_dir={out}", "--checkpoint_seconds=-1"],
        r"flag --checkpoint_seconds=-1: -1.0 is not a non-negative number",
        False,
    ),
    (
        "checkpoint_seconds_inf",
        ["--data_dir={records}", "--model_dir={out}", "--checkpoint_seconds=inf"],
        r"--checkpoint_seconds=inf: not a finite number",
        False,
    ),
    (
        "weight_decay_one",
        ["--data_dir={records}", "--model_dir={out}", "--weight_decay=1"],
        r"weight_decay must be in \[0, 1\), got 1.0",
        False,
    ),
    (
        "epochs_negative",
        ["--data_dir={records}", "--model_dir={out}", "--epochs=-1"],
        r"flag --epochs=-1: -1 is not an integer in the range \[0, 100000\]",
        False,
    ),
    (
        "no_epochs",
        ["--data_dir={records}", "--model_dir={out}", "--epochs=0", "--finetune_epochs=0"],
        r"epochs must be >= 0 and not both 0",
        False,
    ),
    (
        "balanced_without_steps",
        ["--data_dir={records}", "--model_dir={out}", "--balanced"],
        r"balanced sampling is endless: set --steps_per_epoch too",
        False,
    ),
    (
        "mix_concentration_zero",
        ["--data_dir={records}", "--model_dir={out}", "--mix_concentration=0"],
        r"flag --mix_concentration=0",
        False,
    ),
    (
        "level_frame_negative",
        ["--data_dir={records}", "--model_dir={out}", "--level_frame_ms=-1"],
        r"flag --level_frame_ms=-1",
        False,
    ),
    (
        "level_frame_below_a_ms",
        ["--data_dir={records}", "--model_dir={out}", "--level_frame_ms=0.5"],
        r"level_frame_ms must be 0 \(the whole window\) or in \[1, 1000\]",
        False,
    ),
    (
        "raw_flag_with_logmel",
        ["--data_dir={records}", "--model_dir={out}", "--model=logmel", "--frontend=cnn"],
        r"--frontend: the log-mel model's front-end is fixed",
        False,
    ),
    (
        "gabor_rate_with_logmel",
        [
            "--data_dir={records}",
            "--model_dir={out}",
            "--model=logmel",
            "--gabor_learning_rate_scale=0.5",
        ],
        r"--gabor_learning_rate_scale: the log-mel model's front-end is fixed",
        False,
    ),
    (
        "gabor_rate_with_cnn",
        [
            "--data_dir={records}",
            "--model_dir={out}",
            "--preset=tiny",
            "--gabor_learning_rate_scale=0.5",
        ],
        r"gabor_learning_rate_scale is for the Gabor front-end; preset 'tiny' with these flags has "
        r"the 'cnn' front-end",
        False,
    ),
    (
        "gabor_rate_above_one",
        ["--data_dir={records}", "--model_dir={out}", "--gabor_learning_rate_scale=2"],
        r"flag --gabor_learning_rate_scale=2",
        False,
    ),
    (
        "model_dir_is_a_file",
        ["--data_dir={records}", "--model_dir={labels}", "--preset=tiny", "--batch_size=2"],
        r"--model_dir .*labels.txt is a file, not a directory",
        False,
    ),
    (
        "other_settings_in_model_dir",
        [
            "--data_dir={records}",
            "--model_dir={finished_run}",
            "--preset=tiny",
            "--batch_size=2",
            "--epochs=2",
        ],
        r"holds a run with other settings",
        False,
    ),
    (
        "truncated_shard",
        [
            "--data_dir={truncated}",
            "--model_dir={out}",
            "--preset=tiny",
            "--batch_size=2",
            "--epochs=1",
            "--finetune_epochs=0",
            "--frontend_pretraining_epochs=0",
        ],
        r"truncated/train-00000-of-00001.tfrecord is truncated or corrupt",
        True,
    ),
    (
        "shard_cut_between_records",
        [
            "--data_dir={cut_between_records}",
            "--model_dir={out}",
            "--preset=tiny",
            "--batch_size=2",
            "--epochs=1",
            "--finetune_epochs=0",
            "--frontend_pretraining_epochs=0",
        ],
        r"the train shards of .* hold fewer clips than its dataset_info.json counts",
        True,
    ),
    (
        "seed_negative",
        ["--data_dir={records}", "--model_dir={out}", "--seed=-1"],
        r"flag --seed=-1: -1 is not an integer in the range \[0, 4294967295\]",
        False,
    ),
    (
        "unknown_preset",
        ["--data_dir={records}", "--model_dir={out}", "--preset=huge"],
        r"flag --preset=huge",
        False,
    ),
]

ABLATE_DATA = ["--meta={meta}", "--input_dir={audio}", "--out={out}"]
ABLATE = [
    (
        "unknown_run",
        [*ABLATE_DATA, "--runs=raw_cutmix"],
        r"--runs: unknown runs \['raw_cutmix'\]",
        False,
    ),
    ("no_run", [*ABLATE_DATA, "--runs="], r"--runs: unknown runs none given", False),
    (
        "run_repeated",
        [*ABLATE_DATA, "--runs=classical,classical"],
        r"--runs repeats classical$",
        False,
    ),
    ("seed_repeated", [*ABLATE_DATA, "--seeds=0,1,0"], r"--seeds repeats 0$", False),
    (
        "seed_negative",
        [*ABLATE_DATA, "--seeds=-1"],
        r"--seeds must be in \[0, 4294967295\], got \[-1\]",
        False,
    ),
    (
        "seed_not_a_number",
        [*ABLATE_DATA, "--seeds=a"],
        r"--seeds must be comma-separated ints, got 'a'",
        False,
    ),
    ("fold_repeated", [*ABLATE_DATA, "--folds=1,2,1"], r"--folds repeats 1$", False),
    # Fold 1's records would be written before fold 3's listing is read, if every fold were not
    # checked first.
    (
        "fold_missing",
        [*ABLATE_DATA, "--folds=1,2,3,9"],
        r"--folds: no row of --meta .*meta.csv has fold 9",
        False,
    ),
    ("too_few_folds", [*ABLATE_DATA, "--folds=1,2"], r"--folds needs at least 3 folds", False),
    (
        "no_fraction",
        [*ABLATE_DATA, "--train_fractions="],
        r"--train_fractions needs at least one value",
        False,
    ),
    (
        "fraction_zero",
        [*ABLATE_DATA, "--train_fractions=0,1"],
        r"--train_fractions must be in \(0, 1\]",
        False,
    ),
    (
        "data_dir_and_meta",
        [*ABLATE_DATA, "--data_dir={records}"],
        r"give either --data_dir .* or --meta",
        False,
    ),
    (
        "out_is_a_file",
        ["--data_dir={records}", "--out={labels}"],
        r"--out .*labels.txt is a file, not a directory",
        False,
    ),
    (
        "no_epochs",
        [*ABLATE_DATA, "--epochs=0", "--finetune_epochs=0"],
        r"epochs must be >= 0 and not both 0",
        False,
    ),
    (
        "level_frame_below_a_ms",
        [*ABLATE_DATA, "--level_frame_ms=0.5"],
        r"level_frame_ms must be 0 \(the whole window\) or in \[1, 1000\]",
        False,
    ),
    (
        "mel_range",
        [*ABLATE_DATA, "--mel_min_hz=8000"],
        r"the mel range must satisfy 0 <= mel_min_hz < mel_max_hz <= 8000 \(half the sample "
        r"rate\), got 8000-7500 Hz",
        False,
    ),
]

EVALUATE = [
    (
        "labels_txt_binary",
        ["--data_dir={binary_labels}", "--model={model}", "--window_seconds=1"],
        r"binary_labels/labels.txt is damaged \(not UTF-8 text\)",
        False,
    ),
    (
        "config_json_truncated",
        ["--data_dir={records}", "--model={config_cut_model}"],
        r"config.json is damaged \(not JSON",
        False,
    ),
    (
        "window_beyond_reason",
        ["--data_dir={records}", "--model={model}", "--window_seconds=1e9"],
        r"--window_seconds=1e\+09 is longer than the longest window there is any sense in \(60 s\)",
        False,
    ),
    (
        "window_longer_than_trained",
        ["--data_dir={records}", "--model={windowed_model}", "--window_seconds=2"],
        r"--window_seconds=2 is longer than the model's training window \(1 s\)$",
        False,
    ),
    (
        "hop_longer_than_window",
        ["--data_dir={records}", "--model={model}", "--window_seconds=1", "--hop_seconds=2"],
        r"--hop_seconds=2 is longer than the window \(1 s\): the audio between windows",
        False,
    ),
    (
        "model_missing",
        ["--data_dir={records}", "--model={missing}"],
        r"--model .*missing does not exist",
        False,
    ),
    (
        "model_not_keras",
        ["--data_dir={records}", "--model={labels}"],
        r"is not a loadable .keras file",
        False,
    ),
    (
        "window_unknown",
        ["--data_dir={records}", "--model={model}"],
        r"training window is unknown .* pass --window_seconds",
        False,
    ),
    (
        "window_too_short",
        ["--data_dir={records}", "--model={model}", "--window_seconds=0.5"],
        r"window of 8000 samples is shorter than the model's minimum of 16000",
        False,
    ),
    (
        "classes_differ",
        ["--data_dir={labels_mismatch}", "--model={model}", "--window_seconds=1"],
        r"labels.txt names 3 classes but the records",
        False,
    ),
    (
        "split_missing",
        ["--data_dir={no_val}", "--model={model}", "--window_seconds=1", "--split=val"],
        r"has no TFRecords of split 'val'",
        False,
    ),
    (
        "truncated_shard",
        ["--data_dir={truncated}", "--model={model}", "--window_seconds=1", "--split=train"],
        r"truncated/train-00000-of-00001.tfrecord is truncated or corrupt",
        False,
    ),
    (
        "gain_nan",
        ["--data_dir={records}", "--model={model}", "--gain_db=nan"],
        r"--gain_db=nan: not a finite number",
        False,
    ),
    (
        "unknown_split",
        ["--data_dir={records}", "--model={model}", "--split=dev"],
        r"flag --split=dev",
        False,
    ),
]

EXPORT = [
    (
        "window_beyond_reason",
        ["--data_dir={records}", "--model={model}", "--output_dir={out}", "--window_seconds=1e6"],
        r"--window_seconds=1e\+06 is longer than the longest window",
        False,
    ),
    (
        "config_json_truncated",
        ["--data_dir={records}", "--model={config_cut_model}", "--output_dir={out}"],
        r"config.json is damaged \(not JSON",
        False,
    ),
    (
        "model_missing",
        ["--data_dir={records}", "--model={missing}", "--output_dir={out}"],
        r"--model .*missing does not exist",
        False,
    ),
    (
        "not_a_classifier",
        ["--data_dir={records}", "--model={sequential}", "--output_dir={out}"],
        r"--model .*sequential.keras is a Sequential, not a keras_rawaudio classifier",
        False,
    ),
    (
        "window_too_short",
        ["--data_dir={records}", "--model={model}", "--output_dir={out}", "--window_seconds=0.5"],
        r"window of 8000 samples is shorter than the model's minimum of 16000",
        False,
    ),
    (
        "unknown_mode",
        ["--data_dir={records}", "--model={model}", "--output_dir={out}", "--quantize=int4"],
        r"--quantize: unknown modes \['int4'\]",
        False,
    ),
    (
        "no_mode",
        ["--data_dir={records}", "--model={model}", "--output_dir={out}", "--quantize="],
        r"--quantize: unknown modes none given",
        False,
    ),
    (
        "mode_repeated",
        [
            "--data_dir={records}",
            "--model={model}",
            "--output_dir={out}",
            "--quantize=int8,float32,int8",
        ],
        r"--quantize repeats int8$",
        False,
    ),
    (
        "window_unknown",
        ["--data_dir={records}", "--model={model}", "--output_dir={out}", "--quantize=float32"],
        r"training window is unknown",
        False,
    ),
    (
        "output_is_a_file",
        ["--data_dir={records}", "--model={model}", "--output_dir={labels}", "--window_seconds=1"],
        r"--output_dir .*labels.txt is a file, not a directory",
        False,
    ),
    (
        "empty_version",
        ["--data_dir={records}", "--model={model}", "--output_dir={out}", "--version="],
        r"--version is empty",
        False,
    ),
    (
        "percentile_range",
        [
            "--data_dir={records}",
            "--model={model}",
            "--output_dir={out}",
            "--calibration_percentile=150",
        ],
        r"flag --calibration_percentile=150",
        False,
    ),
    (
        "no_train_split",
        ["--data_dir={no_train}", "--model={model}", "--output_dir={out}", "--window_seconds=1"],
        r"has no TFRecords of split 'train'",
        False,
    ),
    (
        "classes_differ",
        [
            "--data_dir={labels_mismatch}",
            "--model={model}",
            "--output_dir={out}",
            "--window_seconds=1",
        ],
        r"labels.txt names 3 classes but the records",
        False,
    ),
]

DEMO = [  # each refused before the demo generates or trains anything
    (
        "data_without_classes",
        ["--out={out}", "--data={missing}"],
        r"--data .*missing has no class folders",
        False,
    ),
    (
        "unknown_mode",
        ["--out={out}", "--quantize=int4"],
        r"--quantize: unknown modes \['int4'\]",
        False,
    ),
    ("no_mode", ["--out={out}", "--quantize="], r"--quantize: unknown modes none given", False),
    ("out_is_a_file", ["--out={labels}"], r"--out .*labels.txt is a file, not a directory", False),
    (
        "no_epochs",
        ["--out={out}", "--epochs=0", "--finetune_epochs=0"],
        r"epochs must be >= 0 and not both 0",
        False,
    ),
]

CLASSIFY = [
    (
        "stream_rate_for_files",
        ["--model={tflite}", "--labels={labels3}", "--stream_rate=8000", "{clip}"],
        r"--stream_rate does not apply to audio files \(it is for --stream\)$",
        False,
    ),
    (
        "events_for_a_stream",
        ["--model={tflite}", "--labels={labels3}", "--stream=stdin", "--events"],
        r"--events does not apply to --stream \(it is for files\)$",
        False,
    ),
    (
        "hop_beyond_the_window",
        ["--model={tflite}", "--labels={labels3}", "--hop_seconds=1e9", "{clip}"],
        r"--hop_seconds=1e\+09 is longer than the model's window \(1 s\)",
        False,
    ),
    (
        "no_audio",
        ["--model={tflite}", "--labels={labels}"],
        r"give audio files or --stream$",
        False,
    ),
    (
        "files_and_stream",
        ["--model={tflite}", "--labels={labels}", "--stream=stdin", "{clip}"],
        r"give audio files or --stream, not both",
        False,
    ),
    ("model_missing", ["--model={missing}", "{clip}"], r"missing", False),
    (
        "model_not_tflite",
        ["--model={labels}", "{clip}"],
        r"labels.txt is not a loadable .tflite file",
        False,
    ),
    (
        "no_labels_in_model",
        ["--model={tflite}", "{clip}"],
        r"has no labels in its metadata .*: give --labels",
        False,
    ),
    (
        "labels_count",
        ["--model={tflite}", "--labels={labels_twice}", "{clip}"],
        r"--labels .*labels_twice.txt has 2 labels but the model outputs 3 classes",
        False,
    ),
    (
        "labels_unreadable",
        ["--model={tflite}", "--labels={audio}", "{clip}"],
        r"--labels .*audio cannot be read",
        False,
    ),
    (
        "hop_range",
        ["--model={tflite}", "--labels={labels3}", "--hop_seconds=0", "{clip}"],
        r"flag --hop_seconds=0",
        False,
    ),
    (
        "top_k_range",
        ["--model={tflite}", "--labels={labels3}", "--top_k=0", "{clip}"],
        r"flag --top_k=0",
        False,
    ),
    (
        "threshold_range",
        ["--model={tflite}", "--labels={labels3}", "--events", "--threshold=0", "{clip}"],
        r"flag --threshold=0",
        False,
    ),
]

STREAMS = [
    (
        "model_missing",
        ["--data_dir={records}", "--model={missing}"],
        r"--model .*missing does not exist",
        False,
    ),
    (
        "background_dir_missing",
        [
            "--data_dir={records}",
            "--model={model}",
            "--window_seconds=1",
            "--background_dir={missing}",
        ],
        r"--background_dir .*missing is not a directory",
        False,
    ),
    (
        "background_dir_only_classes",
        [
            "--data_dir={records}",
            "--model={model}",
            "--window_seconds=1",
            "--background_dir={audio}",
        ],
        r"--background_dir .*audio holds no audio files outside a, b$",
        False,
    ),
    (
        "event_rule_damaged",
        ["--data_dir={records}", "--model={ruled}", "--window_seconds=1"],
        r"event_rule.json is not an event rule",
        False,
    ),
    (
        "choose_thresholds_of_tflite",
        ["--data_dir={records}", "--model={tflite}", "--choose_thresholds"],
        r"--choose_thresholds is for a .keras model",
        False,
    ),
    (
        "hop_range",
        ["--data_dir={records}", "--model={model}", "--hop_seconds=0"],
        r"flag --hop_seconds=0",
        False,
    ),
]

# The cases of a directory another process holds (the catalogue's process holds {busy}): status 1.
IN_USE = {"model_dir_in_use", "output_dir_in_use"}

TABLES = {
    "make_tfrecords": MAKE_TFRECORDS,
    "train": TRAIN,
    "ablate": ABLATE,
    "evaluate": EVALUATE,
    "export": EXPORT,
    "demo": DEMO,
    "classify": CLASSIFY,
    "evaluate_streams": STREAMS,
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, plain_tflite):
    """{name: path} of the catalogue's inputs, good and bad."""
    from keras_rawaudio import RawWaveformClassifier, layouts
    from keras_rawaudio.data.writer import WriteOptions, write_tfrecords

    root = tmp_path_factory.mktemp("catalogue")
    for label, frequency in (("a", 300.0), ("b", 1200.0)):
        for n in range(6):
            write_tone(root / "audio" / label / f"{n}.wav", frequency * (1 + 0.05 * n), 1.0)
    rows = [f"{label}/{n}.wav,{n % 3 + 1},{label}" for label in "ab" for n in range(6)]
    meta = {
        "meta": rows,
        "fold_x": [rows[0], "a/1.wav,x,a"],
        "fold_empty": [rows[0], "a/1.wav,,a"],
        "short_row": [rows[0], "a/1.wav,1"],
        "no_label": ["a/1.wav,1,"],
    }
    paths = {
        "root": root,
        "audio": root / "audio",
        "missing": root / "missing",
        "clip": root / "audio" / "a" / "0.wav",
        "tflite": plain_tflite,
    }
    for name, lines in meta.items():
        paths[name] = root / f"{name}.csv"
        paths[name].write_text("\n".join(["filename,fold,label", *lines]) + "\n")
    for name, text in {
        "labels": "a\nb\n",
        "labels_twice": "a\na\n",
        "labels3": "x\ny\nz\n",
        "empty": "\n",
        "class_index_x": "index,mid,display_name\nx,/m/1,a\n",
        "class_labels": "index,mid,display_name\n0,/m/1,a\n",
    }.items():
        paths[name] = root / f"{name}.{'csv' if 'class' in name else 'txt'}"
        paths[name].write_text(text)
    (root / "unreadable" / "a").mkdir(parents=True)
    (root / "unreadable" / "a" / "x.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    paths["unreadable"] = root / "unreadable"

    records = paths["records"] = root / "records"
    listing = layouts.list_esc50(root / "audio", paths["meta"], "2", "3")
    write_tfrecords(listing, records, WriteOptions(clip_seconds=10.0), workers=1)
    for name, keep in {
        "no_val": ("train", "test"),
        "no_train": ("val", "test"),
        "labels_mismatch": ("train", "val", "test"),
        "info_not_json": (),
        "info_malformed": (),
        "binary_labels": ("train", "val", "test"),
        "truncated": ("val", "test"),
        "cut_between_records": ("val", "test"),
    }.items():
        directory = paths[name] = root / name
        directory.mkdir()
        for shard in records.glob("*.tfrecord"):
            if shard.name.split("-")[0] in keep:
                (directory / shard.name).write_bytes(shard.read_bytes())
        (directory / "labels.txt").write_bytes(
            b"a\nb\nc\n"
            if name == "labels_mismatch"
            else b"\xff\xfea\x00\n"
            if name == "binary_labels"
            else b"a\nb\n"
        )
        info = json.loads((records / "dataset_info.json").read_text())
        (directory / "dataset_info.json").write_text(
            "{not json"
            if name == "info_not_json"
            else json.dumps(info | {"splits": 3} if name == "info_malformed" else info)
        )
    train_shard = next(records.glob("train-*.tfrecord")).read_bytes()
    (paths["truncated"] / "train-00000-of-00001.tfrecord").write_bytes(
        train_shard[: len(train_shard) // 2 + 100]
    )
    (paths["cut_between_records"] / "train-00000-of-00001.tfrecord").write_bytes(
        train_shard[: len(train_shard) // 2]
    )

    paths["model"] = root / "model" / "tiny.keras"
    paths["model"].parent.mkdir()
    RawWaveformClassifier.from_preset("tiny", num_classes=2).save(paths["model"])
    paths["ruled"] = root / "ruled" / "tiny.keras"
    paths["ruled"].parent.mkdir()
    paths["ruled"].write_bytes(paths["model"].read_bytes())
    (paths["ruled"].parent / "event_rule.json").write_text("{")
    paths["sequential"] = root / "model" / "sequential.keras"
    keras.Sequential([keras.Input((16000,)), keras.layers.Dense(2)]).save(paths["sequential"])
    for name, files in {
        "state_empty": {"state.json": ""},
        "config_cut": {"config.json": '{"model": {"num_cla'},
        "config_cut_model": {"config.json": "{"},
        "windowed_model": {"config.json": '{"model": {}, "schedule": {}, "window_samples": 16000}'},
    }.items():
        (root / name).mkdir()
        for file, text in files.items():
            (root / name / file).write_text(text)
        if name.endswith("_model"):
            paths[name] = root / name / "tiny.keras"
            paths[name].write_bytes(paths["model"].read_bytes())
        else:
            paths[name] = root / name
    for name in ("a", "A"):
        write_tone(root / "cased" / name / "0.wav", 500.0, 1.0)
    write_tone(root / "hidden_only" / ".git" / "0.wav", 500.0, 1.0)
    paths["cased"], paths["hidden_only"] = root / "cased", root / "hidden_only"
    paths["busy"] = root / "busy"
    paths["busy"].mkdir()
    paths["busy_lock"] = DirectoryLock(paths["busy"], "model_dir")  # held by this process
    paths["finished_run"] = root / "finished_run"
    paths["finished_run"].mkdir()
    (paths["finished_run"] / "config.json").write_text('{"model": {}, "schedule": "of another"}')
    return paths


@pytest.fixture(scope="module")
def outcomes(inputs, tmp_path_factory):
    """{(stage, case id): (exit status, stderr, whether the inputs kept their bytes, the case's
    output path)}."""
    out = tmp_path_factory.mktemp("outputs")
    cases = [
        (stage, case, [arg.format(**inputs, out=out / stage / case) for arg in argv])
        for stage, table in TABLES.items()
        for case, argv, _, _ in table
    ]
    process = subprocess.run(
        [sys.executable, "-c", CASE_RUNNER, inputs["root"]],
        input="".join(json.dumps([stage, argv]) + "\n" for stage, _, argv in cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    initial, *lines = map(json.loads, process.stdout.strip().splitlines())
    assert len(lines) == len(cases), process.stderr[-3000:]
    return {
        (stage, case): (status, stderr, digest == initial, out / stage / case)
        for (stage, case, _), (status, stderr, digest) in zip(cases, lines)
    }


@pytest.mark.parametrize(
    "stage, case, message, may_write",
    [
        pytest.param(stage, case, message, may_write, id=f"{stage}-{case}")
        for stage, table in TABLES.items()
        for case, _, message, may_write in table
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(outcomes, stage, case, message, may_write):
    status, stderr, inputs_kept, output = outcomes[stage, case]
    expected = 1 if case in IN_USE else 2  # another process's directory: not bad input
    assert "Traceback" not in stderr and status == expected, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"{stage}: error: ") and re.search(message, last), last
    assert may_write or not output.exists()
    assert inputs_kept  # no input lost, changed or added to


@pytest.fixture(scope="module")
def tiny_model():
    from keras_rawaudio import RawWaveformClassifier

    return RawWaveformClassifier.from_preset("tiny", num_classes=2)


# (id, call taking (inputs, model), the name of the exception's type or a base's, message regex).
PYTHON_API = [
    (
        "predict_nan",
        lambda i, m: m.predict(np.full(16000, np.nan, np.float32)),
        "ValueError",
        "contains 16000 NaN or Inf samples",
    ),
    ("predict_scalar", lambda i, m: m.predict(np.float32(0.5)), "ValueError", r"got shape \(\)"),
    (
        "predict_empty_batch",
        lambda i, m: m.predict(np.zeros((0, 16000), np.float32)),
        "ValueError",
        "an empty batch",
    ),
    (
        "predict_too_short",
        lambda i, m: m.predict(np.zeros(100, np.float32)),
        "ValueError",
        "fewer than the minimum of 16000",
    ),
    (
        "predict_int16",
        lambda i, m: m.predict(np.zeros(16000, np.int16)),
        "ValueError",
        "divide int16 PCM by 32768",
    ),
    (
        "load_not_a_model",
        lambda i, m: load_classifier(i["labels"]),
        "InputError",
        "is not a loadable .keras file",
    ),
    (
        "config_classes",
        lambda i, m: presets.preset_config("tiny", num_classes=0),
        "ValueError",
        "num_classes must be >= 1",
    ),
    (
        "config_frontend",
        lambda i, m: presets.preset_config("edge", 2, frontend="fft"),
        "ValueError",
        "frontend must be one of cnn, gabor",
    ),
    (
        "unknown_preset",
        lambda i, m: presets.preset_config("huge", 2),
        "ValueError",
        "unknown preset 'huge'",
    ),
    ("data_mix", lambda i, m: data.DataOptions(mix="cutmix"), "InputError", "mix must be one of"),
    (
        "data_split",
        lambda i, m: data.load_dataset(i["records"], "dev"),
        "DataError",
        "has no TFRecords of split 'dev'",
    ),
    (
        "schedule_rate",
        lambda i, m: train.Schedule(learning_rate=-1.0),
        "ConfigError",
        r"learning_rate must be >= 0, got -1.0",
    ),
    (
        "fit_class_count",
        lambda i, m: train.fit_mix_then_finetune(m, i["labels_mismatch"], i["missing"]),
        "DataError",
        "names 3 classes but the records",
    ),
    (
        "edge_not_tflite",
        lambda i, m: EdgeClassifier(i["labels"]),
        "EdgeModelError",
        "is not a loadable .tflite file",
    ),
    (
        "edge_window_length",
        lambda i, m: EdgeClassifier(i["tflite"]).predict(np.zeros(100, np.int16)),
        "InputError",
        r"plain.tflite takes windows of 16000 samples; got an array of shape \(100,\)",
    ),
]


@pytest.mark.parametrize(
    "call, error, message", [pytest.param(*case[1:], id=case[0]) for case in PYTHON_API]
)
def test_python_api_bad_input_raises_a_named_error(inputs, tiny_model, call, error, message):
    with pytest.raises(Exception) as raised:
        call(inputs, tiny_model)
    assert error in [c.__name__ for c in type(raised.value).__mro__], raised.value
    assert re.search(message, str(raised.value)), str(raised.value)
    assert not inputs["missing"].exists()
