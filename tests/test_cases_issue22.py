"""Issue 22 cases from ``../shared/cases`` (29-32) and the reader kinds behind them.

Each test reads the case folders directly (never copied into the repo); a missing folder fails under
``CI=true`` and skips locally (:func:`conftest.shared_path` convention).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import specfit
from specfit.errors import FileFormatError


def case_path(*parts: str) -> Path:
    """A file of ``../shared/cases`` (fails under CI, skips locally when missing: conftest's rule)."""
    from conftest import shared_path

    return shared_path("..", "cases", *parts)


# ------------------------------------------------------------------ 3. JCAMP-DX DIFDUP (case 30)
_HEADER = ("##TITLE=dupdif\n##JCAMP-DX=4.24\n##DATA TYPE=RAMAN SPECTRUM\n##XUNITS=1/CM\n##YUNITS=COUNTS\n"
           "##XFACTOR=1.0\n##YFACTOR=1.0\n##FIRSTX={first}\n##LASTX={last}\n##NPOINTS={n}\n##FIRSTY={y0}\n"
           "##XYDATA=(X++(Y..Y))\n")


def _sqz(v: int) -> str:
    s = str(abs(v))
    return ("@ABCDEFGHI" if v >= 0 else "@abcdefghi")[int(s[0])] + s[1:]


def _dif(d: int) -> str:
    s = str(abs(d))
    return ("%JKLMNOPQR" if d >= 0 else "%jklmnopqr")[int(s[0])] + s[1:]


def _dup(n: int) -> str:
    s = str(n)
    return "STUVWXYZs"[int(s[0]) - 1] + s[1:]


def _difdup_line(x: int, y: list[int]) -> str:
    """One DIFDUP line: the first ordinate in SQZ, then differences with DUP counts (independent encoder)."""
    out = [str(x), _sqz(y[0])]
    diffs = np.diff(y).tolist()
    i = 0
    while i < len(diffs):
        j = i
        while j + 1 < len(diffs) and diffs[j + 1] == diffs[i]:
            j += 1
        run = j - i + 1
        out.append(_dif(diffs[i]) + (_dup(run) if run > 1 else ""))
        i = j + 1
    return "".join(out)


def _jcamp(tmp_path: Path, lines_of_points: list[list[int]], name: str = "d.jdx") -> Path:
    """A file whose line k holds the points ``lines_of_points[k]``; each line after the first repeats the
    previous line's last point first (the DIF Y-check)."""
    text, x, y_all = [], 0, []
    for k, ys in enumerate(lines_of_points):
        if k:
            text.append(_difdup_line(x - 1, [y_all[-1]] + ys))
        else:
            text.append(_difdup_line(x, ys))
        x += len(ys)
        y_all += ys
    path = tmp_path / name
    path.write_text(_HEADER.format(first=0, last=len(y_all) - 1, n=len(y_all), y0=y_all[0])
                    + "\n".join(text) + "\n##END=\n")
    return path


def test_case30_dup_after_dif(tmp_path):
    path = tmp_path / "dupdif.jdx"
    path.write_text(_HEADER.format(first=700.0, last=709.0, n=10, y0=50) + "700E0J2s\n##END=\n")
    assert specfit.read(path).values.astype(int).tolist() == [50, 62, 74, 86, 98, 110, 122, 134, 146, 158]


@pytest.mark.parametrize("dif", [0, 3, -3, 12, -12, 345, -345])
def test_every_dif_dup_combination(tmp_path, dif):
    """DIF of 1-3 digits (either sign, and zero) followed by DUP counts 2..99, on the last line and mid-file
    (where the Y-check of the next line checks the expanded value)."""
    for count in range(2, 100):
        ramp = [1000 + dif * k for k in range(count + 1)]  # a start value, then `count` equal differences
        last = _jcamp(tmp_path, [[7, 9] + [v + 9 - 1000 for v in ramp]], "last.jdx")
        expect = [7, 9] + [v + 9 - 1000 for v in ramp]
        assert specfit.read(last).values.astype(int).tolist() == expect, (dif, count, "last line")
        tail = [expect[-1] + 5, expect[-1] + 1]
        mid = _jcamp(tmp_path, [expect, tail], "mid.jdx")
        assert specfit.read(mid).values.astype(int).tolist() == expect + tail, (dif, count, "mid-file")
        # a DUP right at the line end, then a line starting with it (Y-check across lines)
        at_end = _jcamp(tmp_path, [expect, [expect[-1]] * 3 + tail], "end.jdx")
        assert specfit.read(at_end).values.astype(int).tolist() == expect + [expect[-1]] * 3 + tail


def test_dup_after_plain_and_sqz_value(tmp_path):
    # DUP letters: S=1, T=2, ..., Z=8, s=9 (the total count, the first occurrence included)
    for line, expect in (("0 5T", [5, 5]), ("0A5U", [15, 15, 15]), ("0 5KT", [5, 7, 9]), ("0 5 J2T", [5, 17, 29]),
                         ("0@J%U", [0, 1, 1, 1, 1]), ("0A0jVkT", [10, 9, 8, 7, 6, 4, 2])):
        path = tmp_path / "p.jdx"
        n = len(expect)
        path.write_text(_HEADER.format(first=0, last=n - 1, n=n, y0=expect[0]) + line + "\n##END=\n")
        assert specfit.read(path).values.astype(int).tolist() == expect, line


def test_dif_ycheck_failure_still_detected(tmp_path):
    """A valid Y-check passes after DUP (above); a wrong repeated value still fails."""
    path = tmp_path / "bad.jdx"
    body = "0E0J2U\n3E7J2\n"  # line 1: 50, 62, 74, 86; line 2 repeats 57 instead of 86
    path.write_text(_HEADER.format(first=0, last=4, n=5, y0=50) + body + "##END=\n")
    with pytest.raises(FileFormatError, match=r"line 14: DIF Y-check failed"):
        specfit.read(path)


# ------------------------------------------------------------------ 9. readers on real files (case 29)
def test_case29_phi_spe_float64_and_ascii_export_agree():
    spe = specfit.read(case_path("29-phi-spe-float64", "BN-BS-1_multiplex.spe"))
    txt = specfit.read(case_path("29-phi-spe-float64", "BN-BS-1_multiplex.txt"))
    regions = ["Bi4f", "Na1s", "O1s", "Sr3d", "Ti2p", "C1s"]
    assert list(spe.children) == regions and list(txt.children) == regions
    for name in regions:
        a, b = spe[name]["intensity"], txt[name]["intensity"]
        assert a.dims == b.dims == ("binding_energy",)
        np.testing.assert_allclose(a["binding_energy"], b["binding_energy"])
        assert np.corrcoef(a.values, b.values)[0, 1] > 0.999
        # the export holds counts over all sweeps; divided by time per step x sweeps it is the .spe's counts/s
        np.testing.assert_allclose(a.values, b.values, rtol=1e-6)
        assert a.attrs["units"] == b.attrs["units"] == "counts/s"
        assert "sweeps" in b.attrs["intensity_conversion"]


def test_phi_sample_width_from_record_table(tmp_path):
    """A record whose byte count is neither 4 nor 8 bytes per value is refused, never guessed."""
    raw = bytearray(case_path("29-phi-spe-float64", "BN-BS-1_multiplex.spe").read_bytes())
    start = raw.find(b"EOFH") + len(b"EOFH")
    start += raw[start:start + 2].index(b"\n") + 1 if b"\n" in raw[start:start + 2] else 0
    table = int.from_bytes(raw[start + 12:start + 16], "little")
    field = start + table + 19 * 4  # record 0, word 19: its byte count
    raw[field:field + 4] = (6 * 601).to_bytes(4, "little")
    bad = tmp_path / "six.spe"
    bad.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="neither float32 .* nor float64"):
        specfit.read(bad)


