"""Reader cases of ``../shared/cases`` (issue 10) and the bad-input messages, each as a test.

Every expected value of a case's ``case.md`` is asserted here against the
case's own numbers (axis ends, peak centres, byte counts, line numbers).
Inputs are read from ``../shared`` through the ``shared_data`` fixture; the
only generated input (case 24) is made in ``tmp_path`` by the case's own
``make_inputs.py``.  The command line is run (subprocess) only where a case
asks for an exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import specfit
import specfit.io as sio
from specfit.errors import FileFormatError, SpecfitError

CLI = Path(sys.executable).with_name("specfit")


def case(shared_data, folder: str, *parts: str) -> Path:
    """Path inside ``../shared/cases/<folder>`` (fails under CI, skips locally, if absent)."""
    return shared_data("..", "cases", folder, *parts)


def format_error(path: Path, **kwargs) -> str:
    """``specfit.read(path)`` raises FileFormatError: one line naming the file; return the message."""
    with pytest.raises(FileFormatError) as info:
        specfit.read(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and path.name in message, message
    return message


def cli_fits(runs: list[tuple[Path, str, Path]]) -> list[tuple[int, str]]:
    """Run ``specfit fit INPUT --library LIB --out OUT`` for each run at once; (exit code, stderr) each."""
    processes = [subprocess.Popen([str(CLI), "fit", str(path), "--library", library, "--out", str(out)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for path, library, out in runs]
    results = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        results.append((process.returncode, stderr))
    return results


def centres(ds: xr.Dataset) -> dict[str, float]:
    return {str(c): float(v) for c, v in zip(ds.component.values, np.ravel(ds.center.values))}


# --------------------------------------------------------------------------- 01 NMRPipe EXT

C01 = "01-nmrpipe-ext-carrier"


def test_01_nmrpipe_axis_from_orig(shared_data):
    """After EXT the axis runs +4.993 ... -14.994 ppm; the line sits at -1.20 ppm in both files."""
    ext = specfit.read(case(shared_data, C01, "li7_ext.ft1"))
    full = specfit.read(case(shared_data, C01, "li7_full.ft1"))
    assert ext.sizes["chemical_shift"] == 1274
    assert float(ext.chemical_shift[0]) == pytest.approx(4.993, abs=0.005)
    assert float(ext.chemical_shift[-1]) == pytest.approx(-14.994, abs=0.005)
    for data in (ext, full):
        assert float(data.chemical_shift[int(np.argmax(data.values))]) == pytest.approx(-1.20, abs=0.01)
    # the extracted region holds the same values on the same ppm as the full spectrum
    np.testing.assert_allclose(full.sel(chemical_shift=ext.chemical_shift.values, method="nearest").values,
                               ext.values)


def test_01_nmrpipe_fitted_centre(shared_data):
    for name in ("li7_full.ft1", "li7_ext.ft1"):
        ds = specfit.fit(specfit.read(case(shared_data, C01, name)), "nmr/li7")
        main = max(centres(ds).items(), key=lambda kv: float(ds.area.sel(component=kv[0]).max()))
        assert main[1] == pytest.approx(-1.20, abs=0.01), (name, centres(ds))


def test_01_nmrpipe_size_checked_exactly(shared_data, tmp_path):
    raw = case(shared_data, C01, "li7_ext.ft1").read_bytes()
    for name, content in (("insert.ft1", raw[:3000] + b"\0" + raw[3000:]), ("delete.ft1", raw[:3000] + raw[3001:]),
                          ("pad.ft1", raw + b"\0\0\0\0")):
        path = tmp_path / name
        path.write_bytes(content)
        assert "header promises 7144" in format_error(path)


# --------------------------------------------------------------------------- 02 JCAMP labels

C02 = "02-jcamp-datatype-label"


@pytest.mark.parametrize("name", ["li7_datatype_space.jdx", "li7_datatype_nospace.jdx",
                                  "li7_observefrequency_nospace.jdx"])
def test_02_jcamp_labels_normalised(shared_data, name):
    data = specfit.read(case(shared_data, C02, name))
    assert data.dims == ("chemical_shift",) and data.chemical_shift.attrs["units"] == "ppm"
    assert data.attrs["data_type"] == "NMR SPECTRUM"
    assert float(data.chemical_shift[0]) == pytest.approx(10.0, abs=1e-6)
    assert float(data.chemical_shift[-1]) == pytest.approx(-10.0, abs=1e-6)
    assert float(data.chemical_shift[int(np.argmax(data.values))]) == pytest.approx(-1.20, abs=0.03)
    ds = specfit.fit(data, "nmr/li7")
    main = max(centres(ds).items(), key=lambda kv: float(ds.area.sel(component=kv[0]).max()))
    assert main[1] == pytest.approx(-1.20, abs=0.01), centres(ds)


def test_02_jcamp_infrared_never_raman(shared_data):
    space = specfit.read(case(shared_data, C02, "ir_datatype_space.jdx"))
    nospace = specfit.read(case(shared_data, C02, "ir_datatype_nospace.jdx"))
    for data in (space, nospace):
        assert data.dims == ("x",) and data.x.attrs["units"] == "cm-1"
        assert data.attrs["data_type"] == "INFRARED SPECTRUM"
    np.testing.assert_array_equal(space.values, nospace.values)
    np.testing.assert_array_equal(space.x.values, nospace.x.values)


@pytest.mark.parametrize("label", ["##YFACTOR=abc", "##FIRSTX= one", "##.OBSERVE FREQUENCY= fast", "##NPOINTS= 4.5"])
def test_02_jcamp_unparseable_numeric_label(shared_data, tmp_path, label):
    text = case(shared_data, C02, "li7_datatype_space.jdx").read_text(encoding="latin-1")
    key = label.split("=")[0]
    lines = [label if line.replace(" ", "").upper().startswith(key.replace(" ", "").upper() + "=") else line
             for line in text.splitlines()]
    if label not in lines:  # YFACTOR is written as ##YFACTOR=1.0 in the file: replaced above
        lines.insert(1, label)
    path = tmp_path / "bad.jdx"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    message = format_error(path)
    assert "not a" in message and key.lstrip("#").replace(" ", "").upper() in message.replace(" ", "")


# --------------------------------------------------------------------------- 16 UTF-8 BOM

C16 = "16-utf8-bom-format-sniff"
BOM = b"\xef\xbb\xbf"


def _arrays(obj) -> list[np.ndarray]:
    if isinstance(obj, xr.DataTree):
        return [np.asarray(n.dataset[v]) for n in obj.subtree for v in [*n.dataset.data_vars, *n.dataset.coords]]
    return [np.asarray(obj.values), *(np.asarray(c) for c in obj.coords.values())]


@pytest.mark.parametrize("name", ["sample_bom_F_1s.csv", "extra/f1s_bom.vms", "extra/li7_bom.jdx",
                                  "extra/ses_bom.txt"])
def test_16_bom_ignored(shared_data, tmp_path, name):
    """check_bom.py: the BOM'd file reads exactly like its BOM-less copy."""
    bom_file = case(shared_data, C16, *name.split("/"))
    raw = bom_file.read_bytes()
    assert raw.startswith(BOM)
    plain_file = tmp_path / bom_file.name
    plain_file.write_bytes(raw[len(BOM):])
    plain, with_bom = specfit.read(plain_file), specfit.read(bom_file)
    assert type(plain) is type(with_bom)
    a, b = _arrays(plain), _arrays(with_bom)
    assert len(a) == len(b)
    for left, right in zip(a, b):
        if left.dtype.kind in "fc":
            np.testing.assert_array_equal(left, right)
        else:
            assert np.array_equal(left, right)


