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

    def full(fh):  # a full disk says so at a flush, naming no file
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as caught:
        atomic_write(target, full)
    assert caught.value.filename == str(target)  # the error names the file that was being written


@pytest.mark.skipif(os.name != "posix", reason="the sweep reads process ids on POSIX only")
def test_a_killed_writer_s_leftover_is_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys
    import time

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    old = time.time() - 3600
    leftover = tmp_path / f".out.png.{dead_pid}.abc123.tmp"
    fresh = tmp_path / f".out.png.{dead_pid}.def456.tmp"  # too recent: maybe a writer of another machine
    alive = tmp_path / f".out.png.{os.getppid()}.ghi789.tmp"  # its writer still runs
    other = tmp_path / f".other.png.{dead_pid}.jkl000.tmp"  # another target's
    for p in (leftover, fresh, alive, other):
        p.write_bytes(b"half")
    for p in (leftover, alive, other):
        os.utime(p, (old, old))
    atomic_write(tmp_path / "out.png", lambda fh: fh.write(b"whole"))
    assert (tmp_path / "out.png").read_bytes() == b"whole"
    assert not leftover.exists()
    assert fresh.exists() and alive.exists() and other.exists()


def test_sigterm_during_a_write_leaves_no_temporary(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    code = ("import sys, time\n"
            "from app.cli import _terminate_as_interrupt\n"
            "from app.core.atomic import atomic_write\n"
            "def slow(fh):\n"
            "    fh.write(b'x'); fh.flush(); print('writing', flush=True); time.sleep(30)\n"
            "try:\n"
            "    with _terminate_as_interrupt():\n"
            "        atomic_write(sys.argv[1], slow)\n"
            "except KeyboardInterrupt:\n"
            "    sys.exit(130)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "out.png")], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert list(tmp_path.glob(".out.png.*.tmp"))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 130
    time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []
