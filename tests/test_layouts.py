import pathlib

import pytest

from conftest import write_tone
from keras_rawaudio import layouts


def test_folders_split_is_stratified_and_seeded(class_folders):
    listing = layouts.list_folders(class_folders, val_fraction=0.25, test_fraction=0.25, seed=3)
    assert listing.vocabulary == ["beep", "buzz", "hum"]
    per_class_split = {(i.labels[0], i.split) for i in listing.items}
    assert {(c, s) for c in listing.vocabulary for s in ("train", "val", "test")} <= per_class_split
    again = layouts.list_folders(class_folders, val_fraction=0.25, test_fraction=0.25, seed=3)
    assert again.items == listing.items
    assert "beep/sub/d" in {i.clip_id for i in listing.items}


def test_esc50_urbansound_and_plain_label_csvs(tmp_path):
    write_tone(tmp_path / "esc" / "1-1-A.wav")
    write_tone(tmp_path / "esc" / "2-1-B.wav")
    (tmp_path / "esc.csv").write_text(
        "filename,fold,target,category,esc10,src_file,take\n"
        "1-1-A.wav,1,1,rooster,False,1,A\n2-1-B.wav,5,0,dog,True,2,B\n3-1-C.wav,4,0,dog,True,3,C\n"
    )
    esc = layouts.list_esc50(tmp_path / "esc", tmp_path / "esc.csv", "4", "5")
    assert esc.vocabulary == ["dog", "rooster"]  # in target order
    assert {i.clip_id: i.split for i in esc.items} == {"1-1-A": "train", "2-1-B": "test"}
    assert esc.skipped == [{"file": str(tmp_path / "esc" / "3-1-C.wav"), "reason": "missing file"}]
    assert esc.split_rule == "test: fold 5; val: fold 4; train: fold 1"  # printed by make_tfrecords

    write_tone(tmp_path / "us8k" / "fold3" / "100-0-0-0.wav")
    (tmp_path / "us8k.csv").write_text(
        "slice_file_name,fsID,start,end,salience,fold,classID,class\n"
        "100-0-0-0.wav,100,0.0,1.0,1,3,4,drilling\n"
    )
    us8k = layouts.list_esc50(tmp_path / "us8k", tmp_path / "us8k.csv", "", "")  # every fold trains
    assert [(i.labels, i.split) for i in us8k.items] == [(("drilling",), "train")]
    assert us8k.split_rule == "test: no fold; val: no fold; train: fold 3"

    (tmp_path / "plain.csv").write_text(
        "filename,label,fold\nesc/1-1-A.wav,cat,1\nesc/2-1-B.wav,owl,2\n"
    )
    plain = layouts.list_esc50(tmp_path, tmp_path / "plain.csv", "", "2", vocabulary=["cat"])
    assert [i.labels for i in plain.items] == [("cat",)]
    assert plain.skipped[0]["reason"] == "label not in the vocabulary: owl"