def test_multipak_ascii_truncated_refused(tmp_path):
    text = case_path("29-phi-spe-float64", "BN-BS-1_multiplex.txt").read_text()
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: text.index("Element C 1s")])
    with pytest.raises(FileFormatError, match="declares 6 regions"):
        specfit.read(cut)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text(text.replace("179.95\t640", "179.95\t640\t7", 1))
    with pytest.raises(FileFormatError, match=r"line \d+: expected 'energy<TAB>counts'"):
        specfit.read(ragged)


def test_vamas_without_end_of_experiment(tmp_path, shared_data, capsys):
    """Every declared count satisfied: read with a one-line warning; any value missing: refused."""
    import warnings as _w

    from specfit.cli import main
    from specfit.errors import SpecfitWarning

    raw = shared_data("xps", "vamas", "pynxtools_regular.vms").read_bytes()
    text = raw.decode("latin-1")
    cut = text[: text.lower().rindex("end of experiment")]
    assert cut.endswith(("\n", "\r"))
    path = tmp_path / "noend.vms"
    path.write_bytes(cut.encode("latin-1"))
    full = specfit.read(shared_data("xps", "vamas", "pynxtools_regular.vms"))
    with pytest.warns(SpecfitWarning, match="ends without 'end of experiment'"):
        got = specfit.read(path)
    import xarray as xr

    def one(obj):
        return obj if isinstance(obj, xr.DataArray) else obj[list(obj.children)[0]]["intensity"]

    np.testing.assert_array_equal(one(got).values, one(full).values)
    assert "end of experiment" in one(got).attrs["warning"]
    # the last value line missing, or cut in the middle of it: refused
    lines = cut.splitlines(keepends=True)
    for damaged in ("".join(lines[:-1]), cut.rstrip("\r\n")[:-1]):
        bad = tmp_path / "bad.vms"
        bad.write_bytes(damaged.encode("latin-1"))
        with _w.catch_warnings():
            _w.simplefilter("error")
            with pytest.raises(FileFormatError):
                specfit.read(bad)
    # command line: the warning is one line ("specfit: warning: ..."), whatever the fit then says
    main(["fit", str(path), "-l", "xps/C1s", "-o", str(tmp_path / "r.nc"), "-q", "--region",
          list(got.children)[0] if isinstance(got, xr.DataTree) else "x"])
    warned = [line for line in capsys.readouterr().err.splitlines() if "end of experiment" in line]
    assert len(warned) == 1 and warned[0].startswith("specfit: warning: ")


