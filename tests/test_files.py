import pytest

from keras_rawaudio.errors import InputError
from keras_rawaudio.files import check_directory, read_lines, write_atomic


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
