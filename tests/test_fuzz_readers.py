"""Fuzz every reader with damaged copies of real (or generated) files (issue 10).

For each reader, hypothesis draws (deterministically: ``derandomize=True``)
a seed file and one mutation: a truncation, a byte flip, a byte insertion or
a byte deletion.  The damaged copy is read through :func:`specfit.read`:

- only :class:`~specfit.errors.SpecfitError` may escape;
- no case may take more than 2 s;
- structural damage must be detected: where the file's header promises a
  size or count (binary formats: NMRPipe, PHI binary section, Bruker ``1r``,
  WiRE; text formats with point counts: VAMAS, Prodigy, Scienta, JCAMP-DX),
  an insertion, deletion or truncation that breaks the promise must raise.

Seeds are the real files of ``../shared/data`` (and small case inputs of
``../shared/cases``); Bruker and WiRE have no public example, so their seeds
are generated here (a TopSpin ``pdata`` folder through nmrglue, a WiRE file
written block by block).  The number of cases per reader is printed in the
terminal summary (``tests/conftest.py``).
"""

from __future__ import annotations

import shutil
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nmrglue as ng
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specfit
from specfit.errors import SpecfitError

# Examples per reader: "a few hundred each", the whole file within ~90 s on 2 cores.
BUDGET = dict.fromkeys(("vamas", "phi", "prodigy_xy", "scienta_txt", "casaxps_csv", "jcamp", "netcdf", "nmrpipe",
                         "bruker", "wdf", "text"), 400)
CASE_SECONDS = 2.0
KINDS = ("truncate", "flip", "insert", "delete")


@dataclass
class Seed:
    """One undamaged file: its name, bytes, and where damage is structural (must be detected)."""

    name: str
    raw: bytes = field(repr=False)
    detect: frozenset[str]  # mutation kinds that must always be detected
    from_byte: int = 0  # ... when at or after this offset
    truncate_before: int = -1  # text formats with counts: a cut before this offset must be detected
    bruker_file: str | None = None  # Bruker: which file of the pdata folder this seed is


def _last_line_start(raw: bytes) -> int:
    """Offset of the start of the last line holding a digit (the last data row)."""
    end = len(raw.rstrip())
    for start in range(end - 1, -1, -1):
        if raw[start:start + 1] == b"\n":
            if any(48 <= b <= 57 for b in raw[start + 1:end]):
                return start + 1
            end = start
    return 0


def _binary_start(raw: bytes) -> int:
    return raw.index(b"\n", raw.index(b"EOFH")) + 1


def _make_wdf(points: int = 64, count: int = 1) -> bytes:
    """A WiRE file: WDF1 header block, DATA, XLST (Raman shift) and YLST blocks."""
    x = np.linspace(1800, 1000, points).astype("<f4")
    y = (100 + 50 * np.exp(-(((x - 1350) / 20) ** 2))).astype("<f4")
    spectra = (np.tile(y, count) * np.repeat(np.arange(1, count + 1), points)).astype("<f4")
    head = bytearray(512)
    head[0:16] = b"WDF1" + struct.pack("<iq", 1, 512)
    struct.pack_into("<iqqiiii", head, 0x3C, points, count, count, 1, 1, points, 0)
    head[0x60:0x64] = b"WiRE"
    struct.pack_into("<ii", head, 0x80, 1, 1 if count == 1 else 2)  # static scan; single or series
    struct.pack_into("<if", head, 0x98, 1, 1 / 532e-7)  # Raman shift; 532 nm laser as cm-1
    head[0xF0:0xF9] = b"synthetic"
    data = b"DATA" + struct.pack("<iq", 1, 16 + 4 * spectra.size) + spectra.tobytes()
    xlist = b"XLST" + struct.pack("<iqii", 1, 24 + 4 * points, 1, 1) + x.tobytes()
    ylist = b"YLST" + struct.pack("<iqii", 1, 28, 0, 0) + np.zeros(1, "<f4").tobytes()
    return bytes(head) + data + xlist + ylist


def _make_bruker(folder: Path) -> Path:
    """A processed 1-D 7Li experiment ``folder/10/pdata/1`` written by nmrglue."""
    si, sf, sw_p, offset = 512, 155.5, 10000.0, 20.0
    ppm = offset - np.arange(si) * sw_p / sf / si
    head = {"_comments": [], "_coreheader": ["##TITLE= Parameter file", "##JCAMPDX= 5.0"]}
    procs = {"SI": si, "SF": sf, "SW_p": sw_p, "OFFSET": offset, "BYTORDP": 0, "DTYPP": 0, "NC_proc": 0,
             "XDIM": si, "PPARMOD": 0, "AXNUC": "7Li", **head}
    experiment = folder / "10"
    experiment.mkdir(parents=True)
    spectrum = 1.0e6 / (1.0 + ((ppm + 1.2) / 0.05) ** 2)
    ng.bruker.write_pdata(str(experiment), {"procs": procs}, spectrum, write_procs=True, pdata_folder=1,
                          overwrite=True)
    return experiment / "pdata" / "1"


