from keras_rawaudio.files import write_atomic


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    write_atomic(path, "first")
    write_atomic(path, "second, longer")
    assert path.read_text() == "second, longer"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
