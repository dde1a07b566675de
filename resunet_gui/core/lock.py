"""One writer per project folder: ``.resunet/lock`` holding the owner's pid and host.

On POSIX the lock file is also ``flock``ed for as long as the project is open, so the
kernel releases it when the owner dies (even kill -9) and a second open in the same
process is refused too. The pid/host text is for the message shown to the user, and the
fallback check where ``flock`` is unavailable (a stale lock: pid dead on this host).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from resunet_gui.core.errors import StorageError
from resunet_gui.core.safe_files import open_regular, read_regular

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

_UNREADABLE_GRACE_S = 10.0  # an unparseable lock this old is a torn write, not a live owner


@dataclass(frozen=True)
class LockInfo:
    pid: int
    host: str

    def describe(self) -> str:
        return f"in use by pid {self.pid} on {self.host}"


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # sys.platform, not os.name: mypy narrows it to see windll
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFO
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def read_lock_info(path: Path) -> LockInfo | None:
    try:
        obj = json.loads(read_regular(path, 1 << 16).decode("utf-8"))
        return LockInfo(int(obj["pid"]), str(obj["host"]))
    except (OSError, StorageError, ValueError, KeyError, TypeError):
        return None


class ProjectLock:
    """Holder of ``.resunet/lock``; ``acquire()`` returns None on success or why it failed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> str | None:
        """Take the lock; return None, or a user message saying who holds it.

        Raises OSError when the folder cannot be written (the caller opens read-only), and
        ``UnsafeFileError`` when the lock is a link or not a regular file (never followed).
        """
        host = socket.gethostname()
        for _attempt in range(5):
            fd = open_regular(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    info = read_lock_info(self.path)
                    return "opened read-only: " + (info.describe() if info else "in use by another program")
                if not self._same_file(fd):
                    os.close(fd)  # the previous owner removed it while we were locking; retry
                    continue
            info = read_lock_info(self.path)
            busy = self._held_by_other(info, host, flocked=fcntl is not None)
            if busy is not None:
                os.close(fd)
                return busy
            payload = json.dumps({"pid": os.getpid(), "host": host, "since": time.time()})
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, payload.encode("utf-8"))
                os.fsync(fd)
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
            return None
        return "opened read-only: the lock file keeps changing (another program is opening it)"

    def _same_file(self, fd: int) -> bool:
        try:
            return os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def _held_by_other(self, info: LockInfo | None, host: str, *, flocked: bool) -> str | None:
        if info is None:
            try:
                age = time.time() - self.path.stat().st_mtime
                empty = self.path.stat().st_size == 0
            except OSError:
                return None
            if flocked or empty or age > _UNREADABLE_GRACE_S:
                return None
            return "opened read-only: the lock file is being written by another program"
        if info.host != host:
            return ("opened read-only: " + info.describe()
                    + f" (if no program there uses it, delete {self.path})")
        if flocked:
            return None  # we hold the kernel lock: any pid written there is stale
        if pid_alive(info.pid):
            return "opened read-only: " + info.describe()
        return None  # stale: its owner died

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            if self._same_file(fd):
                self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(fd)
