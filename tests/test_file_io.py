import os

import pytest

from keras_deblur import file_io
from keras_deblur.data import images


def test_only_dead_writers_leftovers_are_removed(tmp_path, leftover):
    dead = leftover(tmp_path, "a.png")
    mine = leftover(tmp_path, "b.png", pid=os.getpid())
    elsewhere = leftover(tmp_path, "c.png", host="otherhost")
    (tmp_path / "ckpt-3_temp").mkdir()
    (tmp_path / "ckpt-3_temp" / "part").write_text("x")
    (tmp_path / "kept.png").write_text("x")
    assert file_io.is_temporary(dead) and not file_io.is_temporary("kept.png")

    removed = file_io.remove_dead_leftovers(str(tmp_path), also=r".+_temp")
    assert sorted(os.path.basename(p) for p in removed) == sorted([dead, "ckpt-3_temp"])
    assert sorted(os.listdir(tmp_path)) == sorted([mine, elsewhere, "kept.png"])


def test_a_failed_write_leaves_no_temporary(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(images.tf.io.gfile, "rename", full_disk)
    with pytest.raises(OSError):
        file_io.write_bytes(str(tmp_path / "figure.png"), b"png")
    assert os.listdir(tmp_path) == []


def test_no_overwrite_keeps_a_file_that_appeared_during_the_write(tmp_path):
    import tensorflow as tf

    path = tmp_path / "out.png"
    with pytest.raises(tf.errors.AlreadyExistsError, match="out.png exists"):
        with file_io.atomic_path(str(path), overwrite=False) as temporary:
            with open(temporary, "wb") as f:
                f.write(b"mine")
            path.write_bytes(b"theirs")  # after any check a writer could make beforehand
    assert path.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["out.png"]
    with file_io.atomic_path(str(tmp_path / "folder"), overwrite=False) as temporary:
        os.makedirs(temporary)  # folders are renamed into place as before
    assert (tmp_path / "folder").is_dir()
