"""Tests of the NetCDF, delimited-text, JCAMP-DX, NMRPipe and Bruker readers.

Structure follows pybaselines: :class:`ReaderTester` holds the checks every
reader must pass (spectral axis last, finite and monotonic, ``source_file``,
repeatable, input untouched, dispatch through :func:`specfit.io.read`); each
``Test*`` class supplies a file and its expected axis and adds format checks.
"""

from __future__ import annotations

from pathlib import Path

import nmrglue as ng
import numpy as np
import pytest
import xarray as xr
from reader_tester import ReaderTester as BaseReaderTester
from reader_tester import assert_format_error

import specfit.io as sio
from specfit.errors import FileFormatError
from specfit.io import bruker, jcamp, netcdf, nmrpipe, text


class ReaderTester(BaseReaderTester):
    """Text and NMR readers: the shared checks plus expected axis name, size, end values and units."""

    dim: str  # expected name of the spectral (last) dimension
    n_points: int
    first: float  # expected first and last axis values (file order)
    last: float
    atol = 1e-6
    units: str | None = None  # expected attrs['units'] when set
    shape: tuple[int, ...] | None = None  # expected full shape when not (n_points,)

    @pytest.fixture
    def data(self, path: Path) -> xr.DataArray:
        return self.module.read(path)

    def test_last_dim_is_axis(self, data):
        assert data.dims[-1] == self.dim
        assert data.shape == (self.shape or (self.n_points,))

    def test_axis_values(self, data):
        axis = data[self.dim].values
        assert axis.size == self.n_points
        assert axis[0] == pytest.approx(self.first, abs=self.atol)
        assert axis[-1] == pytest.approx(self.last, abs=self.atol)

    def test_units(self, data):
        if self.units is not None:
            assert data[self.dim].attrs["units"] == self.units


# --------------------------------------------------------------------------- text


class TestRamanText(ReaderTester):
    """Two tab-separated columns without header: the axis cannot be named, so it is ``x``."""

    module = text
    dim = "x"
    n_points = 1600
    first, last = -95.790799602554, 3650.36820563613
    units = ""

    def make_path(self, tmp_path, shared_data):
        return shared_data("raman", "ramanfitting_Si_spectrum01.txt")

    @pytest.mark.parametrize("position", [1, 2, 3, 4])
    def test_positions(self, position, shared_data):
        da = text.read(shared_data("raman", f"ramanfitting_testDW38C_pos{position}.txt"))
        assert da.dims == ("x",) and da.size == 1600
        assert da.x[0] == pytest.approx(-94.68189, abs=1e-4)
        assert da.x[-1] == pytest.approx(3651.32829, abs=1e-4)
        window = da.sel(x=slice(1500, 1650))
        g_band = float(window.x[int(window.argmax("x"))])
        assert 1570 < g_band < 1590  # PROVENANCE: G band maxima 1573-1585 cm-1

    def test_silicon_peak(self, data):
        window = data.sel(x=slice(400, 700))
        assert float(window.x[int(window.argmax("x"))]) == pytest.approx(519.9, abs=3)


class TestLg4xCsv(ReaderTester):
    """``BE/eV,InPET_C1s`` header: binding-energy axis, the y header names the array."""

    module = text
    dim = "binding_energy"
    n_points = 401
    first, last = 299.300817131996, 279.300817131996
    units = "eV"

    def make_path(self, tmp_path, shared_data):
        return shared_data("xps", "text_formats", "lg4x_PET_C1s.csv")

    def test_names(self, data):
        assert data.name == "InPET_C1s"
        assert data.attrs["axis_label"] == "BE/eV"

    @pytest.mark.parametrize(
        ("name", "n", "first", "last"),
        [("lg4x_C1s_sample.csv", 351, 301.5, 266.5), ("lg4x_111216_0459_O1s.csv", 126, 546.0, 521.0)],
    )
    def test_other_lg4x_files(self, name, n, first, last, shared_data):
        da = text.read(shared_data("xps", "text_formats", name))
        assert da.dims == ("binding_energy",) and da.size == n
        assert (float(da.binding_energy[0]), float(da.binding_energy[-1])) == (first, last)


