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
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from specfit.errors import SpecfitError

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


def atomic_write(path: str | Path, write: Callable[[str], None], *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Target file; a missing folder is created.
    write : callable
        Writes the complete content to the temporary path it is given.
    inputs : tuple of paths
        Files of this call that must never be replaced (besides those read in the session).

    Raises
    ------
    SpecfitError
        The target is an input or a folder, or its folder cannot be created or written.
    """
    import tempfile

    path = Path(path)
    check_not_input(path, inputs)
    if path.is_dir():
        raise SpecfitError(f"{path}: is a folder; give a file name for the output")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecfitError(f"{path}: cannot create the output folder {path.parent} ({exc.strerror or exc})") from None
    _clean_stale(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else _umask_mode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SpecfitError(f"{path}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


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