_JCAMP_ASDF = """##TITLE= asdf
##JCAMP-DX= 5.01
##DATA TYPE= RAMAN SPECTRUM
##XUNITS= 1/CM
##YUNITS= COUNTS
##XFACTOR= 1
##YFACTOR= 1
##FIRSTX= 700
##LASTX= 739
##NPOINTS= 40
##XYDATA= (X++(Y..Y))
700A00J0JJ1JJ2JJ3 $$ SQZ + DIF
705A54J6J7J8J9
710A89j1j2j3j4
715A75j5j6j7j8
720A37Ul
725A33J1J2J3J4
730A43@0A1B2C
735D3E4F5G6H7
##END=
"""


def _seeds(shared_data, tmp: Path) -> dict[str, list[Seed]]:
    def real(*parts: str) -> bytes:
        return shared_data(*parts).read_bytes()

    def case(*parts: str) -> bytes:
        return shared_data("..", "cases", *parts).read_bytes()

    binary = frozenset({"truncate", "insert", "delete"})
    seeds: dict[str, list[Seed]] = {}

    def counted(name: str, raw: bytes) -> Seed:
        return Seed(name, raw, frozenset(), truncate_before=_last_line_start(raw))

    seeds["vamas"] = [counted(n, real("xps", "vamas", n)) for n in
                      ("pynxtools_regular.vms", "lg4x_Mutlipak_vms.npl", "vamaspkg_aes_staib.vms",
                       "pynxtools_irregular.vms")]
    seeds["vamas"].append(counted("f1s_bom.vms", case("16-utf8-bom-format-sniff", "extra", "f1s_bom.vms")))
    phi_dir = ("xps", "depth_profile_phi_SnO2")
    seeds["phi"] = [Seed(n, raw, binary, from_byte=_binary_start(raw))
                    for n in ("SnO2_10nm.spe", "SnO2_10nm_1.pro") for raw in [real(*phi_dir, n)]]
    seeds["phi"].append(Seed("SnO2_10nm_1_depthprofile_C1s.csv", real(*phi_dir, "SnO2_10nm_1_depthprofile_C1s.csv"),
                             frozenset()))
    # issue 22, case 29: a multiplex .spe of float64 records, and its MultiPak ASCII export
    spe64 = case("29-phi-spe-float64", "BN-BS-1_multiplex.spe")
    seeds["phi"].append(Seed("BN-BS-1_multiplex.spe", spe64, binary, from_byte=_binary_start(spe64)))
    seeds["phi"].append(Seed("BN-BS-1_multiplex.txt", case("29-phi-spe-float64", "BN-BS-1_multiplex.txt"),
                             frozenset()))
    seeds["prodigy_xy"] = [counted("MgFe2O4.xy", real("xps", "text_formats", "specs_prodigy_MgFe2O4_small.xy"))]
    seeds["scienta_txt"] = [counted("Ag3d.txt", real("xps", "text_formats", "scienta_Ag3d_Ag_0001.txt")),
                            counted("ses_bom.txt", case("16-utf8-bom-format-sniff", "extra", "ses_bom.txt"))]
    casa = ("xps", "casaxps_csv_tfsi_il")
    seeds["casaxps_csv"] = [Seed(n, real(*casa, n), frozenset()) for n in
                            ("20240228_Au_MPPipTFSIIol3_F_1s.csv", "20240228_Au_MPPipTFSIIol3_S_2p.csv")]
    seeds["jcamp"] = [counted(n, case("02-jcamp-datatype-label", n)) for n in
                      ("li7_datatype_space.jdx", "ir_datatype_nospace.jdx")]
    seeds["jcamp"].append(counted("asdf.jdx", _JCAMP_ASDF.encode()))
    seeds["netcdf"] = [Seed(n, case(*parts, n), frozenset({"truncate"})) for parts, n in
                       ((("25-netcdf-truncated-or-classic-traceback",), "ok.nc"),
                        (("25-netcdf-truncated-or-classic-traceback",), "classic.nc"),
                        (("26-netcdf-checksum-traceback",), "spectrum_ok.nc"))]
    seeds["nmrpipe"] = [Seed("li7_ext.ft1", case("01-nmrpipe-ext-carrier", "li7_ext.ft1"), binary),
                        Seed("1d_data.ft", real("nmr", "nmrpipe_13C", "1d_data.ft"), binary)]
    pdata = _make_bruker(tmp / "bruker_seed")
    seeds["bruker"] = [Seed("1r", (pdata / "1r").read_bytes(), binary, bruker_file="1r"),
                       Seed("procs", (pdata / "procs").read_bytes(), frozenset(), bruker_file="procs")]
    seeds["wdf"] = [Seed("single.wdf", _make_wdf(), binary), Seed("series.wdf", _make_wdf(48, 3), binary)]
    seeds["text"] = [Seed(n, real("xps", "text_formats", n), frozenset()) for n in
                     ("lg4x_PET_C1s.csv", "lmfitxps_clean_Au_4f.txt")]
    seeds["text"].append(Seed("hendricks.csv", real("xps", "battery_electrode_hendricks",
                                                    "hendricks_F1s_0V_3p4V.csv"), frozenset()))
    seeds["text"].append(Seed("raman.txt", real("raman", "ramanfitting_Si_spectrum01.txt")[:8000], frozenset()))
    seeds["bruker_dir"] = [Seed(str(pdata), b"", frozenset())]
    return seeds


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    from conftest import shared_path

    return _seeds(shared_path, tmp_path_factory.mktemp("fuzz_seeds"))


