"""Writing without losing anything: atomic replacement, and never over a file read in this session.

Every specfit writer (result files, figures, tables) goes through
:func:`atomic_write`: the content is written to a temporary file beside the
target and renamed over it (``os.replace``), so an interrupted run leaves the
old file or the new one, never half of one.  The temporary file carries the
writer's process id; one left behind by a killed process is removed by the
next write to the same target.  The new file gets the mode a plain
``open(path, "w")`` would give (``0o666 & ~umask``), or keeps the mode of the
file it replaces.

Files that specfit read in this session (spectra, libraries, results) are
recorded by :func:`record_read`; writing over one of them raises
:class:`~specfit.errors.SpecfitError` naming it, in the API as on the command line.

Only regular files are ever replaced: an output path naming a device (``/dev/null``),
a named pipe, a socket or a folder is refused with
:class:`~specfit.errors.OutputError` before anything is written (issue 22: as root,
a rename over ``/dev/null`` replaced the device).  A write that fails -- a full disk,
a quota, an I/O error -- removes its temporary file, leaves the old target untouched and
raises :class:`~specfit.errors.OutputError` naming the target (never the raw ``OSError``).
The temporary file is flushed to disk (``fsync``) before the rename, so a disk that fills
up at that point is caught too.  Result files are serialised in memory first
(:func:`write_bytes`): HDF5 never writes to the disk itself, so a full disk cannot leave
an HDF5 handle in a failed state (it crashed the interpreter at exit).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from specfit.errors import OutputError, SpecfitError

_READ_IN_SESSION: set[str] = set()


def _key(path: str | Path) -> str:
    return os.path.realpath(os.fspath(path))


def record_read(path: str | Path) -> None:
    """Remember that ``path`` was read, so no writer replaces it in this session."""
    _READ_IN_SESSION.add(_key(path))


def check_not_input(path: str | Path, inputs: tuple[str | Path, ...] = ()) -> None:
    """Refuse ``path`` when it is one of ``inputs`` or a file read in this session.

    Raises
    ------
    SpecfitError
        ``"<path>: refusing to overwrite an input file (...)"``.
    """
    key = _key(path)
    if key in {_key(p) for p in inputs} or key in _READ_IN_SESSION:
        raise SpecfitError(f"{path}: refusing to overwrite an input file (it was read in this session; "
                           "choose another output name)")


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(target: Path) -> None:
    """Remove ``.<name>.<pid>.*.tmp`` files of ``target`` whose writer process is gone."""
    prefix = f".{target.name}."
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            try:
                entry.unlink()
            except OSError:
                pass


#: What a path that is not a regular file is, for the message.
_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def check_regular_target(path: str | Path) -> os.stat_result | None:
    """Refuse an output path that exists and is not a regular file (device, FIFO, socket, folder).

    Symbolic links are followed: a link to ``/dev/null`` is refused like ``/dev/null``.

    Returns
    -------
    os.stat_result or None
        The target's status, or None when it does not exist yet.

    Raises
    ------
    OutputError
        ``"<path>: is a character device, not a regular file; ..."``.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot use as output ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a folder; give a file name for the output")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _SPECIAL if test(st.st_mode)), "a special file")
        raise OutputError(f"{path}: is {kind}, not a regular file; specfit only writes regular files "
                          "(it never replaces a device or pipe): give a file name for the output")
    return st


def write_error(path: str | Path, exc: OSError) -> OutputError:
    """The one-line :class:`OutputError` for an ``OSError`` raised while writing ``path``."""
    text = str(exc)
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in text:
        what = "no space left on device" if getattr(exc, "errno", None) != errno.EDQUOT else "disk quota exceeded"
        return OutputError(f"{path}: {what} while writing it (the previous file, if any, is unchanged; "
                           "no temporary file left)")
    reason = getattr(exc, "strerror", None) or " ".join(text.split())
    return OutputError(f"{path}: cannot write it ({reason}; the previous file, if any, is unchanged)")


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself is done
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[str], None], *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Target file; a missing folder is created.  It must be a regular file or not exist.
    write : callable
        Writes the complete content to the temporary path it is given.
    inputs : tuple of paths
        Files of this call that must never be replaced (besides those read in the session).

    Raises
    ------
    SpecfitError
        The target is an input file.
    OutputError
        The target is a folder, a device, a FIFO or a socket; its folder cannot be
        created or written; or writing failed (full disk, quota, I/O error).  The old
        target is then unchanged and no temporary file is left.
    """
    import tempfile

    path = Path(path)
    check_not_input(path, inputs)
    st = check_regular_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output folder {path.parent} ({exc.strerror or exc})") from None
    _clean_stale(path)
    mode = stat.S_IMODE(st.st_mode) if st is not None else _umask_mode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise write_error(path, exc) from None
        raise OutputError(f"{path}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        write(tmp)
        _fsync(tmp)
        os.chmod(tmp, mode)
        check_regular_target(path)  # not turned into a device or pipe while we wrote
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, SpecfitError):
            raise write_error(path, exc) from None
        raise
    _fsync_folder(path.parent)
    return path


def _write_all(tmp: str, data: bytes | memoryview) -> None:
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_bytes(path: str | Path, data: bytes | memoryview, *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Write ``data`` (already serialised in memory) to ``path`` through :func:`atomic_write`."""
    return atomic_write(path, lambda tmp: _write_all(tmp, data), inputs=inputs)


def save_figure(fig, path: str | Path, *, dpi: int = 150, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix (png, svg, pdf).

    Raises
    ------
    SpecfitError
        Unsupported suffix, an input as target, or an unwritable folder.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".") or "png"
    supported = fig.canvas.get_supported_filetypes()
    if suffix not in supported:
        raise SpecfitError(f"{path}: cannot write a figure as .{suffix}; use one of "
                           f"{', '.join('.' + s for s in sorted(supported))}")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=suffix), inputs=inputs)
