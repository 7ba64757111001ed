"""The one atomic writer every file-producing path uses."""

from __future__ import annotations

import os
import stat

import pytest

from app.core.atomic import atomic_write


def test_writes_and_keeps_an_existing_files_mode(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write(target, lambda fh: fh.write(b"new"))
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_file_is_not_left_private(tmp_path):
    target = atomic_write(tmp_path / "b.bin", lambda fh: fh.write(b"x"))
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable by others, unlike mkstemp's 0600


def test_failure_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "c.bin"
    target.write_bytes(b"keep me")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.bin"]
