"""A user's input file is a regular file, or one line says what it is instead.

Reading a named pipe waits for a writer that may never come, ``/dev/zero`` never ends (and fills
memory), a folder cannot be read as a file: each is refused before it is opened, so no command
hangs on a path it was given. Links are followed (a link to a file is that file); a link loop is
said as one.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ResweepError

__all__ = ["check_input_file", "not_a_file"]

_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file; reading it would wait for a writer"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def not_a_file(path: str | Path) -> str | None:
    """None when ``path`` is a regular file (through links); else what it is, as a message's end
    (``is a named pipe (FIFO), ...``, ``no such file``, ``is a link loop``)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file" if not os.path.islink(path) else "is a link to nothing (no such file)"
    except NotADirectoryError:
        return "no such file (a folder on its path is a file)"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "is a link loop, not a file"
        return f"cannot be read ({err.strerror})"
    if stat.S_ISREG(mode):
        return None
    return next((text for test, text in _KINDS if test(mode)), "is not a regular file")


def check_input_file(path: str | Path, what: str = "") -> Path:
    """``path`` when it is a regular file; else :class:`ResweepError` ``PATH: [WHAT: ]is a ...``
    (``what`` names the input: ``result table``, ``--config``)."""
    problem = not_a_file(path)
    if problem is not None:
        raise ResweepError(f"{path}: {what + ': ' if what else ''}{problem}")
    return Path(path)
