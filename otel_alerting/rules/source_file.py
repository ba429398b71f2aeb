"""Reading a rules file safely: only a regular file, at most ``MAX_FILE_BYTES``, as UTF-8.

A rules path is read during the host's start-up, so what it names must not be able to
stop that start-up: a FIFO would block ``open()`` until a writer comes (forever), and
``/dev/zero`` would be read until memory runs out. The file is opened without blocking
and checked with ``fstat`` on the open descriptor (a check of the path before opening
it could be raced by a rename), then read up to the limit and no further.
"""

from __future__ import annotations

import codecs
import os
import stat

__all__ = ["MAX_FILE_BYTES", "Unreadable", "read_text"]

#: the largest rules file read: 10 MB (ten thousand rules take about 2 MB)
MAX_FILE_BYTES = 10_000_000

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
#: byte order marks of encodings other than UTF-8 (UTF-32's first: it starts with UTF-16's)
_OTHER_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class Unreadable(ValueError):
    """A file that cannot be read as rules: ``str()`` says why, ``line`` where (if known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of the regular file at ``path``, decoded as UTF-8 whatever the locale;
    raises ``Unreadable``."""
    return _decode(_read_bytes(path))


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO for reading waits for a writer without it
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror}") from None
    except ValueError as exc:  # a NUL in the path
        raise Unreadable(f"cannot read: {exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise Unreadable(f"cannot read: not a regular file but {kind}")
        if info.st_size > MAX_FILE_BYTES:
            raise Unreadable(_too_large(f"{info.st_size} bytes"))
        chunks: list[bytes] = []
        total = 0
        # to the limit and one byte more, whatever the size said: a file can grow, and
        # some (in /proc) report a size of 0
        while total <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise Unreadable(_too_large("more"))
        return b"".join(chunks)
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)


def _too_large(size: str) -> str:
    return f"cannot read: larger than the limit of 10 MB ({MAX_FILE_BYTES} bytes): {size}"


def _decode(data: bytes) -> str:
    for mark, encoding in _OTHER_ENCODINGS:
        if data.startswith(mark):
            raise Unreadable(
                f"not valid UTF-8: the file is {encoding} (it starts with a byte order mark); save it as UTF-8", 1
            )
    try:
        text = data.decode()  # UTF-8 (decode's default), whatever the locale says
    except UnicodeDecodeError as exc:
        at = data[: exc.start].count(b"\n") + 1
        raise Unreadable(f"not valid UTF-8: {exc.reason}", at) from None
    nul = text.find("\0")
    if nul >= 0:
        # valid UTF-8, but a NUL is what UTF-16 without a byte order mark looks like
        at = text.count("\n", 0, nul) + 1
        raise Unreadable("a NUL character: is the file UTF-16? Save it as UTF-8", at)
    return text