class TestLmfitxpsCsv(ReaderTester):
    """A ``#`` comment (not a column header) then two comma columns: axis ``x``."""

    module = text
    dim = "x"
    n_points = 294
    first, last = 84.0, 95.9984

    def make_path(self, tmp_path, shared_data):
        return shared_data("xps", "text_formats", "lmfitxps_clean_Au_4f.csv")

    def test_comment_kept(self, data):
        assert "hv=180eV" in data.attrs["comment"]

    def test_au4f_peaks(self, data):
        """PROVENANCE: Au 4f maxima at KE 92.31 and 88.63 eV."""
        for lo, hi, centre in ((91, 94, 92.31), (87, 90, 88.63)):
            window = data.sel(x=slice(lo, hi))
            assert float(window.x[int(window.argmax("x"))]) == pytest.approx(centre, abs=0.1)


class TestLmfitxpsTxt(ReaderTester):
    """Whitespace columns, 8 channels + sum, no header: ``spectrum`` coordinate y0..y9."""

    module = text
    dim = "x"
    n_points = 294
    shape = (10, 294)
    first, last = 84.0, 95.9984

    def make_path(self, tmp_path, shared_data):
        return shared_data("xps", "text_formats", "lmfitxps_clean_Au_4f.txt")

    def test_spectrum_names(self, data):
        assert data.dims == ("spectrum", "x")
        assert list(data.spectrum.values) == [f"y{i}" for i in range(10)]

    def test_sum_column_matches_csv(self, data, shared_data):
        """The last column is the CSV's intensity (the two files differ in their first row only)."""
        csv = text.read(shared_data("xps", "text_formats", "lmfitxps_clean_Au_4f.csv"))
        np.testing.assert_allclose(data.x.values, csv.x.values)
        np.testing.assert_allclose(data.sel(spectrum="y9").values[1:], csv.values[1:])


class TestHendricksCsv(ReaderTester):
    """Six columns, an x/x/y triple per potential: the two ``cps`` columns are the spectra.

    ``BE_raw_3p4V_eV`` repeats the axis and the ``BE_shifted_*`` columns are
    shifted copies of it (monotonic, linear in the first column), so they are
    axes, not spectra: they travel as coordinates (issue 9, part 4).
    """

    module = text
    dim = "binding_energy"
    n_points = 101
    shape = (2, 101)
    first, last = 698.0, 678.0
    units = "eV"

    def make_path(self, tmp_path, shared_data):
        return shared_data("xps", "battery_electrode_hendricks", "hendricks_F1s_0V_3p4V.csv")

    def test_columns(self, data):
        assert list(data.spectrum.values) == ["cps_0V", "cps_3p4V"]
        assert data.attrs["axis_label"] == "BE_raw_0V_eV"
        assert data.attrs["axis_columns"] == ["BE_raw_0V_eV", "BE_shifted_0V_eV", "BE_shifted_3p4V_eV"]
        assert "LiF F 1s = 685 eV" in data.attrs["comment"]

    def test_shifted_axes_are_coordinates(self, data, path):
        """Independent truth: the file's own columns, read with numpy."""
        table = np.genfromtxt(path, delimiter=",", skip_header=2)
        np.testing.assert_array_equal(data.BE_shifted_0V_eV.values, table[:, 1])
        np.testing.assert_array_equal(data.BE_shifted_3p4V_eV.values, table[:, 4])
        np.testing.assert_array_equal(data.sel(spectrum="cps_3p4V").values, table[:, 5])
        # PROVENANCE: shifts +0.11 eV (0 V) and -2.43 eV (3.4 V).
        assert float((data.BE_shifted_0V_eV - data.binding_energy).mean()) == pytest.approx(0.11, abs=1e-9)
        assert float((data.BE_shifted_3p4V_eV - data.binding_energy).mean()) == pytest.approx(-2.43, abs=1e-9)

    def test_f1s_maxima(self, data):
        """PROVENANCE: F 1s maximum 687.1 eV (0 V) and 685.2 eV (3.4 V) on the shifted scales."""
        for potential, expected in (("0V", 687.1), ("3p4V", 685.2)):
            shifted = data[f"BE_shifted_{potential}_eV"].values
            counts = data.sel(spectrum=f"cps_{potential}").values
            assert shifted[np.argmax(counts)] == pytest.approx(expected, abs=0.25)

    def test_choose_columns(self, path):
        """x_column / y_columns by name or index, through specfit.io.read."""
        table = np.genfromtxt(path, delimiter=",", skip_header=2)
        da = sio.read(path, x_column="BE_shifted_3p4V_eV", y_columns=["cps_3p4V"])
        assert da.dims == ("binding_energy",) and da.name == "cps_3p4V"
        np.testing.assert_array_equal(da.binding_energy.values, table[:, 4])
        np.testing.assert_array_equal(da.values, table[:, 5])
        by_index = sio.read(path, x_column=1, y_columns=2)
        np.testing.assert_array_equal(by_index.binding_energy.values, table[:, 1])
        np.testing.assert_array_equal(by_index.values, table[:, 2])
        only_x = sio.read(path, x_column="BE_shifted_0V_eV")  # its own group's spectrum only
        assert only_x.dims == ("binding_energy",) and only_x.name == "cps_0V"

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"x_column": "energy"}, "x_column='energy' is not a column"),
            ({"y_columns": [7]}, "out of range"),
            ({"x_column": 0, "y_columns": [0]}, "distinct columns other than the x column"),
        ],
    )
    def test_bad_column_choice(self, path, kwargs, fragment):
        with pytest.raises(FileFormatError) as info:
            sio.read(path, **kwargs)
        assert fragment in str(info.value) and "0='BE_raw_0V_eV'" in str(info.value)

    @pytest.mark.parametrize(("element", "first"), [("C1s", 298.0), ("O1s", 545.0)])
    def test_other_elements(self, element, first, shared_data):
        da = text.read(shared_data("xps", "battery_electrode_hendricks", f"hendricks_{element}_0V_3p4V.csv"))
        assert da.dims == ("spectrum", "binding_energy") and da.shape == (2, 101)
        assert list(da.spectrum.values) == ["cps_0V", "cps_3p4V"]
        assert float(da.binding_energy[0]) == first


