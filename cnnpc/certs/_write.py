"""Key and certificate files written new, never over anything, and all or none of them.

Why not cnnpc._files.write_files: it replaces existing files by renaming over them, and gives
files the usual 0644 mode first; a key must never be replaced by mistake and must never exist,
even for a moment, with a mode others can read. So each file is created with O_EXCL and its
final mode in one call, and what was created is removed again if a later one fails.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cnnpc._files import WriteError, fill_folder

KEY_MODE = 0o600
CERT_MODE = 0o644


def _create(path: Path, data: bytes, private: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, KEY_MODE if private else CERT_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _refuse_existing(folder: Path, names: Mapping[str, object]) -> None:
    for name in names:
        path = folder / name
        if os.path.lexists(path):
            raise WriteError(
                f"{path} already exists: cnnpc certs never replaces a key or certificate "
                "(move the old files away, or give another --out)"
            )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write in {folder}: the folder is not writable")


def _fill(folder: Path, files: Mapping[str, tuple[bytes, bool]]) -> None:
    created: list[Path] = []
    try:
        for name, (data, private) in files.items():
            path = folder / name
            _create(path, data, private)
            created.append(path)
    except OSError as exc:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, FileExistsError):
            raise WriteError(
                f"{exc.filename} appeared while writing: nothing was written"
            ) from None
        raise WriteError(f"cannot write {exc.filename or folder}: {exc.strerror or exc}") from None
    except BaseException:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def write_new_files(folder: Path, files: Mapping[str, tuple[bytes, bool]]) -> None:
    """Create `files` ({name: (bytes, private)}) in `folder`: private ones 0600, the others
    0644 (less what the umask removes). A missing `folder` is made whole or not at all (a
    temporary folder beside it, renamed in); in an existing one, every name must be free."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    if st is None:
        fill_folder(folder, lambda tmp: _fill(tmp, files), what="certificates")
        return
    if not stat.S_ISDIR(st.st_mode):
        raise WriteError(f"cannot write in {folder}: it is not a folder (give another --out)")
    _refuse_existing(folder, files)
    _fill(folder, files)