# LabSpec (HORIBA) text exports, written here from the documented layout: "#Key=<TAB>value" header lines,
# then "shift<TAB>intensity" rows (single spectrum) or a row of shifts after an empty cell and one
# "time<TAB>intensities..." row per spectrum (matrix / time series).
_LABSPEC_HEAD = ("#Acq. time (s)=\t10\n#Accumulations=\t2\n#Range (cm-\u00b9)=\t600...900\n#Windows=\t1\n"
                 "#Instrument=\tLabRAM HR Evol\n#Grating=\t1800 (450-850nm)\n#Laser=\t532.17\n#Objective=\tx50\n"
                 "#Date=\t03.12.2020 15:50\n#Title=\tLiFSI 1M\n#Remark=\t\n")


def _raman_band(x):
    return 1000 * np.exp(-4 * np.log(2) * (x - 741) ** 2 / 8**2) + 100


def test_labspec_single_spectrum_is_raman(tmp_path):
    x = np.linspace(700, 780, 161)
    path = tmp_path / "labspec.txt"
    path.write_text(_LABSPEC_HEAD + "".join(f"{a:.2f}\t{b:.3f}\n" for a, b in zip(x, _raman_band(x))),
                    encoding="utf-8")
    da = specfit.read(path)
    assert da.dims == ("raman_shift",) and da["raman_shift"].attrs["units"] == "cm-1"
    np.testing.assert_allclose(da.values, _raman_band(x), atol=1e-3)
    assert da.attrs["labspec_laser"] == "532.17" and da.attrs["labspec_title"] == "LiFSI 1M"
    res = specfit.fit(da, "raman/fsi_tfsi")
    assert bool(res["success"])


def test_labspec_matrix_export(tmp_path):
    x = np.linspace(700, 780, 81)
    times = [0.0, 10.0, 20.0]
    rows = ["\t" + "\t".join(f"{v:.2f}" for v in x)]
    rows += [f"{t:g}\t" + "\t".join(f"{(k + 1) * v:.3f}" for v in _raman_band(x)) for k, t in enumerate(times)]
    path = tmp_path / "matrix.txt"
    path.write_text(_LABSPEC_HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    da = specfit.read(path)
    assert da.dims == ("time", "raman_shift") and da.shape == (3, 81)
    np.testing.assert_allclose(da["time"], times)
    np.testing.assert_allclose(da.values[2], 3 * _raman_band(x), atol=1e-2)
    bad = tmp_path / "ragged.txt"
    bad.write_text(_LABSPEC_HEAD + "\n".join(rows[:2] + [rows[2] + "\t5"]) + "\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="LabSpec matrix row has 83 values, expected 82"):
        specfit.read(bad)