def test_text_axis_column_without_spectrum_is_ambiguous(tmp_path):
    """A trailing axis-like column with no intensity after it: an error listing the columns."""
    rows = "\n".join(f"{700 - i},{100 + (i % 7) ** 2},{702 - i}" for i in range(20))
    path = _write(tmp_path, "amb.csv", "BE,cps,BE_ref\n" + rows + "\n")
    message = assert_format_error(path)
    assert "cannot tell which columns are spectra" in message and "2='BE_ref'" in message


def test_text_pairs_on_different_axes_give_a_tree(tmp_path):
    """x1,y1,x2,y2 on different axes: one DataTree child per pair, each on its own axis."""
    rows = "\n".join(f"{100 + i},{(i % 5) * 3 + 1},{200 + 2 * i},{(i % 4) * 2 + 9}" for i in range(12))
    path = _write(tmp_path, "pairs.csv", "BE_a,ya,BE_b,yb\n" + rows + "\n")
    tree = sio.read(path)
    assert isinstance(tree, xr.DataTree) and set(tree.children) == {"ya", "yb"}
    np.testing.assert_array_equal(tree["yb"]["intensity"].binding_energy.values, 200 + 2 * np.arange(12))
    np.testing.assert_array_equal(tree["ya"]["intensity"].values, [(i % 5) * 3 + 1 for i in range(12)])


def test_column_arguments_refused_for_formats_without_columns(shared_data):
    path = shared_data("nmr", "nmrpipe_13C", "1d_data.ft")
    with pytest.raises(FileFormatError, match="no columns to choose"):
        sio.read(path, x_column=0)


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


_X = np.linspace(300.0, 280.0, 21)
_Y = np.exp(-((_X - 290.0) ** 2) / 4.0) * 1000.0


class TestSemicolonCsv(ReaderTester):
    """A written semicolon file with header and several y columns."""

    module = text
    dim = "binding_energy"
    n_points = 21
    shape = (3, 21)
    first, last = 300.0, 280.0
    units = "eV"

    def make_path(self, tmp_path, shared_data):
        rows = "\n".join(f"{x};{y};{2 * y};{3 * y}" for x, y in zip(_X, _Y))
        return _write(tmp_path, "series.csv", "Binding Energy (eV);a;b;c\n" + rows + "\n")

    def test_spectra(self, data):
        assert list(data.spectrum.values) == ["a", "b", "c"]
        np.testing.assert_allclose(data.sel(spectrum="c").values, 3 * _Y)