@pytest.fixture(scope="module")
def fuzz_counts(request):
    """Cases per reader, reported by ``pytest_terminal_summary`` in conftest.py."""
    counts = getattr(request.config, "specfit_fuzz_counts", None)
    if counts is None:
        counts = request.config.specfit_fuzz_counts = {}
    return counts


def _mutate(raw: bytes, kind: str, position: int, value: int) -> bytes:
    if kind == "truncate":
        return raw[:position]
    if kind == "flip":
        return raw[:position] + bytes([raw[position] ^ value]) + raw[position + 1:]
    if kind == "insert":
        return raw[:position] + bytes([value]) + raw[position:]
    return raw[:position] + raw[position + 1:]


def _must_detect(seed: Seed, kind: str, position: int) -> bool:
    if kind in seed.detect and position >= seed.from_byte:
        return True
    return kind == "truncate" and position < seed.truncate_before


def _check(result: object) -> None:
    """A read that succeeded returned spectra: a DataArray or a DataTree of them."""
    assert isinstance(result, (xr.DataArray, xr.DataTree))


@pytest.mark.parametrize("reader", list(BUDGET))
def test_fuzz_reader(reader, seeds, fuzz_counts, tmp_path_factory):
    files = seeds[reader]
    work = tmp_path_factory.mktemp(f"fuzz_{reader}")
    tally: Counter[str] = Counter()

    @settings(max_examples=BUDGET[reader], derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(data=st.data())
    def case(data):
        seed = data.draw(st.sampled_from(files), label="seed")
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        position = data.draw(st.integers(0, len(seed.raw) - 1), label="position")
        value = data.draw(st.integers(1, 255), label="byte")
        damaged = _mutate(seed.raw, kind, position, value)
        if seed.bruker_file is not None:
            folder = work / f"case{sum(tally.values())}"
            shutil.copytree(seeds["bruker_dir"][0].name, folder)
            (folder / seed.bruker_file).write_bytes(damaged)
            target = folder
        else:
            target = work / seed.name
            target.write_bytes(damaged)
        start = time.perf_counter()
        try:
            result = specfit.read(target)
        except SpecfitError as exc:
            message = str(exc)
            assert "\n" not in message and target.name in message, message
            detected = True
        else:
            _check(result)
            detected = False
        elapsed = time.perf_counter() - start
        assert elapsed < CASE_SECONDS, f"{seed.name} {kind}@{position}: {elapsed:.2f} s"
        if _must_detect(seed, kind, position):
            assert detected, f"{seed.name}: {kind} at byte {position} read without an error"
        tally[kind] += 1
        if seed.bruker_file is not None:
            shutil.rmtree(target)

    case()
    total = sum(tally.values())
    fuzz_counts[reader] = total
    print(f"fuzz {reader}: {total} cases ({', '.join(f'{k} {tally[k]}' for k in KINDS)})")
    assert total >= min(250, BUDGET[reader])


# ------------------------------------------------------------------ issue 22: outputs, libraries, results, options
# Each class runs a battery of cases and sorts every outcome: ``passed`` (a clear one-line SpecfitError / exit 2,
# or honoured), ``silent`` (accepted and ignored or misread), ``traceback`` (another exception), ``loss`` (a file
# replaced or changed that must not be).  Hangs are caught by the per-case time limit.  Only ``passed`` is allowed.
def _outcome(run, check_intact=lambda: True) -> str:
    start = time.perf_counter()
    try:
        run()
    except SpecfitError as exc:
        outcome = "passed" if "\n" not in str(exc) else "traceback"
    except Exception:  # noqa: BLE001 - any other exception is what the battery counts
        outcome = "traceback"
    else:
        outcome = "silent"
    if time.perf_counter() - start > 30:
        outcome = "hang"
    if not check_intact():
        outcome = "loss"
    return outcome


def _report(config, name: str, tally: Counter) -> None:
    counts = getattr(config, "specfit_fuzz_counts", None)
    if counts is None:
        counts = config.specfit_fuzz_counts = {}
    counts[name] = sum(tally.values())
    print(f"battery {name}: " + ", ".join(f"{k} {tally[k]}" for k in ("passed", "silent", "hang", "traceback",
                                                                      "loss")))


@pytest.fixture(scope="module")
def small_fit():
    from specfit.examples import raman_series

    da, _ = raman_series(n_samples=2, seed=4)
    return da, specfit.fit(da, "raman/fsi_tfsi")


def test_battery_special_outputs(small_fit, tmp_path, request):
    import os
    import socket
    import stat as st_

    from specfit.report import write_report

    da, res = small_fit
    tally: Counter[str] = Counter()
    saved = specfit.save(res, tmp_path / "res.nc")

    def specials(folder: Path, suffix: str) -> dict[str, Path]:
        folder.mkdir()
        made = {"fifo": folder / f"f{suffix}", "link": folder / f"link{suffix}", "folder": folder / f"d{suffix}",
                "socket": folder / f"s{suffix}"}
        os.mkfifo(made["fifo"])
        made["link"].symlink_to(made["fifo"])
        made["folder"].mkdir()
        if os.geteuid() == 0:
            made["chardev"] = folder / f"null{suffix}"
            os.mknod(made["chardev"], 0o666 | st_.S_IFCHR, os.makedev(1, 3))
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(made["socket"]))
        sock.close()
        return made

    writers = {
        "save": (".nc", lambda p: specfit.save(res, p)),
        "report.png": (".png", lambda p: write_report(res, p)),
        "report.csv": (".csv", lambda p: write_report(res, p)),
        "cli fit": (".nc", lambda p: _cli_raises(["fit", str(tmp_path / "in.nc"), "-l", "raman/fsi_tfsi", "-o",
                                                  str(p), "-q"])),
        "cli report": (".png", lambda p: _cli_raises(["report", str(saved), "-o", str(p)])),
    }
    da.isel(sample=0).to_netcdf(tmp_path / "in.nc")
    for w, (suffix, writer) in enumerate(writers.values()):
        for target in specials(tmp_path / f"s{w}", suffix).values():
            before = os.lstat(target)
            tally[_outcome(lambda writer=writer, target=target: writer(target),
                           lambda target=target, before=before: os.lstat(target).st_mode == before.st_mode
                           and os.lstat(target).st_ino == before.st_ino)] += 1
    _report(request.config, "special outputs", tally)
    assert set(tally) == {"passed"}, tally


