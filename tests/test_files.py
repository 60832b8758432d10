import os
import subprocess
import sys

import pytest

from conftest import ROOT
from keras_rawaudio.errors import InputError
from keras_rawaudio.files import (
    BusyDirectoryError,
    DamagedFileError,
    DirectoryLock,
    atomic_path,
    check_directory,
    read_json,
    read_lines,
    write_atomic,
)


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, "first")
    write_atomic(path, "second, longer")
    assert path.read_text() == "second, longer"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_check_directory_accepts_directories_and_new_paths_and_names_a_file(tmp_path):
    assert check_directory(tmp_path, "out") == tmp_path
    assert check_directory(str(tmp_path / "new"), "out") == tmp_path / "new"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=f"^--out {tmp_path / 'file'} is a file, not a directory$"):
        check_directory(tmp_path / "file", "out")


def test_read_lines_strips_skips_blanks_and_names_an_unreadable_file(tmp_path):
    (tmp_path / "labels.txt").write_text("  dog \n\ncat\n")
    assert read_lines(tmp_path / "labels.txt", "labels") == ["dog", "cat"]
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(
        InputError, match=r"^--labels .*binary.txt cannot be read \(UnicodeDecodeError\)$"
    ):
        read_lines(tmp_path / "binary.txt", "labels")


def test_a_failed_write_keeps_the_earlier_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "report.csv"
    write_atomic(path, "the good report")
    with pytest.raises(RuntimeError, match="the disk filled"):
        with atomic_path(path) as temporary:
            temporary.write_text("half a rep")
            raise RuntimeError("the disk filled")
    assert path.read_text() == "the good report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
    write_atomic(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"


def test_an_os_error_names_the_final_file_not_the_temporary(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        write_atomic(tmp_path / "gone" / "out.json", "{}")
    assert raised.value.filename == str(tmp_path / "gone" / "out.json")


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", r"not JSON: Expecting value"),
        (b'{"phase": 1', r"not JSON: Expecting ',' delimiter"),
        (b"\xff\xfe", r"not UTF-8 text"),
        (b"[1, 2]", r"not a JSON dict"),
        (b'{"phase": 1}', r"no epoch"),
    ],
)
def test_read_json_names_a_damaged_file_and_what_to_do(tmp_path, content, reason):
    (tmp_path / "state.json").write_bytes(content)
    with pytest.raises(
        DamagedFileError, match=rf"state.json is damaged \({reason}.*\); train again$"
    ):
        read_json(tmp_path / "state.json", dict, "train again", ("phase", "epoch"))
    assert issubclass(DamagedFileError, InputError)  # exit status 2


def test_a_lock_refuses_a_second_writer_naming_the_first(tmp_path):
    with DirectoryLock(tmp_path, "model_dir"):
        with pytest.raises(
            BusyDirectoryError, match=rf"in use by another process \(PID {os.getpid()}\)"
        ):
            DirectoryLock(tmp_path, "model_dir")
    DirectoryLock(tmp_path, "model_dir").release()  # free again once released


def test_a_killed_owner_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from keras_rawaudio.files import DirectoryLock; "
            f"lock = DirectoryLock({str(tmp_path)!r}, 'output_dir'); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(BusyDirectoryError, match=rf"--output_dir .* \(PID {holder.pid}\)"):
        DirectoryLock(tmp_path, "output_dir")
    holder.kill()
    holder.wait(timeout=30)
    DirectoryLock(tmp_path, "output_dir").release()