@pytest.mark.parametrize("delimiter", [",", "\t", ";", " ", "   "])
@pytest.mark.parametrize("header", [True, False])
def test_text_delimiters(tmp_path, delimiter, header):
    rows = "\n".join(f"{x}{delimiter}{y}" for x, y in zip(_X, _Y))
    # with whitespace columns a header name cannot contain blanks
    label = "raman_shift" if delimiter.strip(" ") == "" else "Raman shift / cm-1"
    content = (f"{label}{delimiter}counts\n" if header else "") + rows
    da = text.read(_write(tmp_path, "s.txt", "# a comment\n" + content + "\n"))
    assert da.dims == (("raman_shift",) if header else ("x",))
    np.testing.assert_allclose(da[da.dims[0]].values, _X)
    np.testing.assert_allclose(da.values, _Y)
    assert da.name == ("counts" if header else None)


@pytest.mark.parametrize(
    ("label", "dim"),
    [
        ("Raman Shift", "raman_shift"),
        ("wavenumber (cm^-1)", "raman_shift"),
        ("shift 1/cm", "raman_shift"),
        ("Binding Energy", "binding_energy"),
        ("BE [eV]", "binding_energy"),
        ("delta (ppm)", "chemical_shift"),
        ("Kinetic energy", "kinetic_energy"),
        ("KE/eV", "kinetic_energy"),
        ("E_kin", "kinetic_energy"),
        ("wavelength (nm)", "x"),
        ("Best", "x"),
    ],
)
def test_text_axis_names(tmp_path, label, dim):
    rows = "\n".join(f"{x},{y}" for x, y in zip(_X, _Y))
    da = text.read(_write(tmp_path, "a.csv", f"{label},y\n{rows}\n"))
    assert da.dims == (dim,)
    assert da.attrs["axis_label"] == label


def test_text_unit_from_unrecognised_header(tmp_path):
    rows = "\n".join(f"{x},{y}" for x, y in zip(_X, _Y))
    da = text.read(_write(tmp_path, "a.csv", f"wavelength (nm),y\n{rows}\n"))
    assert da.x.attrs["units"] == "nm"


def test_text_savetxt_comment_header(tmp_path):
    """numpy.savetxt writes the header as a comment; it still names the columns."""
    path = tmp_path / "saved.csv"
    np.savetxt(path, np.column_stack([_X, _Y, _Y]), delimiter=",", header="binding energy,a,b")
    da = text.read(path)
    assert da.dims == ("spectrum", "binding_energy")
    assert list(da.spectrum.values) == ["a", "b"]


def test_text_nan_in_y_is_kept(tmp_path):
    rows = [f"{x},{y}" for x, y in zip(_X, _Y)]
    rows[3] = f"{_X[3]},nan"
    rows[5] = f"{_X[5]},"
    da = text.read(_write(tmp_path, "n.csv", "BE,y\n" + "\n".join(rows) + "\n"))
    assert np.isnan(da.values[[3, 5]]).all()
    assert np.isfinite(np.delete(da.values, [3, 5])).all()


def test_text_decimal_comma(tmp_path):
    rows = "\n".join(f"{x:.2f};{y:.3f}".replace(".", ",") for x, y in zip(_X, _Y))
    da = text.read(_write(tmp_path, "de.csv", "BE;cps\n" + rows + "\n"))
    np.testing.assert_allclose(da.binding_energy.values, _X)
    np.testing.assert_allclose(da.values, _Y, atol=1e-3)


def test_text_crlf_and_bom(tmp_path):
    rows = "\r\n".join(f"{x},{y}" for x, y in zip(_X, _Y))
    path = tmp_path / "w.csv"
    path.write_bytes(("\ufeffBE,cps\r\n" + rows + "\r\n").encode("utf-8"))
    da = text.read(path)
    assert da.dims == ("binding_energy",) and da.size == 21


def _good_rows() -> list[str]:
    return [f"{x},{y}" for x, y in zip(_X, _Y)]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("x,y\n" + "\n".join(_good_rows()[:4] + ["1.0,2.0,3.0"] + _good_rows()[5:]), "line 6"),
        ("x,y\n" + "\n".join(_good_rows()[:4] + ["1.0,abc"] + _good_rows()[5:]), "line 6"),
        ("x,y\n" + "\n".join(_good_rows()[:4] + ["nan,2.0"] + _good_rows()[5:]), "line 6"),
        ("x,y\n" + "\n".join(_good_rows()[:2]), "3 points"),
        ("# only a comment\nx,y\n", "no numeric"),
        ("just some prose\nwith no numbers\n", "no numeric"),
        ("1\n2\n3\n4\n", "2 columns"),
    ],
    ids=["ragged", "text-in-data", "nan-x", "too-few", "header-only", "prose", "one-column"],
)
def test_text_malformed(tmp_path, content, fragment):
    path = _write(tmp_path, "bad.csv", content)
    assert fragment in assert_format_error(path, text.read)


