"""CasaXPS fit models stored in VAMAS block comments, turned into specfit libraries.

CasaXPS writes, in each block comment, one ``CASA region`` line (background type,
limits, averaging width, cross-section parameters, RSF) and one ``CASA comp`` line
per component (lineshape, then ``Area``, ``MFWHM`` and ``Position`` each as
``value lo hi link factor``, then ``RSF``).  ``link`` is the index of the
component it is tied to (-1: free; ``lo == hi``: fixed); ``factor`` multiplies
the linked area or width, and is added to the linked position.  Positions are
on the file's abscissa (kinetic energy for most instruments) and are converted
to binding energy.  The keyword mapping is documented in ``docs/casaxps.md``.
Constraints specfit cannot express are listed by name in ``Library.notes``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import xarray as xr

from specfit.errors import LibraryError
from specfit.library.loader import Library, parse_library
from specfit.lineshapes.profiles import canonical_lineshape, casa_fwhm_factor, casa_parameters, get_lineshape

_NAME = r"\(\*(.*?)\*\)"
_REGION_RE = re.compile(r"CASA region\s+" + _NAME + r"\s+" + _NAME + r"\s+(.*)")
_COMP_RE = re.compile(r"CASA comp\s+" + _NAME + r"\s+" + _NAME + r"\s+(.*)")
_PARAM_RE = re.compile(r"\b(Area|MFWHM|FWHM|Position)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")
_BACKGROUNDS = {"shirley": "shirley_fixed", "linear": "linear", "u 2 tougaard": "tougaard",
                "u 3 tougaard": "tougaard", "u 4 tougaard": "tougaard", "tougaard": "tougaard"}


def _comment(da: xr.DataArray) -> str:
    for key in ("casaxps_comment", "block_comment"):
        text = da.attrs.get(key)
        if isinstance(text, str) and "CASA" in text:
            return text
    raise LibraryError(f"{da.attrs.get('source_file', '<data>')}: no CasaXPS model (CASA region/comp lines) "
                       "in the block comment")


def _lineshape(text: str, where: str) -> tuple[str, float, tuple[float, float]]:
    match = re.fullmatch(r"\s*(S?GL)\s*\(\s*([\d.]+)\s*\)\s*", text, flags=re.IGNORECASE)
    if match:
        value = float(match.group(2)) / 100.0
        return match.group(1).lower(), value, (value, value)
    try:
        if casa_parameters(text) is not None:
            name = canonical_lineshape(text)
            get_lineshape(name)  # its table: values without a finite profile are refused here
            return name, 0.0, (0.0, 0.0)
    except KeyError as exc:
        raise LibraryError(f"{where}: {exc.args[0]}") from None
    raise LibraryError(f"{where}: CasaXPS lineshape {text!r} is not supported (GL(p), SGL(p), LA(...), LF(...))")


def library_from_casa(da: xr.DataArray) -> Library:
    """The CasaXPS model stored in ``da``'s block comment as a specfit :class:`~specfit.library.Library`.

    Parameters
    ----------
    da : xarray.DataArray
        One VAMAS block as read by ``specfit.read`` (comment in ``attrs["casaxps_comment"]``).

    Returns
    -------
    Library
        Window and background from the ``CASA region`` line (``background_options``
        holds end-point averaging and Tougaard B, C, D), one component per
        ``CASA comp`` line with its lineshape, bounds, links and RSF; anything
        that could not be expressed is named in ``notes``.

    Raises
    ------
    LibraryError
        No CasaXPS model in the comment, an unsupported lineshape or background,
        or a link to a missing component.
    """
    source = da.attrs.get("source_file", "<data>")
    text = _comment(da)
    kinetic = "kinetic" in str(da.attrs.get("abscissa_label", "")).lower()
    photon = float(da.attrs.get("photon_energy") or da.attrs.get("source_energy") or 0.0)
    if kinetic and not photon:
        raise LibraryError(f"{source}: CasaXPS positions are kinetic energies but the photon energy is unknown")
    to_be = (lambda e: photon - e) if kinetic else (lambda e: e)
    sign = -1.0 if kinetic else 1.0
    notes: list[str] = []

    regions = [m for m in (_REGION_RE.search(line) for line in text.splitlines()) if m]
    if not regions:
        raise LibraryError(f"{source}: no 'CASA region' line in the block comment")
    if len(regions) > 1:
        notes.append(f"{len(regions) - 1} further CASA region line(s) ignored; the first is used")
    region_name, bg_text, rest = regions[0].groups()
    fields = rest.split()
    start, end, rsf_region, av_width = (float(v) for v in fields[:4])
    offsets = [float(v) for v in fields[4:6]]
    bg_key = " ".join(bg_text.lower().split())
    background = _BACKGROUNDS.get(bg_key)
    if background is None:
        raise LibraryError(f"{source}: CasaXPS background {bg_text!r} is not supported "
                           f"({', '.join(sorted(_BACKGROUNDS))})")
    n_average = 2 * (int(av_width) // 2) + 1
    options: dict[str, object] = {"n_average": n_average, "endpoints": "centred"}
    if background == "shirley_fixed":
        options["quadrature"] = "casaxps"
    if any(offsets):
        notes.append(f"region start/end offsets {offsets[0]:g} %, {offsets[1]:g} % not applied")
    if background == "tougaard":
        options["cross_section"] = "u3" if "3" in bg_key else "u4" if "4" in bg_key else "u2"
        numbers = [float(v) for v in fields[6:] if re.fullmatch(r"[-+\d.eE]+", v)]
        if numbers:
            options["b"] = numbers[0]
        if len(numbers) > 1:
            options["c"] = numbers[1]
        if len(numbers) > 2 and options["cross_section"] != "u2":
            options["d"] = numbers[2]
        if options["cross_section"] == "u4" and len(numbers) > 3:
            options["t0"] = numbers[3]
        elif len(numbers) > 3:
            notes.append(f"Tougaard parameter {numbers[3]:g} after B, C, D not used ({bg_text})")
    window = tuple(sorted((to_be(start), to_be(end))))
    options["region"] = window

    raw_comps = [m.groups() for m in (_COMP_RE.search(line) for line in text.splitlines()) if m]
    if not raw_comps:
        raise LibraryError(f"{source}: no 'CASA comp' line in the block comment")
    names = [c[0] or region_name for c in raw_comps]
    if len(set(names)) < len(names):
        names = [f"{n}_{i + 1}" for i, n in enumerate(names)]
    components = []
    for i, (cname, shape_text, rest) in enumerate(raw_comps):
        where = f"{source}: CASA comp {names[i]!r}"
        lineshape, shape, shape_range = _lineshape(shape_text, where)
        params = {m.group(1).replace("MFWHM", "FWHM"): [float(v) for v in m.groups()[1:]]
                  for m in _PARAM_RE.finditer(rest)}
        missing = [k for k in ("Area", "FWHM", "Position") if k not in params]
        if missing:
            raise LibraryError(f"{where}: no {', '.join(missing)} in the CASA comp line")
        factor = casa_fwhm_factor(lineshape, shape)
        area, a_lo, a_hi, a_link, a_factor = params["Area"]
        fwhm, f_lo, f_hi, f_link, f_factor = params["FWHM"]
        pos, p_lo, p_hi, p_link, p_factor = params["Position"]
        rsf = re.search(r"\bRSF\s+(\S+)", rest)
        comp: dict[str, object] = {
            "name": names[i], "label": cname or region_name, "lineshape": lineshape,
            "center": to_be(pos), "center_range": sorted((to_be(p_lo), to_be(p_hi))),
            "fwhm": fwhm * factor, "fwhm_range": [max(f_lo, 1e-6) * factor, f_hi * factor],
            "rsf": float(rsf.group(1)) if rsf else rsf_region or 1.0,
            "element": (cname or region_name).split()[0] if (cname or region_name).split() else "",
            "source": f"CasaXPS model in {source}",
        }
        lo_c, hi_c = comp["center_range"]
        half = 1.5 * float(comp["fwhm"])
        if hi_c - lo_c > 2 * half:  # specfit would otherwise seed a wide range at the data maximum
            comp["center_range"] = [max(lo_c, comp["center"] - half), min(hi_c, comp["center"] + half)]
            notes.append(f"{names[i]}: position range [{lo_c:.2f}, {hi_c:.2f}] eV narrowed to CasaXPS's value "
                         f"+/- 1.5 FWHM so the refit starts from CasaXPS's solution")
        if lineshape in ("gl", "sgl"):
            comp["shape"], comp["shape_range"] = shape, list(shape_range)
        if a_lo > 1e-10:
            notes.append(f"{names[i]}: area lower limit {a_lo:g} not enforced (specfit areas are >= 0)")
        for key, link, value in (("Area", a_link, a_factor), ("FWHM", f_link, f_factor),
                                 ("Position", p_link, p_factor)):
            j = int(link)
            if j < 0:
                continue
            if j >= len(raw_comps) or j == i:
                raise LibraryError(f"{where}: {key} linked to missing component index {j}")
            if key == "Area":
                comp["area_ratio_to"] = {"component": names[j], "value": value}
            elif key == "Position":
                comp["offset_from"] = {"component": names[j], "value": sign * value}
            elif abs(value - 1.0) < 1e-9:
                comp["same_width_as"] = names[j]
            else:
                notes.append(f"{names[i]}: FWHM = {value:g} x FWHM of {names[j]} not expressible; width left free")
        components.append(comp)
    lib = parse_library({"library": {"name": f"casa:{region_name}", "technique": "xps", "window": list(window),
                                     "background": background, "lineshape": components[0]["lineshape"],
                                     "description": f"CasaXPS model read from {source}",
                                     "sources": [f"CasaXPS region/comp lines of {source}"]},
                         "component": components}, path=str(source))
    return replace(lib, background_options=tuple(options.items()), notes=tuple(notes))
