"""Renishaw .wdf: attribute mapping (no public .wdf exists) and error handling."""

from __future__ import annotations

import types

import numpy as np
import pytest

import specfit
from specfit.io import wdf


def fake_reader(spectra, x, **extra):
    unit = types.SimpleNamespace(name="RamanShift")
    return types.SimpleNamespace(xdata=x, spectra=spectra, xlist_unit=unit, title="t", laser_length=532.0,
                                 measurement_type=types.SimpleNamespace(name="Mapping"), **extra)


def test_single_series_and_map(tmp_path):
    x = np.linspace(1800, 1000, 50)  # WiRE stores the shift descending
    one = wdf.to_dataarray(fake_reader(np.arange(50.0), x), tmp_path / "a.wdf")
    assert one.dims == ("raman_shift",) and one.raman_shift.values[0] == 1800
    series = wdf.to_dataarray(fake_reader(np.ones((3, 50)), x, xpos=np.array([0, 1, 2.0]),
                                          ypos=np.zeros(3)), tmp_path / "a.wdf")
    assert series.dims == ("spectrum", "raman_shift")
    np.testing.assert_array_equal(series.stage_x.values, [0, 1, 2])
    xs, ys = np.meshgrid(np.arange(4.0), np.arange(2.0) * 10)
    grid = wdf.to_dataarray(fake_reader(np.ones((2, 4, 50)), x, xpos=xs.ravel(), ypos=ys.ravel()),
                            tmp_path / "a.wdf")
    assert grid.dims == ("map_y", "map_x", "raman_shift")
    np.testing.assert_array_equal(grid.map_x.values, [0, 1, 2, 3])
    np.testing.assert_array_equal(grid.map_y.values, [0, 10])
    assert grid.attrs["laser_wavelength_nm"] == 532.0


def test_mismatched_axis_is_a_clear_error(tmp_path):
    with pytest.raises(specfit.FileFormatError, match="a.wdf"):
        wdf.to_dataarray(fake_reader(np.ones(40), np.arange(50.0)), tmp_path / "a.wdf")


def test_garbled_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.wdf"
    bad.write_bytes(b"WDF1" + b"\x00" * 100)
    with pytest.raises(specfit.FileFormatError, match="bad.wdf") as info:
        specfit.read(bad)
    assert "\n" not in str(info.value)


def test_header_only_file_names_missing_block(tmp_path):
    bad = tmp_path / "header.wdf"
    header = b"WDF1" + (1).to_bytes(4, "little") + (512).to_bytes(8, "little")
    bad.write_bytes(header + b"\x00" * (512 - len(header)))
    with pytest.raises(specfit.FileFormatError, match="missing WiRE block DATA"):
        specfit.read(bad)