def test_16_bom_csv_same_reader_and_fit(shared_data):
    plain = specfit.read(case(shared_data, C16, "sample_F_1s.csv"))
    with_bom = specfit.read(case(shared_data, C16, "sample_bom_F_1s.csv"))
    assert with_bom.attrs["casaxps_components"] == plain.attrs["casaxps_components"]  # the CasaXPS reader
    for data in (plain, with_bom):
        found = centres(specfit.fit(data, "xps/F1s", components=["LiF", "CF3"]))
        assert found["LiF"] == pytest.approx(685.0, abs=0.1) and found["CF3"] == pytest.approx(688.8, abs=0.1)


# --------------------------------------------------------------------------- 22 PHI inserted byte

C22 = "22-phi-inserted-byte"


def test_22_phi_inserted_byte(shared_data):
    message = format_error(case(shared_data, C22, "SnO2_10nm_insert.spe"))
    assert "7117 bytes" in message and "7116" in message


@pytest.mark.parametrize("name", ["SnO2_10nm.spe", "SnO2_10nm_1.pro"])
@pytest.mark.parametrize("where_", ["first_data", "last_record", "end"])
@pytest.mark.parametrize("change", ["insert", "delete"])
def test_22_phi_every_region_checked(shared_data, tmp_path, name, where_, change):
    """One byte inserted or deleted in the first region's data, the last record's data or at the end."""
    raw = shared_data("xps", "depth_profile_phi_SnO2", name).read_bytes()
    start = raw.index(b"EOFH") + 6  # "EOFH\r\n"
    position = {"first_data": start + 16 + 96 * 6 + 40, "last_record": len(raw) - 100, "end": len(raw) - 1}[where_]
    damaged = raw[:position] + b"\0" + raw[position:] if change == "insert" else raw[:position] + raw[position + 1:]
    path = tmp_path / name
    path.write_bytes(damaged)
    format_error(path)


