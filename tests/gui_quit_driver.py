"""The editor as `python main.py PHOTO` starts it, driven by timers, for the exit tests in
tests/test_ui_session.py (run in a subprocess):

- `fill DELAY_MS`: once the engine has loaded, mark a hole, start a fill and press Ctrl+Q's
  action DELAY_MS later, answering "discard" to the unsaved-changes question;
- `stuck DELAY_MS`: the same with an engine whose fill is stuck for a minute (as a patch
  search of a huge hole is, in native code): closing must not wait for it;
- `batch OUT_DIR`: run File > Batch export on the photo's folder with `mask.png` beside that
  folder as the one mask, print the dialog's summary, close the dialog, then quit.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui import dialogs, main_window  # noqa: E402
from app.ui.app import run_gui  # noqa: E402
from app.ui.batch_dialog import BatchDialog  # noqa: E402

photo, mode, arg = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
dialogs.ask_unsaved = lambda *a: "discard"
dialogs.ask_discard_mask = lambda *a: True
_show = main_window.MainWindow.show


def _fill_then_quit(window: main_window.MainWindow) -> None:
    w, h = window.doc.size_wh
    window.tools.set_tool("rect")
    window.tools.press((w // 4, h // 4))
    window.tools.release((w // 2, h // 2))
    window.fill()
    QTimer.singleShot(int(arg), window.actions_.quit.trigger)


def _batch_then_quit(window: main_window.MainWindow) -> None:
    def drive() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, BatchDialog):
            QTimer.singleShot(20, drive)
            return
        dialog.images.setText(str(photo.parent))
        dialog.masks.setText(str(photo.parent.parent / "mask.png"))
        dialog.out.setText(arg)
        dialog.start.click()

        def finish() -> None:
            if not dialog.start.isEnabled():
                QTimer.singleShot(20, finish)
                return
            print(dialog.log.toPlainText(), flush=True)
            dialog.reject()
            QTimer.singleShot(0, window.actions_.quit.trigger)

        finish()

    QTimer.singleShot(0, drive)
    window.open_batch()  # modal: returns when the dialog closes


def _show_and_drive(window: main_window.MainWindow) -> None:
    _show(window)

    def go() -> None:
        if window.inference.engine is None or window.doc is None:
            QTimer.singleShot(20, go)
            return
        if mode == "stuck":
            import time

            window.inference.worker.engine.fill = lambda *a, **k: time.sleep(60)  # the GIL is free meanwhile
        (_batch_then_quit if mode == "batch" else _fill_then_quit)(window)

    QTimer.singleShot(0, go)


main_window.MainWindow.show = _show_and_drive
sys.exit(run_gui(photo))