def test_esc50_rejects_unknown_columns_and_overlapping_folds(tmp_path):
    (tmp_path / "m.csv").write_text("name,cls\nx.wav,a\n")
    with pytest.raises(layouts.LayoutError, match="columns"):
        layouts.list_esc50(tmp_path, tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("filename,label,fold\nx.wav,a,1\n")
    with pytest.raises(layouts.LayoutError, match="share folds"):
        layouts.list_esc50(tmp_path, tmp_path / "m.csv", "4", "4,5")


@pytest.mark.parametrize(
    "rows, error",
    [
        ("x.wav,a,x\n", "line 3: fold 'x' is not a fold number"),
        ("x.wav,a,\n", "line 3: fold '' is not a fold number"),
        ("x.wav,a\n", "line 3: 2 cells, the header has 3 \\(filename,label,fold\\)"),
        ("x.wav,a,1,extra\n", "line 3: 4 cells, the header has 3"),
        ("x.wav,,1\n", "line 3: no label"),
        ("y.wav,b,2\n", "--test_folds: no row of --meta .* has fold 5 \\(its folds: 1, 2\\)"),
    ],
)
def test_bad_meta_rows_name_their_line(tmp_path, rows, error):
    (tmp_path / "m.csv").write_text(
        "filename,label,fold\n# a comment\n" + "z.wav,c,1\n" * ("fold 5" in error) + rows
    )
    with pytest.raises(layouts.LayoutError, match=error):
        layouts.list_esc50(tmp_path, tmp_path / "m.csv", "", "5")


def test_a_spreadsheet_export_is_read(tmp_path):
    write_tone(tmp_path / "a.wav")
    write_tone(tmp_path / "b.wav")
    (tmp_path / "m.csv").write_bytes(
        "\ufefffilename,label,fold\r\na.wav,cat,1.0\r\nb.wav,dog,2.0\r\n".encode()
    )
    listing = layouts.list_esc50(tmp_path, tmp_path / "m.csv", "", "2")
    assert [(i.clip_id, i.labels, i.split) for i in listing.items] == [
        ("a", ("cat",), "train"),
        ("b", ("dog",), "test"),
    ]


def test_audioset_csvs_namings_and_missing_clips(tmp_path):
    clips = tmp_path / "clips"
    write_tone(clips / "--PJHxphWEs.wav")
    write_tone(clips / "abcdefghijk_30.000_40.000.flac")
    write_tone(clips / "YAbC_dEf-123.ogg")
    (tmp_path / "labels.csv").write_text(
        'index,mid,display_name\n0,/m/09x0r,"Speech"\n1,/m/04rlf,"Music"\n2,/m/0jbk,"Animal"\n'
    )
    (tmp_path / "train.csv").write_text(
        "# Segments csv created Sun Mar  5 10:54:31 2017\n"
        "# num_ytids=4, num_segs=4, num_unique_labels=3, num_positive_labels=5\n"
        "# YTID, start_seconds, end_seconds, positive_labels\n"
        '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/m/04rlf"\n'
        'abcdefghijk, 30.000, 40.000, "/m/0jbk"\n'
        'missingclip, 0.000, 10.000, "/m/0jbk"\n'
    )
    (tmp_path / "eval.csv").write_text(
        "# YTID, start_seconds, end_seconds, positive_labels\nAbC_dEf-123, 0.000, 10.000, "
        '"/m/04rlf,/m/0jbk,/m/xxxx"\n'
    )
    listing = layouts.list_audioset(
        clips,
        {"train": tmp_path / "train.csv", "test": tmp_path / "eval.csv"},
        tmp_path / "labels.csv",
    )
    assert listing.vocabulary == ["Speech", "Music", "Animal"]
    assert {i.clip_id: (i.labels, i.split) for i in listing.items} == {
        "--PJHxphWEs": (("Speech", "Music"), "train"),
        "abcdefghijk": (("Animal",), "train"),
    }
    reasons = {s["file"].split("/")[-1]: s["reason"] for s in listing.skipped}
    assert reasons == {
        "missingclip": "missing file",
        "YAbC_dEf-123.ogg": "label not in the vocabulary: /m/xxxx",
    }


def test_generic_csv_multi_label_with_split_column(tmp_path):
    write_tone(tmp_path / "x.wav")
    write_tone(tmp_path / "y.wav")
    (tmp_path / "meta.csv").write_text(
        "path,labels,split\nx.wav,dog;bark,train\ny.wav,cat,val\nx.wav,dog,test\n"
    )
    listing = layouts.list_csv(tmp_path, tmp_path / "meta.csv")
    assert listing.vocabulary == ["bark", "cat", "dog"]
    assert [(i.labels, i.split) for i in listing.items] == [
        (("dog", "bark"), "train"),
        (("cat",), "val"),
    ]
    assert listing.skipped[0]["reason"] == "duplicate clip id 'x'"


def test_empty_class_folders_and_unfollowed_symlinks_are_reported(class_folders):
    (class_folders / "silence").mkdir()
    (class_folders / "hum" / "loop").symlink_to(class_folders / "hum", target_is_directory=True)
    (class_folders / "hum" / "gone.wav").symlink_to(class_folders / "nowhere.wav")
    listing = layouts.list_folders(class_folders, val_fraction=0.25, test_fraction=0.25, seed=3)
    assert listing.vocabulary == ["beep", "buzz", "hum"]
    assert {(pathlib.Path(s["file"]).name, s["reason"]) for s in listing.skipped} == {
        ("silence", "class folder without audio files: the class is left out"),
        ("loop", "symlink not followed (to a folder, a loop or nothing)"),
        ("gone.wav", "symlink not followed (to a folder, a loop or nothing)"),
    }
    assert (
        len(listing.items) == 14
    )  # 4 files per class, and a corrupt and an empty file (they fail at decoding)


def test_hidden_folders_and_files_are_never_classes_or_clips(class_folders):
    write_tone(class_folders / ".git" / "objects" / "x.wav")
    write_tone(class_folders / "beep" / "._a.wav")  # a macOS resource fork
    write_tone(class_folders / "beep" / ".cache" / "b.wav")
    listing = layouts.list_folders(class_folders)
    assert listing.vocabulary == ["beep", "buzz", "hum"]
    assert not [i for i in listing.items if "/." in i.path or i.path.startswith(".")]
    assert {"file": str(class_folders / ".git"), "reason": "hidden folder: not a class"} in (
        listing.skipped
    )


def test_class_names_that_differ_only_in_case_are_refused(class_folders, tmp_path):
    write_tone(class_folders / "Beep" / "x.wav")
    with pytest.raises(layouts.LayoutError, match="differ only in case: 'Beep' and 'beep'"):
        layouts.list_folders(class_folders)
    write_tone(tmp_path / "a.wav")
    (tmp_path / "meta.csv").write_text("path,labels\na.wav,Fire\na.wav,fire\n")
    with pytest.raises(layouts.LayoutError, match="'Fire' and 'fire'"):
        layouts.list_csv(tmp_path, tmp_path / "meta.csv")


def test_a_path_is_normalised_before_the_duplicate_check(tmp_path):
    write_tone(tmp_path / "audio" / "x.wav")
    write_tone(tmp_path / "audio" / "y.wav")
    (tmp_path / "meta.csv").write_text(
        "path,labels,split\naudio/x.wav,a,train\naudio/../audio/x.wav,a,test\naudio/y.wav,a,test\n"
    )
    listing = layouts.list_csv(tmp_path, tmp_path / "meta.csv")
    assert [(i.clip_id, i.split) for i in listing.items] == [
        ("audio/x", "train"),
        ("audio/y", "test"),
    ]
    assert listing.skipped == [
        {"file": str(tmp_path / "audio" / "x.wav"), "reason": "duplicate clip id 'audio/x'"}
    ]