def _cli_raises(argv: list[str]) -> None:
    """Run the CLI; exit 2 becomes a SpecfitError (so the battery counts it as passed), 0 is silent."""
    import contextlib
    import io

    from specfit.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    lines = [line for line in err.getvalue().splitlines() if line.startswith("specfit: error")]
    if code == 2 and len(lines) == 1 and "Traceback" not in err.getvalue():
        raise SpecfitError(lines[0])
    if code != 0:
        raise RuntimeError(f"exit {code}: {err.getvalue()}")


_LIB22 = """[library]
name = "fuzz/nonfinite"
technique = "xps"
window = {window}
[[component]]
name = "A"
center = {center}
center_range = {center_range}
fwhm = {fwhm}
fwhm_range = {fwhm_range}
shape = {shape}
rsf = {rsf}
doublet = {{ splitting = {splitting}, ratio = {dratio} }}
[[component]]
name = "B"
center = 690.0
fwhm = 1.5
offset_from = {{ component = "A", value = {offset} }}
area_ratio_to = {{ component = "A", value = {ratio} }}
"""
_LIB22_GOOD = dict(window="[680.0, 700.0]", center="685.0", center_range="[684.0, 686.0]", fwhm="1.5",
                   fwhm_range="[0.5, 3.0]", shape="0.3", rsf="1.0", splitting="1.2", dratio="0.5", offset="5.0",
                   ratio="0.5")