def test_text_empty_file(tmp_path):
    assert_format_error(_write(tmp_path, "empty.csv", ""))
    assert_format_error(_write(tmp_path, "blank.csv", "\n\n  \n"), text.read)


# --------------------------------------------------------------------------- NetCDF


def _example_array() -> xr.DataArray:
    energy = xr.Variable("binding_energy", np.linspace(295.0, 280.0, 31), attrs={"units": "eV"})
    return xr.DataArray(
        np.arange(62.0).reshape(2, 31),
        dims=("spectrum", "binding_energy"),
        coords={
            "spectrum": ["0V", "3.4V"],
            "binding_energy": energy,
            "temperature": ("spectrum", [20.0, 25.0]),
        },
        name="intensity",
        attrs={"units": "eV", "instrument": "PHI 5400", "photon_energy": 1486.6},
    )


class TestNetcdf(ReaderTester):
    module = netcdf
    dim = "binding_energy"
    n_points = 31
    shape = (2, 31)
    first, last = 295.0, 280.0
    units = "eV"

    def make_path(self, tmp_path, shared_data):
        path = tmp_path / "spectra.nc"
        _example_array().to_netcdf(path, engine="h5netcdf")
        return path

    def test_round_trip(self, data):
        expected = _example_array()
        xr.testing.assert_identical(data.drop_attrs(deep=False), expected.drop_attrs(deep=False))
        assert data.attrs == {**expected.attrs, "source_file": data.attrs["source_file"]}
        assert data.binding_energy.attrs == expected.binding_energy.attrs

    def test_file_closed(self, data, path):
        """Data are in memory: the file can be replaced after reading."""
        path.unlink()
        assert float(data.sum()) == float(np.arange(62.0).sum())

    @pytest.mark.parametrize(
        ("engine", "suffix"), [("scipy", ".nc"), ("netcdf4", ".nc4"), ("h5netcdf", ".h5")]
    )
    def test_engines_and_unnamed(self, tmp_path, engine, suffix):
        da = _example_array().rename(None)
        path = tmp_path / f"u{suffix}"
        da.to_netcdf(path, engine=engine)
        back = sio.read(path)
        assert back.name is None
        np.testing.assert_array_equal(back.values, da.values)
        assert back.dims == da.dims

    def test_preferred_name_among_several(self, tmp_path):
        da = _example_array()
        path = tmp_path / "two.nc"
        xr.Dataset({"background": da * 0, "counts": da}).to_netcdf(path)
        assert sio.read(path).name == "counts"

    def test_specfit_result_returns_data(self, tmp_path):
        da = _example_array()
        path = tmp_path / "result.nc"
        ds = xr.Dataset({"data": da, "fit": da * 0.5, "residual": da * 0.5}, attrs={"specfit_version": "0.1"})
        ds.to_netcdf(path)
        back = sio.read(path)
        assert back.name == "data"
        assert "specfit_version" not in back.attrs
        np.testing.assert_array_equal(back.values, da.values)

    def test_two_unnamed_variables(self, tmp_path):
        path = tmp_path / "ambiguous.nc"
        xr.Dataset({"a": _example_array(), "b": _example_array()}).to_netcdf(path)
        message = assert_format_error(path)
        assert "a, b" in message

    def test_corrupt_hdf5(self, tmp_path):
        path = tmp_path / "broken.h5"
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200)
        assert_format_error(path)


# --------------------------------------------------------------------------- JCAMP-DX

_JCAMP_DIR = ("nmr", "jcamp_13C")


