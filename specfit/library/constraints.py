"""Constraints without editing a library file: fix, range, link and add components (CasaXPS/Fityk style).

``Library.constrained(fix=..., range=..., link=..., add=...)`` returns a new
:class:`~specfit.library.loader.Library`; the command line's ``--fix``,
``--range``, ``--link`` and ``--add`` build the same call (:func:`parse_cli`).

Targets are ``COMPONENT.PARAM`` with PARAM one of ``center``, ``fwhm``,
``shape`` (and ``area`` for links).  What each does:

- ``fix``: the parameter is a constant of the model (not a parameter resting on
  a bound: no ``at_bound`` flag; its standard error is 0).
- ``range``: new allowed range; the starting value is moved inside it.
- ``link``: ``A.center = B.center`` (or ``B.center+0.5``: a fixed offset),
  ``A.fwhm = B.fwhm`` (width and shape shared, as the library's
  ``same_width_as``), ``A.shape = B.shape``, ``A.area = B.area`` (or
  ``B.area*0.5``: a fixed area ratio).
- ``add``: ``NAME@CENTER[:LINESHAPE]``, a new component with the library's
  default lineshape and the median width of its components.

Fixing an area is not offered (an absolute area depends on the intensity
scale; tie it to another component with a ratio instead).  Every constraint is
kept, as words, in the library's ``constraints`` and ``notes`` (the result's
``library_notes`` attribute), and the content hash becomes that of the file
plus the constraints, so a result never claims the unconstrained library.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from statistics import median
from typing import Any

from specfit.errors import LibraryError
from specfit.lineshapes.profiles import LINESHAPE_TABLE, canonical_lineshape, get_lineshape, is_lineshape

# The Library, Component and Link classes live in specfit.library.loader, which calls this module
# (Library.constrained); they are passed in, so this module does not import the loader back.
Library = Component = Link = Any

PARAMS = ("center", "fwhm", "shape", "area")
_RANGE_KEY = {"center": "center_range", "fwhm": "fwhm_range", "shape": "shape_range"}
_LINK = re.compile(r"^\s*([^=]+?)\.(center|fwhm|shape|area)\s*(?:([+\-*])\s*([-+0-9.eE]+))?\s*$")


def _target(lib: Library, text: str, what: str) -> tuple[Component, str]:
    name, dot, param = str(text).strip().rpartition(".")
    if not dot or not name:
        raise LibraryError(f"{what} {text!r}: expected COMPONENT.PARAM (PARAM one of {', '.join(PARAMS)})")
    param = param.strip().lower()
    if param not in PARAMS:
        raise LibraryError(f"{what} {text!r}: component {name!r} has no parameter {param!r}; "
                           f"use one of {', '.join(PARAMS)}")
    if name not in lib.component_names:
        raise LibraryError(f"{what} {text!r}: library {lib.name or lib.path} has no component {name!r}; "
                           f"it has {', '.join(lib.component_names)}")
    return lib.component(name), param


def _number(value: object, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LibraryError(f"{what}: {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise LibraryError(f"{what}: must be a finite number, got {value!r}")
    return number


def _replace(comps: list[Component], name: str, **changes) -> None:
    for i, comp in enumerate(comps):
        if comp.name == name:
            comps[i] = replace(comp, **changes)
            return


def _shape_check(comp: Component, lo: float, hi: float, what: str) -> None:
    ls = get_lineshape(comp.lineshape)
    if ls.shape_name is None:
        raise LibraryError(f"{what}: component {comp.name!r} has lineshape {comp.lineshape}, which has no shape "
                           "parameter")
    if lo < ls.shape_limits[0] or hi > ls.shape_limits[1]:
        raise LibraryError(f"{what}: component {comp.name!r} shape of {comp.lineshape} must lie in "
                           f"[{ls.shape_limits[0]:g}, {ls.shape_limits[1]:g}]")


def parse_add(text: str | tuple, lib: Library, component_type: type | None = None) -> Component:
    """``"NAME@CENTER[:LINESHAPE]"`` (or ``(name, center[, lineshape])``) -> a new component of ``lib``'s
    component class (``component_type``, default: that of its first component)."""
    if isinstance(text, (tuple, list)):
        parts = list(text) + [None] * (3 - len(text))
        name, center, lineshape = parts[:3]
    else:
        name, at, rest = str(text).partition("@")
        if not at or not name.strip() or not rest.strip():
            raise LibraryError(f"--add {text!r}: expected NAME@CENTER[:LINESHAPE], e.g. LiOH@531.2:gl")
        center, _, lineshape = rest.partition(":")
    name = str(name).strip()
    what = f"--add {name}"
    center = _number(center, f"{what}: center")
    lineshape = (str(lineshape).strip() if lineshape else "") or lib.lineshape
    if not is_lineshape(lineshape):
        raise LibraryError(f"{what}: unknown lineshape {lineshape!r}; use one of {', '.join(LINESHAPE_TABLE)}")
    if name in lib.component_names:
        raise LibraryError(f"{what}: the library already has a component {name!r}")
    lineshape = canonical_lineshape(lineshape)
    fwhm = median([c.fwhm for c in lib.components]) if lib.components else 1.0
    if lib.window:
        half = 0.05 * (lib.window[1] - lib.window[0])
        if not lib.window[0] <= center <= lib.window[1]:
            raise LibraryError(f"{what}: center {center:g} outside the library window "
                               f"[{lib.window[0]:g}, {lib.window[1]:g}] (widen it with --window)")
    else:
        half = 5.0 * fwhm
    ls = get_lineshape(lineshape)
    donor = next((c for c in lib.components if c.lineshape == lineshape), None)
    if ls.shape_name is None:
        shape, shape_range = 0.0, (0.0, 0.0)
    elif donor is not None:
        shape, shape_range = donor.shape, donor.shape_range
    else:
        shape, shape_range = ls.default_shape, ls.shape_limits
    element = lib.components[0].element if lib.components else ""
    rsf = lib.components[0].rsf if lib.components else 1.0
    make = component_type or type(lib.components[0])
    return make(name=name, center=center, center_range=(center - half, center + half), fwhm=fwhm,
                     fwhm_range=(fwhm / 4.0, fwhm * 4.0), lineshape=lineshape, shape=float(shape),
                     shape_range=tuple(shape_range), label=name, rsf=rsf, element=element,
                     source="added by the user (--add)")


def _pairs(value: Mapping | Iterable | None) -> list[tuple[str, object]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.items())
    return [tuple(v) for v in value]


def constrain(lib: Library, *, fix: Mapping | None = None, range: Mapping | None = None,  # noqa: A002
              link: Mapping | None = None, add: Iterable | None = None, link_type: type = None,
              component_type: type | None = None) -> Library:
    """A copy of ``lib`` with parameters fixed, ranges set, parameters linked and components added.

    Parameters
    ----------
    lib : Library
    fix : mapping ``"COMP.PARAM" -> value``
        PARAM ``center``, ``fwhm`` or ``shape``.
    range : mapping ``"COMP.PARAM" -> (lo, hi)``
        PARAM ``center``, ``fwhm`` or ``shape``.
    link : mapping ``"COMP.PARAM" -> "OTHER.PARAM"``
        Same PARAM on both sides; ``"OTHER.center+0.3"`` (offset) and
        ``"OTHER.area*0.5"`` (ratio) are accepted.
    add : iterable of ``"NAME@CENTER[:LINESHAPE]"``
        New components (added first, so the other constraints may name them).
    link_type, component_type : type
        :class:`~specfit.library.loader.Link` and ``Component`` (given by
        :meth:`Library.constrained`, the way to call this).

    Returns
    -------
    Library
        With ``constraints`` (the words, in order) also appended to ``notes``.

    Raises
    ------
    LibraryError
        Naming the component and the parameter: unknown component or parameter,
        a value outside what the lineshape allows, a link to itself.
    """
    comps = list(lib.components)
    words: list[str] = []
    for item in list(add or []):
        comp = parse_add(item, replace(lib, components=tuple(comps)), component_type)
        comps.append(comp)
        words.append(f"added {comp.name} at {comp.center:g} ({comp.lineshape})")
    current = lambda: replace(lib, components=tuple(comps))  # noqa: E731
    for key, value in _pairs(range):
        comp, param = _target(current(), key, "--range")
        what = f"--range {comp.name}.{param}"
        if param == "area":
            raise LibraryError(f"{what}: an area range is not supported (areas are >= 0; tie areas with --link)")
        if isinstance(value, str):
            lo_text, sep, hi_text = value.partition(":")
            if not sep:
                raise LibraryError(f"{what}: expected LO:HI, got {value!r}")
            value = (lo_text, hi_text)
        try:
            lo, hi = (_number(v, what) for v in value)
        except TypeError:
            raise LibraryError(f"{what}: expected (lo, hi), got {value!r}") from None
        if lo > hi:
            raise LibraryError(f"{what}: lo > hi ({lo:g} > {hi:g})")
        if param == "fwhm" and lo <= 0:
            raise LibraryError(f"{what}: the lower limit must be > 0")
        if param == "shape":
            _shape_check(comp, lo, hi, what)
        start = min(max(getattr(comp, param), lo), hi)
        _replace(comps, comp.name, **{_RANGE_KEY[param]: (lo, hi), param: start})
        words.append(f"range {comp.name}.{param} {lo:g}:{hi:g}")
    for key, value in _pairs(fix):
        comp, param = _target(current(), key, "--fix")
        what = f"--fix {comp.name}.{param}"
        if param == "area":
            raise LibraryError(f"{what}: fixing an area is not supported (it depends on the intensity scale); "
                               f"tie it to another component instead, e.g. --link {comp.name}.area=OTHER.area*0.5")
        v = _number(value, what)
        if param == "fwhm" and v <= 0:
            raise LibraryError(f"{what}: must be > 0, got {v:g}")
        if param == "shape":
            _shape_check(comp, v, v, what)
        _replace(comps, comp.name, **{_RANGE_KEY[param]: (v, v), param: v})
        words.append(f"fixed {comp.name}.{param} = {v:g}")
    for key, value in _pairs(link):
        comp, param = _target(current(), key, "--link")
        what = f"--link {comp.name}.{param}"
        match = _LINK.match(str(value))
        if not match:
            raise LibraryError(f"{what}: expected OTHER.{param} (or OTHER.center+OFFSET, OTHER.area*RATIO), "
                               f"got {value!r}")
        other_name, other_param, op, number = match.groups()
        other, _ = _target(current(), f"{other_name}.{other_param}", what + " =")
        if other_param != param:
            raise LibraryError(f"{what}: can only be linked to the same parameter, got {other.name}.{other_param}")
        if other.name == comp.name:
            raise LibraryError(f"{what}: a component cannot be linked to itself")
        amount = _number(number, what) if number is not None else None
        if param == "center":
            if op == "*":
                raise LibraryError(f"{what}: centers take an offset (+/-), not a factor")
            offset = (amount or 0.0) * (-1.0 if op == "-" else 1.0)
            _replace(comps, comp.name, offset_from=link_type(other.name, offset))
            words.append(f"linked {comp.name}.center = {other.name}.center {offset:+g}")
        elif param == "area":
            if op in ("+", "-"):
                raise LibraryError(f"{what}: areas take a ratio (*R), not an offset")
            ratio = 1.0 if amount is None else amount
            if ratio <= 0:
                raise LibraryError(f"{what}: the area ratio must be > 0, got {ratio:g}")
            _replace(comps, comp.name, area_ratio_to=link_type(other.name, ratio))
            words.append(f"linked {comp.name}.area = {ratio:g} x {other.name}.area")
        else:
            if op is not None:
                raise LibraryError(f"{what}: widths and shapes are linked equal (no offset or factor)")
            if param == "fwhm":
                _replace(comps, comp.name, same_width_as=other.name)
                words.append(f"linked {comp.name}.fwhm = {other.name}.fwhm (and shape)")
            else:
                _replace(comps, comp.name, same_shape_as=other.name)
                words.append(f"linked {comp.name}.shape = {other.name}.shape")
    if not words:
        return lib
    _check_cycles(comps)
    text = "; ".join(words)
    digest = hashlib.sha256(f"{lib.content_hash}\n{text}".encode()).hexdigest()
    base = f" (library file sha256 {lib.content_hash[:12]})" if lib.content_hash else ""
    return replace(lib, components=tuple(comps), content_hash=digest,
                   constraints=tuple(lib.constraints) + tuple(words),
                   notes=tuple(lib.notes) + (f"constraints{base}: {text}",))


def _check_cycles(comps: list[Component]) -> None:
    """Links must not form a loop (A.center = B.center and B.center = A.center)."""
    for attr in ("offset_from", "area_ratio_to", "same_width_as", "same_shape_as"):
        target = {}
        for c in comps:
            link = getattr(c, attr)
            if link is not None:
                target[c.name] = link if isinstance(link, str) else link.component
        for start in target:
            seen, node = {start}, target[start]
            while node in target:
                if node in seen:
                    raise LibraryError(f"--link: component {start!r} {attr.replace('_', ' ')} loops back to itself")
                seen.add(node)
                node = target[node]


def parse_cli(fix: list[str] | None = None, range: list[str] | None = None,  # noqa: A002
              link: list[str] | None = None) -> dict:
    """``--fix``/``--range``/``--link`` items (``COMP.PARAM=VALUE``) -> keyword arguments of :func:`constrain`."""
    out: dict[str, dict] = {}
    for flag, items, key in (("--fix", fix, "fix"), ("--range", range, "range"), ("--link", link, "link")):
        table: dict[str, str] = {}
        for item in items or []:
            target, sep, value = str(item).partition("=")
            if not sep or not target.strip() or not value.strip():
                form = {"fix": "COMP.PARAM=VALUE", "range": "COMP.PARAM=LO:HI", "link": "COMP.PARAM=OTHER.PARAM"}
                raise LibraryError(f"{flag} {item!r}: expected {form[key]}")
            table[target.strip()] = value.strip()
        if table:
            out[key] = table
    return out


__all__ = ["PARAMS", "constrain", "parse_add", "parse_cli"]
