"""One start-up of a window, run as its own process by bench_startup.py and bench_memory.py.

Usage: python benchmarks/_window_child.py MODE     (MODE: bare | text | kinds | app | main)

    bare  a PySide6 QApplication and an empty QWidget of the window's size
    text  the same with a label, a line edit and a button (the first text paint loads fonts)
    kinds one widget of each kind the settings window shows, plain PySide6, no app code
    app   create_application() and SettingsWindow over the config folder in the environment
    main  the real entry point, smtp_desktop.app.main([]) (argument parsing, CLI set-up, window)

Shows the window, waits for its first paint (the top-level window paints before its children, in
the same flush), then for the event loop to be idle once more
(QTimer.singleShot(0)), and quits. Prints one JSON line: seconds from the launch time that the
parent passes in BENCH_LAUNCH_TIME (time.time() just before it started us) to each milestone,
the heavy modules already imported at that point, and peak/current RSS from /proc/self/status.
Expects QT_QPA_PLATFORM=offscreen, a private HOME and config folder, and
PYTHON_KEYRING_BACKEND (see _bench.isolated_env).
"""

import time

_T_INTERPRETER = time.time()  # first line of Python run in this process

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

WIDTH, HEIGHT = 1040, 760  # SettingsWindow's initial size
HEAVY = ("smtplib", "ssl", "_ssl", "email", "email.message", "email.utils", "email.generator",
         "email.parser", "keyring", "keyring.backends", "secretstorage", "jeepney", "dbus",
         "aiosmtpd", "asyncio", "selectors", "socket", "http.client", "urllib.request",
         "cryptography", "smtp_desktop.mail", "smtp_desktop.mail.session", "smtp_desktop.cli",
         "platformdirs", "smtp_desktop.config.presets")


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3", "smtp_desktop/"):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            tail = tail.split("/", 1)[1] if marker == "/lib/python3" else tail
            return ("smtp_desktop/" + tail) if marker == "smtp_desktop/" else tail
    return filename


class _ImportSites:
    """A meta-path finder that finds nothing but notes who first imports each watched module.

    Only installed for the diagnostic run (BENCH_DIAGNOSE=1), never for timed runs.
    """

    def __init__(self) -> None:
        self.sites: dict[str, str] = {}

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        watched = name in HEAVY or name.startswith("keyring.backends.")
        if watched and name not in self.sites and name not in sys.modules:
            import traceback

            frames = traceback.extract_stack()[:-1]
            ours = [f for f in frames if "smtp_desktop" in f.filename]
            where = ours[-1] if ours else (frames[-1] if frames else None)
            site = f"{_short(where.filename)}:{where.lineno} in {where.name}" if where else "?"
            start = frames.index(where) + 1 if where else 0
            chain = [_short(f.filename) for f in frames[start:] if f.name == "<module>"]
            self.sites[name] = site + (f" via {' > '.join(chain)}" if chain else "")
        return None


STEPS: dict[str, list[float]] = {}  # name -> [calls, total ms], diagnostic run only


def _timed(name: str, function):  # type: ignore[no-untyped-def]
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            entry = STEPS.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += (time.perf_counter() - started) * 1000

    return wrapper


def _install_step_timers() -> None:
    """Time the steps of building the window (diagnostic run only; wrappers cost microseconds)."""
    from smtp_desktop.config import service
    from smtp_desktop.ui import application, help_pane, keys_editor, main_window, presets_panel

    window = main_window.SettingsWindow
    prop = service.ConfigService.keyring_is_secure
    if isinstance(prop, property) and prop.fget is not None:
        service.ConfigService.keyring_is_secure = property(  # type: ignore[method-assign]
            _timed("ConfigService.keyring_is_secure (imports keyring)", prop.fget))
    for name in ("_build", "_connect", "_fit_to_screen", "_load", "_render",
                 "_refresh_default_service", "_show_draft"):
        setattr(window, name, _timed(f"SettingsWindow.{name}", getattr(window, name)))
    window.__init__ = _timed("SettingsWindow.__init__ (all)", window.__init__)  # type: ignore[method-assign]
    keys_editor.KeysEditor.__init__ = _timed(  # type: ignore[method-assign]
        "KeysEditor.__init__", keys_editor.KeysEditor.__init__)
    presets_panel.load_presets = _timed(  # type: ignore[assignment]
        "presets_panel.load_presets", presets_panel.load_presets)
    help_pane.help_html = _timed("help_pane.help_html", help_pane.help_html)  # type: ignore[assignment]
    application.create_application = _timed("create_application",  # type: ignore[assignment]
                                            application.create_application)