class TestJcampAffn(ReaderTester):
    """Bruker 13C JCAMP: Hz axis converted to ppm with $OFFSET and $SF (100.4 MHz)."""

    module = jcamp
    dim = "chemical_shift"
    n_points = 16384
    first, last = 239.4273, 239.4273 - 24038.5 / 100.4  # last point is 0 Hz; $OFFSET is rounded
    units = "ppm"

    def make_path(self, tmp_path, shared_data):
        return shared_data(*_JCAMP_DIR, "BRUKAFFN.DX")

    def test_hz_axis(self, data):
        """Back to Hz the axis is FIRSTX 24038.5 -> LASTX 0 in even steps."""
        hz = (data.chemical_shift.values - data.chemical_shift.values[-1]) * 100.4
        assert hz[0] == pytest.approx(24038.5, abs=1e-3)
        np.testing.assert_allclose(np.diff(hz), -1.46728315937252, rtol=1e-9)

    def test_attrs(self, data):
        assert data.attrs["data_type"] == "NMR Spectrum"
        assert data.attrs["xunits"] == "HZ"
        assert data.attrs["yunits"] == "ARBITRARY UNITS"
        assert data.attrs["observe_frequency_MHz"] == 100.4
        assert data.attrs["nucleus"] == "^13C"
        assert data.attrs["title"] == "diff"

    def test_header_extremes(self, data):
        assert (data.values[0], data.values.max(), data.values.min()) == (2259260, 972201806, -27593530)

    @pytest.mark.parametrize("encoding", ["SQZ", "PAC"])
    def test_encodings_identical(self, data, encoding, shared_data):
        other = jcamp.read(shared_data(*_JCAMP_DIR, f"BRUK{encoding}.DX"))
        np.testing.assert_array_equal(other.values, data.values)
        np.testing.assert_array_equal(other.chemical_shift.values, data.chemical_shift.values)


class TestJcampDif(TestJcampAffn):
    """DIF/DUP with inline ``$$`` comments and Y-checks.

    BRUKDIF holds a slightly different acquisition of the same spectrum (its
    own header says ``##FIRSTY= 2254931``, ``##MINY= -27593239``), so it is
    compared with its header values and with AFFN to 2e-5 of the maximum,
    not for bit identity.
    """

    def make_path(self, tmp_path, shared_data):
        return shared_data(*_JCAMP_DIR, "BRUKDIF.DX")

    def test_attrs(self, data):
        assert data.attrs["title"] == "testspec"
        assert data.attrs["nucleus"] == "^13C"

    def test_header_extremes(self, data):
        assert (data.values[0], data.values.max(), data.values.min()) == (2254931, 972201806, -27593239)

    @pytest.mark.parametrize("encoding", ["AFFN", "SQZ", "PAC"])
    def test_encodings_identical(self, data, encoding, shared_data):
        other = jcamp.read(shared_data(*_JCAMP_DIR, f"BRUK{encoding}.DX"))
        np.testing.assert_array_equal(other.chemical_shift.values, data.chemical_shift.values)
        np.testing.assert_allclose(data.values, other.values, atol=2e-5 * other.values.max())

    def test_dif_y_check_failure(self, tmp_path, path):
        text_ = path.read_text(encoding="latin-1")
        broken = text_.replace("0 A513177    ", "0 A513178    ")  # the final Y-check value
        assert broken != text_
        assert "Y-check" in assert_format_error(_write(tmp_path, "broken.dx", broken))


_RAMAN_JDX = """##TITLE= test Raman
##JCAMP-DX= 4.24
##DATA TYPE= RAMAN SPECTRUM
##XUNITS= 1/CM
##YUNITS= ARBITRARY UNITS
##XFACTOR= 1
##YFACTOR= 0.5
##FIRSTX= 100
##LASTX= 109
##NPOINTS= 10
##FIRSTY= 2
##XYDATA=(X++(Y..Y))
100 4 6 8 10 12 $$ AFFN
105 14 16 18 20 22
##END=
"""


class TestJcampRaman(ReaderTester):
    module = jcamp
    dim = "raman_shift"
    n_points = 10
    first, last = 100.0, 109.0
    units = "cm-1"

    def make_path(self, tmp_path, shared_data):
        return _write(tmp_path, "raman.jdx", _RAMAN_JDX)

    def test_yfactor(self, data):
        np.testing.assert_array_equal(data.values, np.arange(2.0, 12.0))


@pytest.mark.parametrize(
    "body",
    ["100 1 2 3 3 3 2", "100ABCCCB", "100ABCUB", "100AJJ%Tj", "100AJJ $$ comment\n102C%%j\n105B"],
    ids=["AFFN", "SQZ", "SQZ-DUP", "DIF-DUP", "DIF-Y-check"],
)
def test_jcamp_asdf_synthetic(tmp_path, body):
    """Hand-encoded ASDF for 1 2 3 3 3 2 (the last one spans lines with a DIF Y-check)."""
    header = _RAMAN_JDX.split("##XYDATA")[0].replace("##LASTX= 109", "##LASTX= 105")
    header = header.replace("##NPOINTS= 10", "##NPOINTS= 6").replace("##YFACTOR= 0.5", "##YFACTOR= 1")
    content = header + "##XYDATA=(X++(Y..Y))\n" + body + "\n##END=\n"
    da = jcamp.read(_write(tmp_path, "s.jdx", content))
    np.testing.assert_array_equal(da.values, [1, 2, 3, 3, 3, 2])


