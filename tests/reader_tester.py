"""The one base class every reader's tests inherit (pybaselines' ``BaseTester`` pattern).

A subclass names the reader ``module`` and says where its file is
(:meth:`ReaderTester.make_path`); the base checks what every reader owes the
user: :func:`specfit.io.read` picks this reader, the result has the spectral
axis last, finite and strictly monotonic, records ``source_file``, reading
leaves the input byte-identical, and two reads are identical.  Format-specific
expectations live in the subclasses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import xarray as xr

import specfit.io as sio
from specfit.errors import FileFormatError


def fingerprint(path: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and mtime of a file, or of every file below a directory."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in files}


def head(path: Path) -> bytes:
    """First 4096 bytes of a file (empty for a directory)."""
    if not path.is_file():
        return b""
    with open(path, "rb") as fh:
        return fh.read(4096)


def assert_format_error(path: Path, reader=sio.read) -> str:
    """Reading ``path`` raises FileFormatError with a one-line message naming the file."""
    with pytest.raises(FileFormatError) as info:
        reader(path)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    return message


def spectra(result: xr.DataArray | xr.DataTree) -> list[xr.DataArray]:
    """Every spectrum DataArray of a read result (one, or one per DataTree region)."""
    if isinstance(result, xr.DataArray):
        return [result]
    out = []
    for child in result.children.values():
        ds = child.to_dataset()
        out.extend(ds[name] for name in ds.data_vars)
    return out


class ReaderTester:
    """Checks every reader must pass; subclasses set ``module`` and implement :meth:`make_path`."""

    module: ModuleType

    def make_path(self, tmp_path: Path, shared_data) -> Path:
        """Path of the file (or folder) to read: in ``../shared/data`` or written into ``tmp_path``."""
        raise NotImplementedError

    @pytest.fixture
    def path(self, tmp_path: Path, shared_data) -> Path:
        return self.make_path(tmp_path, shared_data)

    @pytest.fixture
    def data(self, path: Path):
        return sio.read(path)

    def test_dispatch(self, path):
        """specfit.io.read hands the file to this reader (by suffix and sniffing the head bytes)."""
        assert self.module.sniff(path, head(path))
        suffix = path.suffix.lower()
        claimed = [m for m in sio._modules() if suffix in m.EXTENSIONS and m.sniff(path, head(path))] or \
            [m for m in sio._modules() if m.sniff(path, head(path))]
        assert claimed[0] is self.module

    def test_spectral_axis_last_finite_monotonic(self, data):
        for da in spectra(data):
            dim = da.dims[-1]
            axis = np.asarray(da[dim].values, float)
            assert np.isfinite(axis).all()
            step = np.diff(axis)
            assert (step > 0).all() or (step < 0).all()

    def test_source_file(self, data, path):
        for da in spectra(data):
            assert da.attrs["source_file"] == str(path)

    def test_input_unchanged(self, path):
        before = fingerprint(path)
        sio.read(path)
        assert fingerprint(path) == before

    def test_repeatable(self, data, path):
        xr.testing.assert_identical(sio.read(path), data)
