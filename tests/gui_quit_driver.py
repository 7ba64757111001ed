"""The editor as `python main.py PHOTO` starts it, driven by timers: once the engine has
loaded, mark a hole, start a fill with ENGINE and press Ctrl+Q's action DELAY_MS later
(answering "discard" to the unsaved-changes question). tests/test_ui_session.py runs this
in a subprocess and checks that the process exits cleanly: exit status 0, nothing on stderr
about threads or objects destroyed in the wrong order."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402

from app.ui import dialogs, main_window  # noqa: E402
from app.ui.app import run_gui  # noqa: E402

photo, delay_ms = sys.argv[1], int(sys.argv[2])
dialogs.ask_unsaved = lambda *a: "discard"
_show = main_window.MainWindow.show


def _show_and_drive(window: main_window.MainWindow) -> None:
    _show(window)

    def go() -> None:
        if window.inference.engine is None or window.doc is None:
            QTimer.singleShot(20, go)
            return
        w, h = window.doc.size_wh
        window.tools.set_tool("rect")
        window.tools.press((w // 4, h // 4))
        window.tools.release((w // 2, h // 2))
        window.fill()
        QTimer.singleShot(delay_ms, window.actions_.quit.trigger)

    QTimer.singleShot(0, go)


main_window.MainWindow.show = _show_and_drive
sys.exit(run_gui(photo))