def test_jcamp_xypoints_and_ir(tmp_path):
    content = (
        "##TITLE= ir\n##JCAMP-DX= 5.0\n##DATA TYPE= INFRARED SPECTRUM\n##XUNITS= 1/CM\n"
        "##YUNITS= TRANSMITTANCE\n##XFACTOR= 2\n##NPOINTS= 3\n##XYPOINTS=(XY..XY)\n"
        "500, 0.9; 501, 0.8\n502, 0.7\n##END=\n"
    )
    da = jcamp.read(_write(tmp_path, "ir.jdx", content))
    assert da.dims == ("x",) and da.x.attrs["units"] == "cm-1"  # IR wavenumbers are not Raman shifts
    np.testing.assert_array_equal(da.x.values, [1000.0, 1002.0, 1004.0])


def test_jcamp_nmr_without_reference_stays_hz(tmp_path):
    content = (
        "##TITLE= nmr\n##JCAMP-DX= 5.0\n##DATA TYPE= NMR SPECTRUM\n##XUNITS= HZ\n##YUNITS= A\n"
        "##.OBSERVE FREQUENCY= 100.4\n##FIRSTX= 300\n##LASTX= 0\n##NPOINTS= 4\n"
        "##XYDATA=(X++(Y..Y))\n300 1 2 3 4\n##END=\n"
    )
    da = jcamp.read(_write(tmp_path, "hz.jdx", content))
    assert da.dims == ("frequency",) and da.frequency.attrs["units"] == "Hz"
    shifted = jcamp.read(
        _write(
            tmp_path,
            "ref.jdx",
            content.replace("##XYDATA", "##.SHIFT REFERENCE= (INTERNAL, TMS, 4, 0.0)\n##XYDATA"),
        )
    )
    np.testing.assert_allclose(shifted.chemical_shift.values, np.array([300, 200, 100, 0]) / 100.4)


@pytest.mark.parametrize(
    ("replace", "fragment"),
    [
        (("##NPOINTS= 10", "##NPOINTS= 12"), "NPOINTS"),
        (("105 14", "105 1?4"), "invalid character"),
        (("##XYDATA=(X++(Y..Y))", "##NOTDATA= 1"), "no ##XYDATA"),
    ],
)
def test_jcamp_malformed(tmp_path, replace, fragment):
    path = _write(tmp_path, "bad.jdx", _RAMAN_JDX.replace(*replace))
    assert fragment in assert_format_error(path)


# --------------------------------------------------------------------------- NMRPipe

_PIPE = ("nmr", "nmrpipe_13C", "1d_data.ft")


class TestNmrpipe(ReaderTester):
    module = nmrpipe
    dim = "chemical_shift"
    n_points = 16384
    first, last = 300.1903, -97.6180
    atol = 1e-3
    units = "ppm"

    def make_path(self, tmp_path, shared_data):
        return shared_data(*_PIPE)

    def test_attrs(self, data):
        assert data.attrs["observe_frequency_MHz"] == pytest.approx(125.681, abs=1e-3)
        assert data.attrs["spectral_width_Hz"] == 50000.0
        assert data.attrs["nucleus"] == "C13"
        assert data.attrs["carrier_ppm"] == pytest.approx(101.274, abs=1e-3)

    def test_integration_reproduces_area_out(self, data, shared_data):
        """PROVENANCE check: point sums over limits.in ranges give area.out (nmrglue example)."""
        folder = shared_data(*_PIPE).parent
        areas = {}
        for line in (folder / "area.out").read_text().splitlines()[1:]:
            name, _, _, area = line.split()
            areas[name] = float(area)
        ppm = data.chemical_shift.values
        checked = 0
        for line in (folder / "limits.in").read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            name, start, stop = line.split()
            inside = (ppm <= float(start) + 1e-9) & (ppm >= float(stop) - 1e-9)
            # nmrglue's unit converter rounds ppm to the nearest point; take the same end points
            lo, hi = sorted(int(np.argmin(np.abs(ppm - float(v)))) for v in (start, stop))
            assert abs(int(inside.sum()) - (hi - lo + 1)) <= 2
            total = float(np.sum(data.values[lo : hi + 1], dtype=np.float64))
            assert total == pytest.approx(areas[name], rel=5e-6), name
            checked += 1
        assert checked == 10

    @pytest.mark.parametrize("keep", [100, 3000, -4])
    def test_truncated(self, tmp_path, keep, shared_data):
        raw = shared_data(*_PIPE).read_bytes()
        path = tmp_path / "cut.ft"
        path.write_bytes(raw[:keep])
        assert_format_error(path, nmrpipe.read)
        if keep > 12:
            assert_format_error(path)


