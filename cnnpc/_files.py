"""The one way cnnpc writes files: checked targets, a temporary file beside each, fsync, rename.

Why one place: a rename replaces whatever the name points at, so every writer must refuse a
symbolic link, a FIFO, a device or a folder the same way, and an interrupted write must leave
the old file (or none), never half of one. Several files that belong together (an export's
workbook and plan, a profile's CSVs, a deployment folder) are all checked before any work and
land all or nothing. No TensorFlow here: importing this is cheap.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from cnnpc.errors import CnnpcError

Writer = Callable[[BinaryIO], None]


class WriteError(CnnpcError):
    """A file or folder cannot be written: wrong kind of target, missing folder, no permission."""


class ReadError(CnnpcError):
    """A file cannot be read: missing, not a regular file, too large, no permission."""


MiB = 1024 * 1024
MAX_INPUT_BYTES = 256 * MiB
"""The default bound on a file cnnpc reads whole (tables, documents, parts): larger is refused."""


def check_input_file(path: str | Path, what: str = "", max_bytes: int = MAX_INPUT_BYTES) -> Path:
    """`path` if it is a readable regular file (a link to one is fine) of at most `max_bytes`.

    Why: reading a FIFO blocks forever, a device never ends, and a huge file exhausts memory;
    `what` starts the one-line error (e.g. "--keras evil.h5"; default: the path).
    """
    path = Path(path)
    what = what or str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ReadError(f"{what}: a symbolic link to nothing") from None
        raise ReadError(f"{what}: file not found") from None
    except OSError as exc:
        raise ReadError(f"{what}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(f"{what}: it is {_kind(st.st_mode)}, not a regular file")
    if st.st_size > max_bytes:
        raise ReadError(f"{what}: {st.st_size:,} bytes is over the {max_bytes:,}-byte limit for it")
    if not os.access(path, os.R_OK):
        raise ReadError(f"{what}: cannot read: permission denied")
    return path


def read_input(
    path: str | Path, what: str = "", max_bytes: int = MAX_INPUT_BYTES, head: int | None = None
) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (see check_input_file), or only its
    first `head` bytes; never blocks on a FIFO swapped in after the check (opened non-blocking,
    checked again on the handle), and a failing read (EIO) is a ReadError too."""
    path = check_input_file(path, what, max_bytes)
    what = what or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ReadError(f"{what}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ReadError(f"{what}: it is {_kind(st.st_mode)}, not a regular file")
        try:
            data = handle.read(max_bytes + 1 if head is None else head)
        except OSError as exc:
            raise ReadError(f"{what}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ReadError(f"{what}: over the {max_bytes:,}-byte limit for it")
    return data


def read_input_text(path: str | Path, what: str = "", max_bytes: int = MAX_INPUT_BYTES) -> str:
    """A UTF-8 text file read by read_input; bad bytes are a one-line error."""
    data = read_input(path, what, max_bytes)
    what = what or str(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{what}: not UTF-8 text (byte {exc.start})") from None


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a regular file" if stat.S_ISREG(mode) else "of an unknown kind"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_parent(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise WriteError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {path}: folder {parent} is not writable")


def check_file_target(path: str | Path) -> Path:
    """`path` if a file may be written there: absent or a regular file, in a writable folder."""
    path = Path(path)
    st = _lstat(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise WriteError(
            f"cannot write {path}: it is {_kind(st.st_mode)}; cnnpc replaces only regular "
            "files (give another path)"
        )
    _check_parent(path)
    return path


def check_file_targets(paths: Iterable[str | Path]) -> list[Path]:
    """Check every target (see check_file_target) and refuse the same file named twice."""
    checked = [check_file_target(p) for p in paths]
    seen: dict[Path, Path] = {}
    for path in checked:
        key = path.parent.resolve() / path.name
        if key in seen:
            raise WriteError(f"{seen[key]} and {path} name the same file; give two paths")
        seen[key] = path
    return checked


def check_files_in(folder: str | Path, names: Iterable[str]) -> Path:
    """`folder` if `names` may be written in it: it is a folder (or can be made in a writable
    one) and each existing name there is a regular file. Creates nothing."""
    folder = Path(folder)
    st = _lstat(folder)
    if st is None:
        existing = next((a for a in folder.parents if a.exists() or a.is_symlink()), Path())
        if not existing.is_dir():
            raise WriteError(f"cannot create {folder}: {existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise WriteError(f"cannot create {folder}: folder {existing} is not writable")
        return folder
    if not folder.is_dir():
        raise WriteError(f"cannot write in {folder}: it is {_kind(st.st_mode)}, not a folder")
    check_file_targets(folder / name for name in names)
    return folder


def make_folder(folder: str | Path) -> Path:
    """Create `folder` and its parents (once the inputs are known good), as a one-line error."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _stage(path: Path, write: Writer) -> Path:
    """A complete, fsynced temporary copy of the new `path` in its folder."""
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    return tmp


def _bytes_writer(data: bytes) -> Writer:
    def write(handle: BinaryIO) -> None:
        handle.write(data)

    return write


def write_atomically(path: str | Path, write: Writer) -> Path:
    """Call `write` on a temporary file beside `path`, fsync it, then rename it over `path`."""
    return write_files({Path(path): write})[0]


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (see write_atomically)."""
    return write_atomically(path, _bytes_writer(data))


def write_text(path: str | Path, text: str, *, make_parent: bool = False) -> Path:
    """Write UTF-8 `text` to `path` atomically (see write_atomically), creating its folder
    first when `make_parent` (caches whose folders come and go)."""
    if make_parent:
        make_folder(Path(path).parent)
    return write_bytes(path, text.encode("utf-8"))


def write_with(path: str | Path, save: Callable[[Path], None]) -> Path:
    """Let `save` write a temporary file by name (same suffix: it may pick the format), then
    rename it over `path`. For writers that take a file name, such as Keras save_weights."""
    path = check_file_target(path)
    try:
        fd, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}"
        )
        os.close(fd)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        save(tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())
        check_file_target(path)
        tmp.replace(path)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return path


def write_files(files: Mapping[Path, Writer | bytes]) -> list[Path]:
    """Write several files all or nothing: every target is checked, every new file is staged
    complete, and only then are they renamed into place (undone if a rename fails)."""
    targets = check_file_targets(files)
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in zip(targets, files.values(), strict=True):
            writer = _bytes_writer(content) if isinstance(content, bytes) else content
            staged.append((path, _stage(path, writer)))
        check_file_targets(targets)  # nothing swapped in a symlink or FIFO meanwhile
        _commit(staged)
    finally:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
    for folder in {p.parent for p in targets}:
        _fsync_dir(folder)
    return targets


def _commit(staged: list[tuple[Path, Path]]) -> None:
    """Rename each staged file over its target; on a failure put the earlier targets back."""
    done: list[tuple[Path, Path | None]] = []
    try:
        for path, tmp in staged:
            backup: Path | None = None
            if len(staged) > 1 and path.exists():
                backup = path.with_name(f".{path.name}.{secrets.token_hex(4)}.old")
                try:
                    os.link(path, backup)
                except OSError:
                    backup = None  # no hard links here: best effort
            tmp.replace(path)
            done.append((path, backup))
    except OSError as exc:
        for path, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is None:
                    path.unlink()
                else:
                    backup.replace(path)
        failed = staged[len(done)][0]
        raise WriteError(f"cannot write {failed}: {exc.strerror or exc}") from None
    finally:
        for _, backup in done:
            if backup is not None:
                backup.unlink(missing_ok=True)


def check_folder_target(
    target: str | Path, *, force: bool, owned: Callable[[Path], bool], what: str
) -> Path:
    """`target` if a folder may be written there: absent, or (with `force`) a folder that
    `owned` recognises as one of ours; its parent must be a writable folder."""
    target = Path(target)
    st = _lstat(target)
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise WriteError(f"cannot write {target}: it is {_kind(st.st_mode)}, not a folder")
        if not force:
            raise WriteError(f"{target} already exists (remove it, or pass --force to replace it)")
        if not owned(target):
            raise WriteError(
                f"{target} is not a {what} folder; refusing to replace it (give another path)"
            )
    _check_parent(target)
    return target


def write_folder(
    target: str | Path,
    files: Mapping[str, bytes],
    *,
    force: bool,
    owned: Callable[[Path], bool],
    what: str,
) -> Path:
    """Write `files` as a new folder `target` at once (see fill_folder)."""

    def fill(tmp: Path) -> None:
        for name, data in files.items():
            if Path(name).name != name:
                raise WriteError(f"cannot write {target}: bad file name {name!r}")
            (tmp / name).write_bytes(data)

    return fill_folder(target, fill, force=force, owned=owned, what=what)


def fill_folder(
    target: str | Path,
    fill: Callable[[Path], None],
    *,
    force: bool = False,
    owned: Callable[[Path], bool] = lambda _: False,
    what: str = "cnnpc",
) -> Path:
    """Let `fill` write a temporary folder beside `target`, fsync its files, rename it in.

    An existing `target` is replaced only with `force` and only if `owned` says it is ours, and
    only once the new one is complete; on any error the old folder (or none) is left.
    """
    target = check_folder_target(target, force=force, owned=owned, what=what)
    parent = target.parent
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        fill(tmp)
        for file in tmp.rglob("*"):
            if file.is_file() and not file.is_symlink():
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())
        tmp.chmod(0o777 & ~_umask())
        check_folder_target(target, force=force, owned=owned, what=what)
        if target.exists():
            old = parent / f".{target.name}.old-{secrets.token_hex(4)}"
            target.rename(old)
        tmp.rename(target)
    except OSError as exc:
        if old is not None and not target.exists():
            old.rename(target)
            old = None
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(parent)
    return target