# --------------------------------------------------------------------------- 23/24 JCAMP hangs

C23 = "23-jcamp-affn-bad-char-hang"


@pytest.mark.parametrize("name", ["affn_question_mark.jdx", "affn_question_mark_short.jdx"])
def test_23_jcamp_bad_character_fast(shared_data, name):
    path = case(shared_data, C23, name)
    start = time.perf_counter()
    message = format_error(path)
    assert time.perf_counter() - start < 1.0
    assert "line 10" in message and "invalid character '?'" in message


def test_23_jcamp_decoding_is_linear(tmp_path):
    """Data lines of 1e2 ... 1e5 digits before a bad character: time grows at most linearly."""
    header = ("##TITLE= t\n##JCAMP-DX= 4.24\n##DATA TYPE= RAMAN SPECTRUM\n##XUNITS= 1/CM\n##YUNITS= COUNTS\n"
              "##FIRSTX= 700\n##LASTX= 711\n##NPOINTS= 12\n##XYDATA= (X++(Y..Y))\n")
    times = []
    for n in (2_000, 200_000):
        path = tmp_path / f"long{n}.jdx"
        body = "700 " + " ".join(["1234567"] * (n // 8)) + " ?\n" + "700" + "+123" * (n // 4) + ">5\n"
        path.write_text(header + body + "##END=\n")
        start = time.perf_counter()
        format_error(path)
        times.append(time.perf_counter() - start)
    assert times[1] < 1.0


@pytest.mark.slow  # a CLI subprocess
def test_24_jcamp_pac_one_byte(shared_data, tmp_path):
    script = case(shared_data, "24-jcamp-pac-bad-char-hang", "make_inputs.py")
    shared_data("nmr", "jcamp_13C", "BRUKPAC.DX")
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True, timeout=60)
    path = tmp_path / "BRUKPAC_1byte.DX"
    start = time.perf_counter()
    message = format_error(path)
    assert time.perf_counter() - start < 2.0
    assert "line 972" in message and "invalid character '>'" in message


# --------------------------------------------------------------------------- 25/26 NetCDF

C25 = "25-netcdf-truncated-or-classic-traceback"


@pytest.fixture(params=["with netCDF4", "without netCDF4"])
def netcdf4_state(request, monkeypatch):
    """Run with the optional netCDF4 package hidden (the default install) and, if present, visible."""
    if request.param == "without netCDF4":
        monkeypatch.setitem(sys.modules, "netCDF4", None)  # import netCDF4 -> ModuleNotFoundError
    return request.param


def test_25_netcdf3_read(shared_data, netcdf4_state):
    ok = specfit.read(case(shared_data, C25, "ok.nc"))
    classic = specfit.read(case(shared_data, C25, "classic.nc"))
    assert classic.dims == ok.dims == ("raman_shift",) and classic.sizes["raman_shift"] == 301
    np.testing.assert_array_equal(classic.values, ok.values)
    np.testing.assert_array_equal(classic.raman_shift.values, ok.raman_shift.values)


def test_25_netcdf3_fit_same_fractions(shared_data):
    ok = specfit.fit(specfit.read(case(shared_data, C25, "ok.nc")), "raman/fsi_tfsi")
    classic = specfit.fit(specfit.read(case(shared_data, C25, "classic.nc")), "raman/fsi_tfsi")
    np.testing.assert_allclose(classic.fraction.values, ok.fraction.values, atol=1e-6)
    np.testing.assert_allclose(ok.fraction.values, [0.400, 0.317, 0.283], atol=2e-3)


def test_25_truncated_netcdf(shared_data, netcdf4_state):
    message = format_error(case(shared_data, C25, "trunc.nc"))
    assert "truncated" in message


C26 = "26-netcdf-checksum-traceback"


def test_26_netcdf_checksum(shared_data, netcdf4_state):
    assert specfit.read(case(shared_data, C26, "spectrum_ok.nc")).sizes["chemical_shift"] == 401
    assert "damaged" in format_error(case(shared_data, C26, "spectrum_checksum.nc"))


# --------------------------------------------------------------------------- issue 10: bad inputs, own messages

_GOOD_CSV = "BE,cps\n" + "\n".join(f"{700 - 0.1 * i:.1f},{100 + i % 7}" for i in range(30)) + "\n"


def test_three_point_spectrum_reads(tmp_path):
    """Three points are a spectrum (the minimum); two are refused with their own message."""
    three = tmp_path / "three.csv"
    three.write_text("BE,cps\n686,10\n685,30\n684,12\n")
    data = specfit.read(three)
    np.testing.assert_array_equal(data.values, [10, 30, 12])
    two = tmp_path / "two.csv"
    two.write_text("BE,cps\n686,10\n685,30\n")
    assert "only 2 data rows, need at least 3 points" in format_error(two)


def test_header_only_csv(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("BE,cps\n")
    assert "header only: no numeric data rows below 'BE,cps'" in format_error(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_file(tmp_path, encoding):
    path = tmp_path / "u16.csv"
    path.write_bytes(_GOOD_CSV.encode(encoding))
    assert "UTF-16 encoded text" in format_error(path)


def test_directory(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert "is a directory" in format_error(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_never_blocks(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    start = time.perf_counter()
    assert "named pipe (FIFO)" in format_error(fifo)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(("content", "fragment"), [(b"", "file is empty"), (b"  \n\n", "only blank space")])
def test_empty_files(tmp_path, content, fragment):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert fragment in format_error(path)


def test_missing_file(tmp_path):
    assert "no such file" in format_error(tmp_path / "nothing.csv")


def test_unrecognised_binary(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 4)
    assert "unrecognised binary file format" in format_error(path)


def test_casaxps_ragged_row_refused(shared_data, tmp_path):
    source = shared_data("xps", "casaxps_csv_tfsi_il", "20240228_Au_MPPipTFSIIol3_F_1s.csv")
    lines = source.read_text().splitlines()
    lines[10] += ",123.4"
    path = tmp_path / "ragged_F_1s.csv"
    path.write_text("\n".join(lines) + "\n")
    assert "line 11: ragged row with 7 values, the header has 6 columns" in format_error(path)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("Count Rate:               Counts per Second", "Count Rate:               Counts per Minute",
         "unknown 'Count Rate: counts per minute'"),
        ("Energy Axis:              Binding Energy", "Energy Axis:              Photon Energy",
         "unknown 'Energy Axis: photon energy'"),
    ],
)
def test_prodigy_unknown_setting_refused(shared_data, tmp_path, old, new, fragment):
    text = shared_data("xps", "text_formats", "specs_prodigy_MgFe2O4_small.xy").read_text()
    assert old in text
    path = tmp_path / "settings.xy"
    path.write_text(text.replace(old, new))
    assert fragment in format_error(path)


def test_vamas_unknown_mode_refused(shared_data, tmp_path):
    lines = shared_data("xps", "vamas", "pynxtools_regular.vms").read_text().splitlines()
    index = lines.index("NORM")
    lines[index] = "NORN"
    path = tmp_path / "mode.vms"
    path.write_text("\n".join(lines) + "\n")
    assert "unknown experiment mode 'NORN'" in format_error(path)


def test_scienta_unknown_energy_scale_refused(shared_data, tmp_path):
    text = shared_data("xps", "text_formats", "scienta_Ag3d_Ag_0001.txt").read_text()
    path = tmp_path / "scale.txt"
    path.write_text(text.replace("Energy Scale=Binding", "Energy Scale=Photon"))
    assert "unknown Energy Scale='photon'" in format_error(path)


def test_unexpected_reader_exception_becomes_format_error(tmp_path, monkeypatch):
    """The safety net in specfit.read: a reader bug is one line naming the file, not a traceback."""
    from specfit.io import text

    def broken(path, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(text, "read", broken)
    path = tmp_path / "good.csv"
    path.write_text(_GOOD_CSV)
    with pytest.raises(SpecfitError) as info:
        sio.read(path)
    assert str(info.value) == f"{path}: cannot read as text: RuntimeError: boom"


# --------------------------------------------------------------------------- command line (cases 22-26)


@pytest.mark.slow  # a CLI subprocess
def test_cli_damaged_inputs_exit_2_one_line(shared_data, tmp_path):
    """Cases 22, 23, 24, 25, 26: ``specfit fit`` exits 2 with one line naming the file, writes nothing."""
    subprocess.run([sys.executable, str(case(shared_data, "24-jcamp-pac-bad-char-hang", "make_inputs.py")),
                    str(tmp_path)], check=True, capture_output=True, timeout=60)
    inputs = [
        (case(shared_data, C22, "SnO2_10nm_insert.spe"), "xps/O1s", "7117"),
        (case(shared_data, C23, "affn_question_mark.jdx"), "raman/fsi_tfsi", "line 10"),
        (tmp_path / "BRUKPAC_1byte.DX", "nmr/li7", "line 972"),
        (case(shared_data, C25, "trunc.nc"), "raman/fsi_tfsi", "truncated"),
        (case(shared_data, C26, "spectrum_checksum.nc"), "nmr/li7", "damaged"),
    ]
    runs = [(path, library, tmp_path / f"out{i}.nc") for i, (path, library, _) in enumerate(inputs)]
    for (path, _, fragment), (_, _, out), (code, stderr) in zip(inputs, runs, cli_fits(runs)):
        lines = stderr.strip().splitlines()
        assert code == 2, (path.name, stderr)
        assert len(lines) == 1 and path.name in lines[0] and fragment in lines[0], stderr
        assert "Traceback" not in stderr and not out.exists()
