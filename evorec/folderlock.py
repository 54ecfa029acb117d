"""One writer per output folder: an operating-system lock held while ``evorec run`` writes.

The lock is ``flock`` (POSIX) or ``msvcrt.locking`` (Windows) on ``OUT/.evorec.lock``, which
the operating system releases when the process ends however it ends, so a killed run never
blocks the next one.  The file holds the process id and host of its holder, so a second
run can say who holds the folder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

LOCK_FILE = ".evorec.lock"

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class FolderBusy(ValueError):
    """Another process holds the folder's lock."""


class FolderLock:
    """The lock of one output folder; a context manager.

    Parameters
    ----------
    folder : path-like
        The output folder; created if missing.

    Raises
    ------
    FolderBusy
        On entering, when another process holds the lock; the message names the folder and
        the holder's process id and host.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        for _ in range(100):
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                holder = _read_holder(fd)
                os.close(fd)
                raise FolderBusy(f"{self.folder} is in use by another evorec run ({holder}); wait for it to end, "
                                 f"or give another folder with --out")
            if _same_file(fd, self.path):
                break
            # The file was moved away (``--fresh`` moved the folder aside) between opening it and
            # locking it: this lock guards the old folder, not this one.  Try again.
            _unlock(fd)
            os.close(fd)
        else:
            raise FolderBusy(f"{self.folder} keeps being moved while its lock is taken; try again")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is still the file at ``path``."""
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    there = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return f"process {text}" if text.startswith("pid ") else "process unknown"