# --------------------------------------------------------------------------- Bruker

_LI_PPM = -1.234  # synthetic 7Li peak position
_SI, _SF, _SW_P, _OFFSET = 4096, 155.5, 10000.0, 20.0


def _write_bruker(root: Path) -> Path:
    """A minimal experiment ``root/10`` with acqus and pdata/1 holding a Lorentzian at _LI_PPM."""
    ppm = _OFFSET - np.arange(_SI) * _SW_P / _SF / _SI  # the axis convention under test
    spectrum = 1.0e6 / (1.0 + ((ppm - _LI_PPM) / 0.05) ** 2)
    jcamp_head = {"_comments": [], "_coreheader": ["##TITLE= Parameter file", "##JCAMPDX= 5.0"]}
    procs = {
        "SI": _SI,
        "SF": _SF,
        "SW_p": _SW_P,
        "OFFSET": _OFFSET,
        "BYTORDP": 0,
        "DTYPP": 0,
        "NC_proc": 0,
        "XDIM": _SI,
        "PPARMOD": 0,
        "AXNUC": "7Li",
        **jcamp_head,
    }
    acqus = {
        "NUC1": "7Li",
        "BF1": 155.4948,
        "SFO1": 155.5001,
        "SW_h": _SW_P,
        "TD": _SI,
        "BYTORDA": 0,
        **jcamp_head,
    }
    experiment = root / "10"
    experiment.mkdir(parents=True)
    dic = {"procs": procs, "acqus": dict(acqus)}
    ng.bruker.write_pdata(str(experiment), dic, spectrum, write_procs=True, pdata_folder=1, overwrite=True)
    ng.bruker.write_jcamp(acqus, str(experiment / "acqus"))
    return experiment


class TestBruker(ReaderTester):
    module = bruker
    dim = "chemical_shift"
    n_points = _SI
    first, last = _OFFSET, _OFFSET - (_SI - 1) * _SW_P / _SF / _SI
    units = "ppm"

    def make_path(self, tmp_path, shared_data):
        return _write_bruker(tmp_path) / "pdata" / "1"

    def test_peak_position(self, data):
        step = _SW_P / _SF / _SI
        assert float(data.chemical_shift[int(np.argmax(data.values))]) == pytest.approx(_LI_PPM, abs=step)

    def test_attrs(self, data):
        assert data.attrs["nucleus"] == "7Li"
        assert data.attrs["SF"] == _SF
        assert data.attrs["SR"] == pytest.approx((155.5 - 155.4948) * 1e6, abs=1e-3)
        assert data.attrs["observe_frequency_MHz"] == 155.5001

    @pytest.mark.parametrize("target", ["experiment", "1r"])
    def test_other_entry_points(self, tmp_path, data, target):
        experiment = tmp_path / "10"  # written by the `path` fixture in the same tmp_path
        path = experiment if target == "experiment" else experiment / "pdata" / "1" / "1r"
        other = sio.read(path)
        np.testing.assert_array_equal(other.values, data.values)
        assert other.attrs["source_file"] == str(path)

    def test_without_acqus(self, path, tmp_path):
        (tmp_path / "10" / "acqus").unlink()
        da = bruker.read(path)
        assert "SR" not in da.attrs and da.attrs["nucleus"] == "7Li"

    def test_not_bruker(self, tmp_path):
        empty = tmp_path / "empty_dir"
        empty.mkdir()
        assert not bruker.sniff(empty, b"")
        assert_format_error(empty)
        assert_format_error(empty, bruker.read)

    def test_truncated_1r(self, path):
        one_r = path / "1r"
        one_r.write_bytes(one_r.read_bytes()[:100])
        assert_format_error(path)
