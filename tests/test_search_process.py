"""A large hole's patch search runs in a child process that a cancel stops at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.inference import patchmatch, search_process

needs_pm = pytest.mark.skipif(patchmatch.unavailable_reason() is not None, reason="pypatchmatch not installed")


def photo(h: int = 160, w: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.arange(w)[None, :, None]
    rgb = np.clip(np.where((x // 5) % 2 == 0, 190, 70) + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), bool)
    mask[40:120, 60:140] = True
    return rgb, mask


class _Spawned:
    """Records the child processes the search starts."""

    def __init__(self, monkeypatch) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tries = 0
        real = subprocess.Popen

        def popen(*args, **kw):
            self.tries += 1
            proc = real(*args, **kw)
            self.procs.append(proc)
            return proc

        monkeypatch.setattr(search_process.subprocess, "Popen", popen)


def in_process_first(monkeypatch, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo, its hole and their fill searched in this process; afterwards every search
    is wanted in a child (CHILD_MIN_HOLE lowered) and none is known to be impossible."""
    rgb, mask = photo()
    monkeypatch.setenv("TEMPERA_SEARCH_PROCESS", "0")
    here = patchmatch.patchmatch_fill(rgb, mask, seed=seed)
    monkeypatch.setenv("TEMPERA_SEARCH_PROCESS", "1")
    monkeypatch.setattr(search_process, "CHILD_MIN_HOLE", 100)
    monkeypatch.setattr(search_process, "_NO_CHILD", [])
    return rgb, mask, here


@needs_pm
def test_a_large_hole_is_searched_in_a_child_with_the_same_fill_as_in_process(monkeypatch):
    rgb, mask, here = in_process_first(monkeypatch, seed=4)
    spawned = _Spawned(monkeypatch)
    child = patchmatch.patchmatch_fill(rgb, mask, seed=4)
    assert len(spawned.procs) == 1 and spawned.procs[0].returncode == 0
    assert np.array_equal(child, here) and np.array_equal(child[~mask], rgb[~mask])


def test_small_holes_stay_in_process_and_the_switch_turns_children_off(monkeypatch):
    monkeypatch.delenv("TEMPERA_SEARCH_PROCESS", raising=False)
    assert not search_process.wanted(search_process.CHILD_MIN_HOLE - 1)
    assert search_process.wanted(search_process.CHILD_MIN_HOLE)
    monkeypatch.setenv("TEMPERA_SEARCH_PROCESS", "0")
    assert not search_process.wanted(10 ** 9)
    monkeypatch.setenv("TEMPERA_SEARCH_PROCESS", "1")
    monkeypatch.setattr(search_process.sys, "frozen", True, raising=False)  # a bundled app
    assert not search_process.wanted(10 ** 9)


@needs_pm
@pytest.mark.parametrize("regions", [1, 2])
def test_a_heartbeat_that_raises_kills_the_running_searches(monkeypatch, regions):
    rgb, mask = photo(480, 1200, seed=2)
    mask[:] = False
    for x in (60, 840)[:regions]:  # separate regions, searched at once when two
        mask[60:420, x : x + 300] = True
    assert len(patchmatch.crop_boxes(mask)) == regions
    monkeypatch.setattr(search_process, "CHILD_MIN_HOLE", 100)
    monkeypatch.setattr(patchmatch, "search_threads", lambda n: min(n, 2))
    spawned = _Spawned(monkeypatch)
    beats: list[float] = []

    def progress(done: int, total: int) -> None:
        if (done, total) == (0, 0):
            beats.append(time.perf_counter())
            if len(beats) == 2:
                raise KeyboardInterrupt  # the editor's Esc raises its own exception here

    with pytest.raises(KeyboardInterrupt):
        patchmatch.patchmatch_fill(rgb, mask, seed=1, progress=progress)
    assert len(spawned.procs) == regions
    assert all(p.returncode is not None and p.returncode != 0 for p in spawned.procs)  # killed, not finished
    assert time.perf_counter() - beats[-1] < 2.0  # it did not wait for the searches


@needs_pm
def test_a_child_whose_search_fails_says_so_in_one_line():
    rgb, mask = photo()
    wrong = np.full(rgb.shape, np.nan, np.float32)  # a guide the library refuses
    with pytest.raises(search_process.SearchFailed) as err:
        search_process.search(np.ascontiguousarray(rgb[..., ::-1]), mask.astype(np.uint8), shield=None,
                              guide=wrong, seed=0, patch_size=3, guide_weight=1.0, poll=None)
    assert not isinstance(err.value, search_process.NoChild)
    assert str(err.value).startswith("the patch search stopped without a fill (") and "\n" not in str(err.value)


@needs_pm
@pytest.mark.parametrize("how", ["no interpreter", "no module"])
def test_where_no_child_can_run_the_search_runs_in_process_and_none_is_tried_again(monkeypatch, how):
    rgb, mask, here = in_process_first(monkeypatch, seed=2)
    if how == "no interpreter":
        monkeypatch.setattr(search_process.sys, "executable", "/nonexistent/python")
    else:  # an install where the child's module cannot be imported
        monkeypatch.setattr(search_process, "_MODULE", "app.inference.no_such_child")
    spawned = _Spawned(monkeypatch)
    assert np.array_equal(patchmatch.patchmatch_fill(rgb, mask, seed=2), here)
    assert np.array_equal(patchmatch.patchmatch_fill(rgb, mask, seed=2), here)
    assert spawned.tries == 1 and not search_process.wanted(10 ** 6)  # not tried again


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # ended, not yet reaped
    except OSError:
        return True


