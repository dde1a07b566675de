"""The log file a user can send with a bug report: rotating, in the platform's log folder.

``platformdirs.user_log_dir`` is ~/.local/state/resunet-gui/log on Linux,
~/Library/Logs/resunet-gui on macOS and %LOCALAPPDATA%\\resunet-gui\\Logs on Windows.
"""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

APP_NAME = "resunet-gui"
LOG_NAME = "resunet-gui.log"
MAX_BYTES = 2 * 2**20
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def log_path() -> Path:
    """Where the GUI writes its log (the file may not exist yet)."""
    return log_dir() / LOG_NAME


def install_file_log(path: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Add a rotating file handler to the root logger; returns the file, or None when the
    folder cannot be written (the app runs on without a log rather than not at all)."""
    path = path or log_path()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES,
                                                       backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        logging.getLogger(__name__).warning("cannot write the log file %s", path, exc_info=True)
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return path