def _hold_timers() -> None:
    """Under valgrind (BENCH_SLOW_MOTION=1) start-up runs ~50 times slower, so the keyring check
    that the window schedules 150 ms after it opens (with the transport warm-up after it) would
    run before the first idle and be counted as start-up. Hold it back, as real time does."""
    from smtp_desktop.ui import main_window

    main_window.KEYRING_CHECK_DELAY_MS = 3_600_000


def _proc_status() -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    found[key] = int(value.split()[0])  # kB
    except OSError:
        import resource

        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return found


def main() -> int:
    mode = sys.argv[1]
    launch = float(os.environ.get("BENCH_LAUNCH_TIME", _T_INTERPRETER))
    sites = None
    diagnose = bool(os.environ.get("BENCH_DIAGNOSE"))
    slow_motion = bool(os.environ.get("BENCH_SLOW_MOTION"))  # under valgrind
    if diagnose:
        sites = _ImportSites()
        sys.meta_path.insert(0, sites)
    marks: dict[str, float] = {"interpreter": _T_INTERPRETER - launch}
    rss: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = time.time() - launch
        rss[name] = _proc_status().get("VmRSS", 0) / 1024

    from PySide6.QtCore import QEvent, QObject, QTimer

    state: dict[str, object] = {"painted": False}

    def finish() -> None:
        from PySide6.QtWidgets import QApplication

        mark("idle")
        keyring_backends = sorted(m for m in sys.modules if m.startswith("keyring.backends."))
        result = {
            "mode": mode,
            "marks": marks,
            "heavy_modules": [m for m in HEAVY if m in sys.modules] + keyring_backends,
            "modules": len(sys.modules),
            "proc": _proc_status(),
            "rss_mib": rss,
        }
        if sites is not None:
            result["import_sites"] = sites.sites
            result["steps"] = STEPS
        print(json.dumps(result), flush=True)
        QApplication.instance().quit()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not state["painted"]:
                state["painted"] = True
                mark("first_paint")
                QTimer.singleShot(0, finish)
            return False

    watcher = FirstPaint()

    def watch(window: QObject) -> None:
        # Only the top-level window is watched: it paints before its children, in the same
        # flush. A filter on the whole application would run Python for every event of every
        # widget (and set up the Python type of every event class it meets), which costs a
        # window of 180 widgets about 40 ms and an empty one nothing: the observer would skew
        # the comparison it makes.
        window.installEventFilter(watcher)
        # Never hang the benchmark (valgrind runs start-up about 50 times slower).
        QTimer.singleShot(600_000 if slow_motion else 20_000, lambda: os._exit(3))

    if mode == "bare":
        from PySide6.QtWidgets import QApplication, QWidget

        mark("imported")
        app = QApplication(sys.argv[:1])
        widget = QWidget()
        watch(widget)
        widget.resize(WIDTH, HEIGHT)
        mark("built")
        widget.show()
        return app.exec()

    if mode == "text":
        from PySide6.QtWidgets import (
            QApplication,
            QLabel,
            QLineEdit,
            QPushButton,
            QVBoxLayout,
            QWidget,
        )

        mark("imported")
        app = QApplication(sys.argv[:1])
        widget = QWidget()
        watch(widget)
        layout = QVBoxLayout(widget)
        layout.addWidget(QLabel("SMTP Configuration"))
        layout.addWidget(QLineEdit("smtp.example.com"))
        layout.addWidget(QPushButton("Save"))
        widget.resize(WIDTH, HEIGHT)
        mark("built")
        widget.show()
        return app.exec()

    if mode == "kinds":
        # One widget of each kind the settings window shows, in plain PySide6: the cost of the
        # window's content in the bindings (type set-up, enums, polish, first paint of each
        # kind), without any of the app's code. A floor for any window with this content.
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QStandardItemModel
        from PySide6.QtWidgets import (
            QApplication,
            QCheckBox,
            QComboBox,
            QFormLayout,
            QGroupBox,
            QHBoxLayout,
            QLabel,
            QLineEdit,
            QMainWindow,
            QPlainTextEdit,
            QProgressBar,
            QPushButton,
            QRadioButton,
            QScrollArea,
            QSpinBox,
            QSplitter,
            QTableView,
            QTabWidget,
            QTextBrowser,
            QToolButton,
            QVBoxLayout,
            QWidget,
        )

        mark("imported")
        app = QApplication(sys.argv[:1])
        window = QMainWindow()
        watch(window)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        form_page = QWidget()
        column = QVBoxLayout(form_page)
        column.addWidget(QCheckBox("SMTP Configuration"))
        group = QGroupBox("Email service")
        row = QHBoxLayout(group)
        row.addWidget(QRadioButton("Testsigma"))
        row.addWidget(QRadioButton("@own"))
        column.addWidget(group)
        form = QFormLayout()
        combo = QComboBox()
        combo.addItems(["Custom server", "Gmail"])
        form.addRow("Provider:", combo)
        form.addRow("Host:", QLineEdit("smtp.example.com"))
        spin = QSpinBox()
        spin.setRange(1, 65535)
        spin.setValue(587)
        form.addRow("Port:", spin)
        table = QTableView()
        model = QStandardItemModel(2, 2)
        table.setModel(model)
        form.addRow("Keys:", table)
        buttons = QHBoxLayout()
        buttons.addWidget(QPushButton("Save"))
        buttons.addWidget(QToolButton())
        form.addRow(buttons)
        column.addLayout(form)
        column.addWidget(QLabel("No encryption"))
        column.addWidget(QProgressBar())
        column.addWidget(QPlainTextEdit())
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_page)
        tabs = QTabWidget()
        browser = QTextBrowser()
        browser.setHtml("<h2>Help</h2><p>Google Account &gt; Security &gt; App passwords.</p>")
        tabs.addTab(browser, "Help")
        tabs.addTab(QWidget(), "Outbox")
        splitter.addWidget(scroll)
        splitter.addWidget(tabs)
        window.setCentralWidget(splitter)
        window.resize(WIDTH, HEIGHT)
        mark("built")
        window.show()
        return app.exec()

    if mode == "app":
        if diagnose:
            _install_step_timers()
        if slow_motion:
            _hold_timers()
        from smtp_desktop.config.paths import resolve_paths
        from smtp_desktop.config.service import ConfigService
        from smtp_desktop.ui.application import app_icon, create_application
        from smtp_desktop.ui.main_window import SettingsWindow

        mark("imported")
        app = create_application(sys.argv[:1])
        window = SettingsWindow(ConfigService(resolve_paths()))
        watch(window)
        window.setWindowIcon(app_icon())
        mark("built")
        window.show()
        return app.exec()

    if mode == "main":
        # The real entry point; only SettingsWindow.show is wrapped, to start watching for the
        # first paint (nothing exists before main() runs).
        from smtp_desktop import app as entry
        from smtp_desktop.ui import main_window

        if diagnose:
            _install_step_timers()
        if slow_motion:
            _hold_timers()
        mark("imported")
        original_show = main_window.SettingsWindow.show

        def show(self: main_window.SettingsWindow) -> None:
            mark("built")
            watch(self)
            original_show(self)

        main_window.SettingsWindow.show = show  # type: ignore[method-assign]
        return entry.main([])

    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    # Leave without tearing Qt down: shutdown is not start-up, and deleting a SettingsWindow
    # while its QApplication lives can crash at exit (see benchmarks/RESULTS.md).
    code = main()
    sys.stdout.flush()
    os._exit(code)
