"""Tests of the XPS readers: VAMAS, Prodigy .xy, CasaXPS CSV, PHI MultiPak and Scienta SES text.

Structure follows pybaselines: :class:`ReaderTester` holds the checks every
reader must pass (read through :func:`specfit.io.read` by the right module,
spectral axis last and monotonic, finite values, ``source_file``, expected
regions and axes, input untouched, repeatable, truncated and garbled copies
rejected with a one-line message naming the file); each ``Test*`` class
supplies a file and its expected values (from ``PROVENANCE.md`` and the
``vamas`` package's own tests) and adds format-specific checks.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from reader_tester import ReaderTester as BaseReaderTester
from reader_tester import assert_format_error

import specfit.io as sio
from specfit.io import casaxps_csv, phi, prodigy_xy, scienta_txt, vamas

XPS = ("xps",)
SPECTRAL_DIMS = ("binding_energy", "kinetic_energy")


def spectra(data: xr.DataArray | xr.DataTree) -> dict[str, xr.DataArray]:
    """Region name -> spectrum, for a DataArray or a DataTree of ``intensity`` children."""
    if isinstance(data, xr.DataArray):
        return {data.attrs["region"]: data}
    return {name: child.to_dataset()["intensity"] for name, child in data.children.items()}


def cut_mid_line(raw: bytes, fraction: float = 0.5) -> bytes:
    """The first ``fraction`` of ``raw``, cut inside a line (never right after a newline)."""
    n = int(len(raw) * fraction)
    while raw[n - 1:n] in (b"\n", b"\r") or raw[n:n + 1] in (b"\n", b"\r"):
        n += 1
    return raw[:n]


class ReaderTester(BaseReaderTester):
    """The shared reader checks plus what every XPS reader owes: regions, axes in eV, photon energy,
    truncated and garbled copies rejected; subclasses set the file and expected values."""

    relpath: tuple[str, ...]
    #: region -> (dimension, points, first axis value, last axis value)
    expected_regions: dict[str, tuple[str, int, float, float]]
    expected_photon_energy: float | None = None
    expected_type: type = xr.DataArray

    def make_path(self, tmp_path: Path, shared_data) -> Path:
        return shared_data(*XPS, *self.relpath)

    def garble(self, raw: bytes) -> bytes:
        """A copy with a non-numeric value where data belong (overridden for binary formats)."""
        lines = raw.splitlines(keepends=True)
        index = len(lines) - 3  # a data row near the end
        lines[index] = b"12x.5?, garbage\r\n"
        return b"".join(lines)

    def test_type(self, data):
        assert isinstance(data, self.expected_type)

    def test_regions_and_axes(self, data):
        found = spectra(data)
        assert list(found) == list(self.expected_regions)
        for name, (dim, n, first, last) in self.expected_regions.items():
            da = found[name]
            assert da.dims[-1] == dim
            assert da.sizes[dim] == n
            assert da[dim].values[0] == pytest.approx(first, abs=1e-9)
            assert da[dim].values[-1] == pytest.approx(last, abs=1e-9)
            assert da[dim].attrs["units"] == "eV"
            assert da.attrs["region"] == name

    def test_finite(self, data):
        for da in spectra(data).values():
            assert np.all(np.isfinite(da.values))
            assert np.all(np.isfinite(da[da.dims[-1]].values))

    def test_source_file(self, data, path):
        for da in spectra(data).values():
            assert da.attrs["source_file"] == str(path)
        if isinstance(data, xr.DataTree):
            assert data.attrs["source_file"] == str(path)

    def test_photon_energy(self, data):
        for da in spectra(data).values():
            assert da.attrs.get("photon_energy") == self.expected_photon_energy

    def test_truncated(self, path, tmp_path):
        copy = tmp_path / path.name
        copy.write_bytes(cut_mid_line(path.read_bytes()))
        assert_format_error(copy)

    def test_garbled(self, path, tmp_path):
        copy = tmp_path / path.name
        copy.write_bytes(self.garble(path.read_bytes()))
        assert_format_error(copy)


# --------------------------------------------------------------------------- VAMAS


class VamasTester(ReaderTester):
    module = vamas


class TestVamasRegular(VamasTester):
    relpath = ("vamas", "pynxtools_regular.vms")
    # KE 136.61-1486.61 eV at hv 1486.61 -> BE 1350-0 eV.
    expected_regions = {"survey": ("binding_energy", 1351, 1350.0, 0.0)}
    expected_photon_energy = 1486.61

    def test_counts_become_counts_per_second(self, data, path):
        # First stored count 1559.87 with 0.1 s dwell and 1 scan.
        assert data.attrs["dwell_time"] == 0.1 and data.attrs["scans"] == 1
        assert data.values[0] == pytest.approx(15598.7)
        assert data.attrs["units"] == "counts/s"

    def test_transmission_coordinate(self, data):
        assert data["transmission"].dims == ("binding_energy",)
        assert data["transmission"].values[0] == pytest.approx(78.8103)

    def test_metadata(self, data):
        assert data.attrs["pass_energy"] == 100
        assert data.attrs["technique"] == "XPS"
        assert data.attrs["block_identifier"] == "Survey"
        assert "casaxps_comment" in data.attrs
        assert data.attrs["acquired"] == "2023-08-24T14:19:47"


class TestVamasIrregular(VamasTester):
    relpath = ("vamas", "pynxtools_irregular.vms")
    expected_regions = {"survey": ("binding_energy", 1351, 1350.0, 0.0)}
    expected_photon_energy = 1486.61

    def test_equals_regular(self, data, shared_data):
        regular = sio.read(shared_data(*XPS, "vamas", "pynxtools_regular.vms"))
        np.testing.assert_array_equal(data["binding_energy"].values, regular["binding_energy"].values)
        np.testing.assert_allclose(data.values, regular.values, rtol=1e-12)
        np.testing.assert_allclose(data["transmission"].values, regular["transmission"].values)


class TestVamasFeOAnalysed(VamasTester):
    relpath = ("vamas", "pynxtools_FeO_analyzed.vms")
    expected_regions = {"Fe2p": ("binding_energy", 1121, 750.0, 694.0)}
    expected_photon_energy = 1486.61

    def test_casaxps_comment(self, data):
        comment = data.attrs["casaxps_comment"]
        assert "CASA region (*Fe 2p*) (*U 3 Tougaard*)" in comment
        assert comment.count("CASA comp") == 4
        assert "LF(0.54,10,80,100,6)" in comment and "SGL(30)" in comment

    def test_labels(self, data):
        assert (data.attrs["species"], data.attrs["transition"]) == ("Fe", "2p")


class TestVamasEIS(VamasTester):
    relpath = ("vamas", "vamaspkg_xps_eis.vms")
    # KE 1506.7 - 0.1*i at hv 1486.7: BE -20 ... 800 eV.
    expected_regions = {"survey": ("binding_energy", 8201, -20.0, 800.0),
                        "block_2": ("binding_energy", 321, 225.0, 241.0),
                        "block_3": ("binding_energy", 941, 389.0, 436.0),
                        "block_4": ("binding_energy", 541, 240.0, 267.0)}
    expected_photon_energy = 1486.7
    expected_type = xr.DataTree

    def test_vamas_package_values(self, data):
        survey = spectra(data)["survey"]
        kinetic = 1486.7 - survey["binding_energy"].values
        assert kinetic[0] == pytest.approx(1506.7)
        assert np.diff(kinetic) == pytest.approx(np.full(8200, -0.1))
        assert survey.attrs["pass_energy"] == 50
        assert survey.attrs["scans"] == 5 and survey.attrs["dwell_time"] == 0.2
        # Stored as "count rate" c/s already: raw counts are value x dwell x scans (= 1 here).
        raw = survey.values * survey.attrs["dwell_time"] * survey.attrs["scans"]
        assert (raw.min(), raw.max()) == (pytest.approx(2141), pytest.approx(84683))
        last = spectra(data)["block_4"]
        assert last.attrs["pass_energy"] == 20 and last.attrs["scans"] == 10
        assert (last.min(), last.max()) == (7813, 12216)


class TestVamasAES(VamasTester):
    relpath = ("vamas", "vamaspkg_aes_staib.vms")
    expected_regions = {"species": ("kinetic_energy", 1100, 19.989319, 19.989319 + 1099 * 1.983673)}
    expected_photon_energy = None

    def test_differential_width_field(self, data):
        # The AES diff block carries one extra field; mis-parsing shifts every later value.
        assert data.attrs["technique"] == "AES diff"
        assert data.attrs["dwell_time"] == 0.503
        assert data.attrs["param_bksrettime"] == 5000
        assert data.values[0] == -3423633  # analogue signal: kept as stored


class TestVamasKratos(VamasTester):
    relpath = ("vamas", "lg4x_0-150W_kratos.vms")
    expected_regions = {"survey": ("binding_energy", 1206, 1200.0, -5.0),
                        "Ni2p": ("binding_energy", 601, 900.0, 840.0),
                        "O1s": ("binding_energy", 251, 545.0, 520.0),
                        "C1s": ("binding_energy", 301, 300.0, 270.0),
                        "W4f": ("binding_energy", 251, 50.0, 25.0)}
    expected_photon_energy = 1486.69
    expected_type = xr.DataTree

    def test_leading_blank_crlf_lines(self, path):
        assert path.read_bytes().startswith(b"\r\n\r\n")

    def test_experimental_variables_and_transmission(self, data):
        survey = spectra(data)["survey"]
        assert survey.attrs["exp_positionx_mm"] == pytest.approx(21.19525)
        assert "transmission" in survey.coords
        assert data["survey"].attrs["region"] == "survey"


class TestVamasMultipak(VamasTester):
    relpath = ("vamas", "lg4x_Mutlipak_vms.npl")
    # Binding-energy abscissa, -0.05 eV step, kept as is.
    expected_regions = {"C1s": ("binding_energy", 601, 305.0, 275.0),
                        "O1s": ("binding_energy", 601, 555.0, 525.0),
                        "S2p": ("binding_energy", 501, 180.0, 155.0),
                        "N1s": ("binding_energy", 401, 410.0, 390.0),
                        "Mo3d": ("binding_energy", 401, 240.0, 220.0)}
    expected_photon_energy = 1486.6
    expected_type = xr.DataTree

    def test_step_and_comment(self, data):
        c1s = spectra(data)["C1s"]
        assert np.diff(c1s["binding_energy"].values) == pytest.approx(np.full(600, -0.05))
        assert c1s.attrs["transition"] == "1s"  # the file pads it with a NUL byte
        assert "IntensityCalCoeff" in c1s.attrs["block_comment"]
        assert c1s.values[0] == 2047.5  # c/s stored: not rescaled


def test_vamas_duplicate_regions_get_suffixes(shared_data, tmp_path):
    raw = shared_data(*XPS, "vamas", "lg4x_Mutlipak_vms.npl").read_bytes()
    text = raw.replace(b"\r\nO\r\n1s", b"\r\nC\r\n1s")
    copy = tmp_path / "dupes.npl"
    copy.write_bytes(text)
    assert list(sio.read(copy).children)[:2] == ["C1s", "C1s_2"]


def test_vamas_count_mismatch_is_an_error(shared_data, tmp_path):
    raw = shared_data(*XPS, "vamas", "pynxtools_regular.vms").read_bytes()
    raw = raw.replace(b"\r\n2702\r\n", b"\r\n2703\r\n")
    copy = tmp_path / "bad_count.vms"
    copy.write_bytes(raw)
    assert "corresponding variables" in assert_format_error(copy)


# --------------------------------------------------------------------------- SPECS Prodigy


class TestProdigyXY(ReaderTester):
    module = prodigy_xy
    relpath = ("text_formats", "specs_prodigy_MgFe2O4_small.xy")
    expected_regions = {"survey": ("binding_energy", 1351, 1350.0, 0.0),
                        "Fe2p": ("binding_energy", 56, 750.0, 695.0)}
    expected_photon_energy = 1486.61
    expected_type = xr.DataTree

    def test_same_survey_as_vamas(self, data, shared_data):
        survey = spectra(data)["survey"]
        regular = sio.read(shared_data(*XPS, "vamas", "pynxtools_regular.vms"))
        np.testing.assert_array_equal(survey["binding_energy"].values, regular["binding_energy"].values)
        np.testing.assert_allclose(survey.values, regular.values, rtol=1e-4)

    def test_several_cycles_stack(self, path, tmp_path):
        text = path.read_text()
        first, second = text.split("# Region:                       Fe2p")
        block = second[second.index("# Cycle: 0, Curve: 0"):]
        copy = tmp_path / "cycles.xy"
        cycle_1 = block.replace("Cycle: 0", "Cycle: 1")
        copy.write_text(f"{first}# Region:                       Fe2p{second}\n{cycle_1}")
        fe = spectra(sio.read(copy))["Fe2p"]
        assert fe.dims == ("cycle", "binding_energy")
        np.testing.assert_array_equal(fe.values[0], fe.values[1])


# --------------------------------------------------------------------------- CasaXPS CSV

CASA_DIR = ("casaxps_csv_tfsi_il",)


class TestCasaXPSCSV(ReaderTester):
    module = casaxps_csv
    relpath = (*CASA_DIR, "20240228_Au_MPPipTFSIIol3_F_1s.csv")
    expected_regions = {"F1s": ("binding_energy", 97, 693.7, 681.7)}
    expected_photon_energy = 1486.6

    def test_curves_as_coordinates(self, data):
        assert data.attrs["casaxps_components"] == ["F 1s_1_F 1s 7", "F 1s_2_F 1s 7"]
        for name in ("casaxps_background", "casaxps_envelope", "casaxps_component_0", "casaxps_component_1"):
            assert data[name].dims == ("binding_energy",)
        # Outside the fitted window CasaXPS writes Background = CPS.
        assert data["casaxps_background"].values[0] == data.values[0] == 9114.33
        assert np.diff(data["binding_energy"].values) == pytest.approx(np.full(96, -0.125))

    def test_component_maxima(self, data):
        axis = data["binding_energy"]
        peaks = sorted(float(axis[data[f"casaxps_component_{i}"].argmax("binding_energy")])
                       for i in range(2))
        assert peaks == pytest.approx([685.7, 688.8], abs=0.15)

    @pytest.mark.parametrize("name", sorted(p.name for p in Path(__file__).resolve().parents[2].joinpath(
        "shared", "data", "xps", *CASA_DIR).glob("*.csv")))
    def test_every_export(self, name, shared_data):
        da = sio.read(shared_data(*XPS, *CASA_DIR, name))
        region = name.rsplit("_", 2)
        assert da.attrs["region"] == region[-2] + region[-1].removesuffix(".csv")
        assert da.attrs["photon_energy"] == 1486.6
        assert len(da.attrs["casaxps_components"]) >= 1
        assert np.diff(da["binding_energy"].values) == pytest.approx(-0.125)

    def test_generic_csv_not_claimed(self, shared_data):
        generic = shared_data(*XPS, "text_formats", "lg4x_PET_C1s.csv")
        assert not casaxps_csv.sniff(generic, generic.read_bytes()[:4096])
        assert not phi.sniff(generic, generic.read_bytes()[:4096])


# --------------------------------------------------------------------------- PHI MultiPak

PHI_DIR = ("depth_profile_phi_SnO2",)
PHI_REGIONS = {"C1s": (298.0, 278.0), "Si2p": (114.0, 94.0), "Sn3d5": (500.0, 480.0)}


class PhiTester(ReaderTester):
    module = phi
    expected_photon_energy = 1486.6

    def garble(self, raw: bytes) -> bytes:
        # Claim a record table far larger than the binary section.
        start = raw.index(b"EOFH\r\n") + 6
        return raw[:start + 4] + np.uint32(10_000).tobytes() + raw[start + 8:]


class TestPhiDepthProfile(PhiTester):
    relpath = (*PHI_DIR, "SnO2_10nm_1.pro")
    expected_regions = {"survey": ("binding_energy", 1751, 1400.0, 0.0),
                        **{name: ("binding_energy", 101, a, b) for name, (a, b) in PHI_REGIONS.items()}}
    expected_type = xr.DataTree

    def test_cycles_and_etch_time(self, data):
        for da in spectra(data).values():
            assert da.dims == ("cycle", "binding_energy")
            np.testing.assert_array_equal(da["cycle"].values, np.arange(21))
            np.testing.assert_array_equal(da["etch_time"].values, 30.0 * np.arange(21))

    @pytest.mark.parametrize("region", sorted(PHI_REGIONS))
    def test_equals_derived_csv(self, data, region, shared_data):
        path = shared_data(*XPS, *PHI_DIR, f"SnO2_10nm_1_depthprofile_{region}.csv")
        rows = [r for r in csv.reader(path.open()) if not r[0].startswith("#")]
        stored = np.array(rows[1:])
        da = spectra(data)[region]
        np.testing.assert_array_equal(da["binding_energy"].values, stored[:, 0].astype(float))
        # The CSV holds the float32 values printed with %g: they must match digit for digit.
        printed = np.vectorize(lambda v: f"{v:g}")(da.values.astype(np.float32).astype(float))
        np.testing.assert_array_equal(printed, stored[:, 1:].T)

    def test_physics(self, data):
        # Sn 3d5/2 fades, Si 2p grows about 15x with sputtering (PROVENANCE 2d).
        found = spectra(data)
        sn, si = (found[name].max("binding_energy") - found[name].min("binding_energy")
                  for name in ("Sn3d5", "Si2p"))
        assert sn[-1] < 0.5 * sn[:4].max()
        assert si[-1] > 5 * si[0]


class TestPhiSpectrum(PhiTester):
    relpath = (*PHI_DIR, "SnO2_10nm.spe")
    expected_regions = {"survey": ("binding_energy", 1751, 1400.0, 0.0)}


class TestPhiDerivedCSV(ReaderTester):
    module = phi
    relpath = (*PHI_DIR, "SnO2_10nm_1_depthprofile_Sn3d5.csv")
    expected_regions = {"Sn3d5": ("binding_energy", 101, 500.0, 480.0)}
    expected_photon_energy = None

    def test_layout(self, data):
        assert data.dims == ("cycle", "binding_energy")
        np.testing.assert_array_equal(data["cycle"].values, np.arange(21))


# --------------------------------------------------------------------------- Scienta SES


class TestScientaText(ReaderTester):
    module = scienta_txt
    relpath = ("text_formats", "scienta_Ag3d_Ag_0001.txt")
    expected_regions = {"Ag3d": ("binding_energy", 361, 382.0, 364.0)}
    expected_photon_energy = 520.0

    def test_metadata(self, data):
        assert data.attrs["pass_energy"] == 50
        assert data.attrs["scans"] == 2
        assert np.diff(data["binding_energy"].values) == pytest.approx(np.full(360, -0.05))