def test_battery_non_finite_libraries(tmp_path, request):
    tally: Counter[str] = Counter()
    specfit.load_library(_write(tmp_path / "good.toml", _LIB22.format(**_LIB22_GOOD)))
    for key, good in _LIB22_GOOD.items():
        pair = good.startswith("[")
        for bad in ("inf", "-inf", "nan"):
            values = [f"[{bad}, {good[1:-1].split(',')[1]}]", f"[{good[1:-1].split(',')[0]}, {bad}]"] if pair \
                else [bad]
            for value in values:
                path = _write(tmp_path / f"{key}_{len(tally)}.toml", _LIB22.format(**(_LIB22_GOOD | {key: value})))

                def load(path=path, key=key):
                    try:
                        specfit.load_library(path)
                    except specfit.LibraryError as exc:
                        text = str(exc)
                        assert text.startswith(str(path)) and "key '" in text
                        raise
                tally[_outcome(load)] += 1
    _report(request.config, "non-finite libraries", tally)
    assert set(tally) == {"passed"}, tally


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_battery_edited_results(small_fit, tmp_path, request):
    from specfit.report import write_report

    da, res = small_fit
    tally: Counter[str] = Counter()
    garbage = ("", "{", "[]", "null", "42", '{"a": 1}', '["x"]', "nonsense", '{"degree": "x"}',
               '{"background_options": [1]}')
    for key in ("options", "lineshapes", "shape_tied_to", "library", "library_path", "background", "parameters"):
        for value in (*garbage, None):
            edited = res.copy()
            if value is None:
                edited.attrs.pop(key, None)
            else:
                edited.attrs[key] = value
            outcome = _outcome(lambda edited=edited: specfit.curves(edited, da))
            # curves may honour an edit that does not matter (e.g. an unused key): only a crash is wrong
            tally["passed" if outcome == "silent" and _same_curves(edited, res, da) else outcome] += 1
    for var in ("fraction", "fraction_stderr", "area", "area_stderr", "center", "fwhm", "fwhm_stderr"):
        path = specfit.save(res.drop_vars(var), tmp_path / f"no_{var}.nc")
        tally[_outcome(lambda path=path, var=var: write_report(path, tmp_path / f"no_{var}.csv"))] += 1
    for version in ("99.0.0", "1.0.0", "abc"):
        edited = res.copy()
        edited.attrs["specfit_version"] = version
        path = specfit.save(edited, tmp_path / f"v_{version}.nc")
        tally[_outcome(lambda path=path: specfit.open_results(path))] += 1
    _report(request.config, "edited results", tally)
    assert set(tally) == {"passed"}, tally


def _same_curves(edited, res, da) -> bool:
    try:
        return bool(np.allclose(specfit.curves(edited, da)["best_fit"], specfit.curves(res, da)["best_fit"],
                                equal_nan=True))
    except SpecfitError:
        return False


_MEANINGLESS = (
    ["--n-draws", "50"], ["--n-draws", "0", "--uncertainty", "covariance"],
    ["--background", "shirley_fixed", "--background-option", "n_average=-3"],
    ["--background", "shirley_fixed", "--background-option", "n_average=0"],
    ["--background", "shirley_fixed", "--background-option", "n_average=1.5"],
    ["--background", "shirley_fixed", "--background-option", "bogus=1"],
    ["--background", "shirley", "--background-option", "n_average=5"],
    ["--region", "C1s"], ["--components", "free,free"], ["--components", ""], ["--components", ",,"],
    ["--components", "free,,CIP"], ["--components", "nothere"], ["--share", "colour"], ["--window", "780,720"],
    ["--engine", "lmfit", "--share", "center"], ["--uncertainty", "bootstrap", "--n-draws", "1"],
    ["--charge-shift", "0.3"], ["--lineshape", "GL(300)"], ["--x-column", "nothere"],
)


def test_battery_meaningless_options(small_fit, tmp_path, request):
    da, _ = small_fit
    data = tmp_path / "in.nc"
    da.isel(sample=0).to_netcdf(data)
    tally: Counter[str] = Counter()
    for i, extra in enumerate(_MEANINGLESS):
        out = tmp_path / f"r{i}.nc"
        outcome = _outcome(lambda extra=extra, out=out: _cli_raises(["fit", str(data), "-l", "raman/fsi_tfsi", "-o",
                                                                      str(out), "-q", *extra]),
                           lambda out=out: not out.exists())
        tally[outcome] += 1
        if outcome != "passed":
            print("not refused:", extra, outcome)
    _report(request.config, "meaningless options", tally)
    assert set(tally) == {"passed"}, tally