@needs_pm
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_search_whose_process_is_killed_ends_and_its_folder_is_swept(tmp_path, monkeypatch):
    script = (
        "import numpy as np\n"
        "from app.inference import patchmatch, search_process\n"
        "search_process.CHILD_MIN_HOLE = 100\n"
        "rgb = np.random.default_rng(0).integers(0, 256, (900, 1200, 3), dtype=np.uint8)\n"
        "mask = np.zeros((900, 1200), bool); mask[100:800, 100:1100] = True\n"
        "patchmatch.patchmatch_fill(rgb, mask)\n"
    )
    env = dict(os.environ, TMPDIR=str(tmp_path))
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        searches: list[int] = []
        while not searches and time.monotonic() < deadline:
            time.sleep(0.2)
            for task in Path(f"/proc/{parent.pid}/task").glob("*"):
                searches += [int(p) for p in (task / "children").read_text().split()]
        assert searches, "no search process started"
        assert len(list(tmp_path.glob(f"tempera-search-{parent.pid}-*"))) == 1
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in searches) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(pid) for pid in searches)  # it did not search on for nobody
    monkeypatch.setattr(search_process.tempfile, "tempdir", str(tmp_path))
    mine = tmp_path / f"tempera-search-{os.getpid()}-x"
    mine.mkdir()  # a live process's folder
    search_process._sweep()
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]


@needs_pm
def test_a_network_fill_that_fails_stops_the_search_beside_it(monkeypatch):
    from app.inference.texture import texture_stage

    rgb, mask = photo(1500, 1800, seed=3)
    mask[:] = False
    mask[150:1350, 150:1650] = True  # a search of about 20 s
    monkeypatch.setattr(search_process, "CHILD_MIN_HOLE", 100)

    def network_fill():
        deadline = time.monotonic() + 20
        while not search_process.live_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM reaches the thread that runs the network

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        texture_stage(rgb, mask, network_fill)
    assert time.perf_counter() - start < 5.0 and not search_process.live_children()


@needs_pm
def test_a_full_temporary_folder_searches_in_process_this_time(monkeypatch):
    rgb, mask, here = in_process_first(monkeypatch, seed=6)

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(search_process.np, "save", full)
    assert np.array_equal(patchmatch.patchmatch_fill(rgb, mask, seed=6), here)
    assert search_process.wanted(10 ** 6)  # tried again next time: a disk fills and empties


@needs_pm
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_batch_stopped_at_once_ends_its_searches_and_starts_none(tmp_path, monkeypatch):
    """The second Ctrl+C: the searches running stop, and a photo whose search had not yet
    started does not start one (they ran on for minutes while the batch waited for them)."""
    import signal
    import threading

    from PIL import Image

    from app.inference.batch import run_batch
    from app.inference.engines import load_engine

    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    for n in range(3):
        rgb, mask = photo(900, 1200, seed=n)
        mask[:] = False
        mask[100:800, 100:1100] = True  # searches of many seconds
        Image.fromarray(rgb).save(tmp_path / "in" / f"p{n}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "masks" / f"p{n}.png")
    monkeypatch.setattr(search_process, "CHILD_MIN_HOLE", 100)
    started: list[float] = []
    real_run = search_process._run

    def run(folder, poll):
        started.append(time.monotonic())
        return real_run(folder, poll)

    monkeypatch.setattr(search_process, "_run", run)

    def second_ctrl_c() -> None:
        deadline = time.monotonic() + 60
        while not search_process.live_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl+C (run_batch is called directly: no first)

    threading.Thread(target=second_ctrl_c, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_batch(tmp_path / "in", tmp_path / "masks", tmp_path / "out", engine=load_engine("patchmatch"), jobs=2)
    stopped = time.monotonic()
    assert stopped - started[0] < 8.0  # not the searches' length (each about 10 s)
    assert not search_process.live_children()
    assert len(started) <= 2  # the third photo's search never started


@needs_pm
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_batch_s_first_ctrl_c_lets_a_large_hole_s_search_finish(tmp_path):
    import signal

    from PIL import Image

    rgb, mask = photo(700, 900, seed=5)
    mask[:] = False
    mask[100:600, 150:750] = True  # 300,000 hole pixels: searched in a child process
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(rgb).save(tmp_path / "in" / "a.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "masks" / "a.png")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    run = subprocess.Popen([sys.executable, "main.py", "batch", "--images", str(tmp_path / "in"), "--masks",
                            str(tmp_path / "masks"), "--out", str(tmp_path / "out"), "--engine", "patchmatch"],
                           cwd=Path(__file__).resolve().parent.parent, env=env, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("tempera-search-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob("tempera-search-*")), "no search process started"
    time.sleep(0.3)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl+C at the terminal: the whole foreground group
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err  # nothing was left to do: the photo being filled finished
    assert (tmp_path / "out" / "a.png").exists() and "1 filled" in out


@needs_pm
def test_no_room_for_the_fill_or_a_passing_start_failure_searches_here_this_time(monkeypatch):
    import errno

    from app.inference._search_child import NO_ROOM

    rgb, mask, here = in_process_first(monkeypatch, seed=7)
    monkeypatch.setattr(search_process, "_run", lambda folder, poll: NO_ROOM)  # the fill could not be written
    assert np.array_equal(patchmatch.patchmatch_fill(rgb, mask, seed=7), here)
    assert search_process.wanted(10 ** 6)
    monkeypatch.undo()
    rgb, mask, here = in_process_first(monkeypatch, seed=7)

    def too_many_files(*_a, **_k):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(search_process.subprocess, "Popen", too_many_files)
    assert np.array_equal(patchmatch.patchmatch_fill(rgb, mask, seed=7), here)
    assert search_process.wanted(10 ** 6)  # a passing failure: tried again next time
