"""Peak libraries: TOML data files turned into validated, immutable objects.

The file format is documented in ``docs/library_format.md``.  Validation
happens here, once; every error is a :class:`~specfit.errors.LibraryError`
naming the file, the component and the key.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from specfit.atomicio import record_read
from specfit.backgrounds.registry import BACKGROUND_NAMES
from specfit.errors import LibraryError
from specfit.lineshapes.profiles import (
    LINESHAPE_TABLE,
    canonical_lineshape,
    casa_parameters,
    get_lineshape,
    is_lineshape,
)

TECHNIQUES = ("raman", "xps", "nmr")
DEFAULT_AXIS = {"raman": "raman_shift", "xps": "binding_energy", "nmr": "chemical_shift"}
DEFAULT_BACKGROUND = {"raman": "polynomial", "xps": "shirley", "nmr": "linear"}
#: Backgrounds a library or ``fit(background=...)`` may name (from :mod:`specfit.backgrounds.registry`).
BACKGROUNDS = BACKGROUND_NAMES

LIBRARY_KEYS = {"name", "technique", "axis", "window", "background", "lineshape", "shape", "shape_range",
                "shape_tie", "sources", "description", "units", "select", "nucleus"}
#: Component selection a library may ask for by default (``select`` key; see ``specfit.fitting.selection``).
SELECTIONS = ("none", "auto")
#: How the shape parameters of a library's components are tied (see ``specfit.model.shapetie``).
SHAPE_TIES = ("none", "all", "auto")
COMPONENT_KEYS = {"name", "label", "center", "center_range", "fwhm", "fwhm_range", "lineshape", "shape",
                  "shape_range", "doublet", "rsf", "element", "source", "same_width_as", "same_shape_as",
                  "offset_from", "area_ratio_to", "lookalike_group"}
DOUBLET_KEYS = {"splitting", "ratio", "shared_width"}
LINK_KEYS = {"component", "value"}


@dataclass(frozen=True)
class Doublet:
    """Spin–orbit partner: at ``center + splitting`` with ``ratio`` times the main line's area."""

    splitting: float
    ratio: float = 0.5
    shared_width: bool = True


@dataclass(frozen=True)
class Link:
    """Tie to another component: a fixed center offset or a fixed area ratio."""

    component: str
    value: float


@dataclass(frozen=True)
class Component:
    """One chemical species of a library (a doublet counts as one)."""

    name: str
    center: float
    center_range: tuple[float, float]
    fwhm: float
    fwhm_range: tuple[float, float]
    lineshape: str
    shape: float
    shape_range: tuple[float, float]
    label: str = ""
    rsf: float = 1.0
    element: str = ""
    source: str = ""
    doublet: Doublet | None = None
    same_width_as: str | None = None
    same_shape_as: str | None = None
    offset_from: Link | None = None
    area_ratio_to: Link | None = None
    #: Components sharing a group cannot be told apart by their position alone: component selection
    #: (``components="auto"``) keeps one of them per line (see :func:`lookalike_groups`).
    lookalike_group: str = ""


@dataclass(frozen=True)
class Library:
    """A validated peak library."""

    name: str
    technique: str
    axis: str
    window: tuple[float, float] | None
    background: str
    lineshape: str
    components: tuple[Component, ...]
    sources: tuple[str, ...] = ()
    description: str = ""
    path: str = ""
    content_hash: str = ""
    units: str = ""
    shape: float | None = None
    shape_range: tuple[float, float] | None = field(default=None)
    shape_tie: str = "none"
    #: Options of the library's background, as (key, value) pairs (e.g. a CasaXPS region's Tougaard B, C, D).
    background_options: tuple[tuple[str, object], ...] = ()
    #: Things of the source model specfit could not express, by name (e.g. from a CasaXPS file); never dropped.
    notes: tuple[str, ...] = ()
    select: str = "none"
    nucleus: str = ""
    #: Constraints applied without editing the file (:meth:`constrained`), as words, in order.
    constraints: tuple[str, ...] = ()

    def constrained(self, *, fix=None, range=None, link=None, add=None) -> Library:  # noqa: A002
        """A copy with parameters fixed, ranges set, parameters linked and components added.

        ``lib.constrained(fix={"LiF.center": 685.0}, range={"C-F.fwhm": (1.2, 2.0)},
        link={"Li2SO4.fwhm": "Li2S.fwhm"}, add=["LiOH@686.5:gl"])``; see
        :func:`specfit.library.constraints.constrain` (errors name the component and the parameter).
        """
        from specfit.library.constraints import constrain

        return constrain(self, fix=fix, range=range, link=link, add=add, link_type=Link, component_type=Component)

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def component(self, name: str) -> Component:
        """The component called ``name``."""
        for comp in self.components:
            if comp.name == name:
                return comp
        raise LibraryError(f"{self.name}: no component {name!r}; it has {', '.join(self.component_names)}")

    def subset(self, names: list[str] | tuple[str, ...]) -> Library:
        """Library restricted to ``names``; links to dropped components are released."""
        missing = [n for n in names if n not in self.component_names]
        if missing:
            raise LibraryError(f"{self.name}: no component {', '.join(map(repr, missing))}; "
                               f"it has {', '.join(self.component_names)}")
        keep = set(names)
        comps = []
        for comp in self.components:
            if comp.name not in keep:
                continue
            comps.append(replace(
                comp,
                same_width_as=comp.same_width_as if comp.same_width_as in keep else None,
                same_shape_as=comp.same_shape_as if comp.same_shape_as in keep else None,
                offset_from=comp.offset_from if comp.offset_from and comp.offset_from.component in keep else None,
                area_ratio_to=(comp.area_ratio_to if comp.area_ratio_to and comp.area_ratio_to.component in keep
                               else None),
            ))
        return replace(self, components=tuple(comps))


def as_names(value: object) -> tuple[str, ...]:
    """Names from ``"a,b"``, ``["a", "b"]`` or None -> ``("a", "b")`` / ``()`` (components, share words)."""
    if value is None or value == "" or value == ():
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v).strip() for v in value)



#: Two components are look-alikes when their nominal centers are closer than this times the narrower
#: nominal FWHM (and their center ranges overlap): the Sparrow limit of two equal Gaussians, below which
#: their sum has no dip (separation 2 sigma = 0.849 FWHM; C. M. Sparrow, Astrophys. J. 44, 76 (1916)).
SPARROW = 0.85


def lookalike_groups(lib: Library, *, auto: bool = True) -> dict[str, tuple[str, ...]]:
    """Groups of components the data cannot tell apart by position: ``{group name: members}``.

    Declared groups (the components' ``lookalike_group`` key) come first; with
    ``auto``, two components in no declared group whose center ranges overlap
    and whose nominal centers are closer than :data:`SPARROW` x the narrower
    nominal FWHM form a group too (named ``"A|B"``; a third joins only when it
    is a look-alike of every member).  Only groups of two or more members of
    ``lib`` are returned, members in library order.
    """
    groups: dict[str, list[str]] = {}
    for comp in lib.components:
        if comp.lookalike_group:
            groups.setdefault(comp.lookalike_group, []).append(comp.name)
    if auto:
        free = [c for c in lib.components if not c.lookalike_group]
        auto_groups: list[list[Component]] = []
        for comp in free:
            for group in auto_groups:
                if all(_lookalike_pair(comp, other) for other in group):
                    group.append(comp)
                    break
            else:
                auto_groups.append([comp])
        for group in auto_groups:
            if len(group) > 1:
                groups.setdefault("|".join(c.name for c in group), [c.name for c in group])
    return {name: tuple(members) for name, members in groups.items() if len(members) > 1}


def _lookalike_pair(a: Component, b: Component) -> bool:
    overlap = a.center_range[0] < b.center_range[1] and b.center_range[0] < a.center_range[1]
    return overlap and abs(a.center - b.center) < SPARROW * min(a.fwhm, b.fwhm)


# ------------------------------------------------------------------ locating
def library_root() -> Path:
    """Folder holding the shipped libraries (inside the wheel, or the repo's ``peak_libraries``)."""
    here = Path(__file__).resolve().parents[1]  # the specfit package folder
    for candidate in (here / "peak_libraries", here.parent / "peak_libraries"):
        if candidate.is_dir():
            return candidate
    raise LibraryError(f"peak library folder not found next to {here}")


def list_libraries() -> list[str]:
    """Names of the shipped libraries, e.g. ``["nmr/li7", "raman/fsi_tfsi", "xps/F1s"]``."""
    root = library_root()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*.toml"))


def _lineshape_problem(lineshape: object) -> str:
    """Why ``lineshape`` is refused: the choices, and for LA/LF notation the reason its values are not usable."""
    text = f"must be one of {', '.join(LINESHAPE_TABLE)} or la(...)/lf(...), got {lineshape!r}"
    if isinstance(lineshape, str):
        try:
            if casa_parameters(lineshape) is not None:
                get_lineshape(lineshape)
        except KeyError as exc:
            return f"{text}: {exc.args[0]}"
    return text


def load_library(name_or_path: str | Path | Library) -> Library:
    """Load a shipped library by name (``"raman/fsi_tfsi"``) or a user TOML file by path."""
    if isinstance(name_or_path, Library):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if not (path.suffix == ".toml" or path.exists()):
        path = library_root() / f"{text}.toml"
        if not path.is_file():
            raise LibraryError(f"unknown library {text!r}; shipped libraries: {', '.join(list_libraries())}")
    if not path.is_file():
        raise LibraryError(f"{path}: library file not found")
    raw = path.read_bytes()
    record_read(path)  # a library file is an input: no writer may replace it
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LibraryError(f"{path}: not valid TOML: {exc}") from None
    return parse_library(data, path=str(path), content_hash=hashlib.sha256(raw).hexdigest())


# ------------------------------------------------------------------ validation
class _Checker:
    """Builds one-line error messages naming file, component and key."""

    def __init__(self, path: str):
        self.path = path or "<library>"

    def fail(self, where: str, key: str, problem: str) -> LibraryError:
        place = f"{self.path}: {where}" + (f", key {key!r}" if key else "")
        return LibraryError(f"{place}: {problem}")

    def number(self, table: dict, key: str, where: str, default: float | None = None) -> float | None:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, key, f"expected a number, got {value!r}")
        if not math.isfinite(value):  # TOML allows inf and nan; no library number may be one
            raise self.fail(where, key, f"must be a finite number, got {value!r}")
        return float(value)

    def pair(self, table: dict, key: str, where: str) -> tuple[float, float] | None:
        value = table.get(key)
        if value is None:
            return None
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            raise self.fail(where, key, f"expected [lo, hi], got {value!r}")
        if not all(math.isfinite(v) for v in value):
            raise self.fail(where, key, f"limits must be finite numbers, got {value!r}")
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise self.fail(where, key, f"lo > hi ({lo:g} > {hi:g})")
        return lo, hi

    def unknown(self, table: dict, allowed: set[str], where: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(where, extra[0], f"unknown key; allowed keys: {', '.join(sorted(allowed))}")


def parse_library(data: dict, *, path: str = "", content_hash: str = "") -> Library:
    """Validate a parsed TOML mapping and build a :class:`Library`."""
    chk = _Checker(path)
    chk.unknown(data, {"library", "component"}, "top level")
    head = data.get("library")
    if not isinstance(head, dict):
        raise chk.fail("top level", "library", "missing [library] table")
    chk.unknown(head, LIBRARY_KEYS, "[library]")
    name = head.get("name")
    if name is None and not path:
        name = ""  # a mapping built in Python (tests, CasaXPS models) may leave it out; a file may not
    elif not isinstance(name, str) or not name.strip():  # required by the format (docs/library_format.md)
        raise chk.fail("[library]", "name", "required (a non-empty string, e.g. name = \"xps/F1s\")"
                       if name is None else f"must be a non-empty string, got {name!r}")
    technique = head.get("technique", "raman")
    if technique not in TECHNIQUES:
        raise chk.fail("[library]", "technique", f"must be one of {', '.join(TECHNIQUES)}, got {technique!r}")
    background = head.get("background", DEFAULT_BACKGROUND[technique])
    if background not in BACKGROUNDS:
        raise chk.fail("[library]", "background", f"must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    lineshape = head.get("lineshape", "voigt")
    if not isinstance(lineshape, str) or not is_lineshape(lineshape):
        raise chk.fail("[library]", "lineshape", _lineshape_problem(lineshape))
    lineshape = canonical_lineshape(lineshape)
    sources = head.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise chk.fail("[library]", "sources", "must be a list of strings")
    window = chk.pair(head, "window", "[library]")
    lib_shape = chk.number(head, "shape", "[library]")
    lib_shape_range = chk.pair(head, "shape_range", "[library]")
    shape_tie = head.get("shape_tie", "none")
    if shape_tie not in SHAPE_TIES:
        raise chk.fail("[library]", "shape_tie", f"must be one of {', '.join(SHAPE_TIES)}, got {shape_tie!r}")
    select = head.get("select", "none")
    if select not in SELECTIONS:
        raise chk.fail("[library]", "select", f"must be one of {', '.join(SELECTIONS)}, got {select!r}")
    nucleus = head.get("nucleus", "")
    if not isinstance(nucleus, str):
        raise chk.fail("[library]", "nucleus", f"must be a string such as '7Li', got {nucleus!r}")

    raw_components = data.get("component", [])
    if not isinstance(raw_components, list) or not raw_components:
        raise chk.fail("top level", "component", "a library needs at least one [[component]]")
    components = [_parse_component(chk, raw, i, lineshape, lib_shape, lib_shape_range, window)
                  for i, raw in enumerate(raw_components)]
    names = [c.name for c in components]
    for comp in components:
        where = f"component {comp.name!r}"
        if names.count(comp.name) > 1:
            raise chk.fail(where, "name", "duplicated component name")
        for key, link in (("same_width_as", comp.same_width_as), ("same_shape_as", comp.same_shape_as),
                          ("offset_from", comp.offset_from.component if comp.offset_from else None),
                          ("area_ratio_to", comp.area_ratio_to.component if comp.area_ratio_to else None)):
            if link is not None and (link not in names or link == comp.name):
                raise chk.fail(where, key, f"links to missing component {link!r}")
    return Library(name=str(name), technique=technique, axis=str(head.get("axis", DEFAULT_AXIS[technique])),
                   window=window, background=background, lineshape=lineshape, components=tuple(components),
                   sources=tuple(sources), description=str(head.get("description", "")), path=path,
                   content_hash=content_hash, units=str(head.get("units", "")), shape=lib_shape,
                   shape_range=lib_shape_range, shape_tie=shape_tie, select=select, nucleus=nucleus)


def _parse_component(chk: _Checker, raw: dict, index: int, lib_lineshape: str, lib_shape: float | None,
                     lib_shape_range: tuple[float, float] | None,
                     window: tuple[float, float] | None) -> Component:
    if not isinstance(raw, dict):
        raise chk.fail(f"component #{index + 1}", "", "must be a table")
    name = raw.get("name")
    where = f"component {name!r}" if name else f"component #{index + 1}"
    if not isinstance(name, str) or not name:
        raise chk.fail(where, "name", "required (a non-empty string)")
    chk.unknown(raw, COMPONENT_KEYS, where)
    center = chk.number(raw, "center", where)
    if center is None:
        raise chk.fail(where, "center", "required")
    span = (window[1] - window[0]) if window else None
    center_range = chk.pair(raw, "center_range", where)
    if center_range is None:
        half = 0.05 * span if span else 5.0 * (chk.number(raw, "fwhm", where) or 1.0)
        center_range = (center - half, center + half)
    if not center_range[0] <= center <= center_range[1]:
        raise chk.fail(where, "center", f"{center:g} outside center_range [{center_range[0]:g}, {center_range[1]:g}]")
    fwhm_range = chk.pair(raw, "fwhm_range", where)
    fwhm = chk.number(raw, "fwhm", where)
    if fwhm is None:
        fwhm = 0.5 * (fwhm_range[0] + fwhm_range[1]) if fwhm_range else (span / 10.0 if span else 1.0)
    if fwhm <= 0:
        raise chk.fail(where, "fwhm", f"must be > 0, got {fwhm:g}")
    if fwhm_range is None:
        fwhm_range = (fwhm / 4.0, fwhm * 4.0)
    if fwhm_range[0] <= 0:
        raise chk.fail(where, "fwhm_range", "lower limit must be > 0")
    if not fwhm_range[0] <= fwhm <= fwhm_range[1]:
        raise chk.fail(where, "fwhm", f"{fwhm:g} outside fwhm_range [{fwhm_range[0]:g}, {fwhm_range[1]:g}]")
    lineshape = raw.get("lineshape", lib_lineshape)
    if not isinstance(lineshape, str) or not is_lineshape(lineshape):
        raise chk.fail(where, "lineshape", _lineshape_problem(lineshape))
    lineshape = canonical_lineshape(lineshape)
    ls = get_lineshape(lineshape)
    shape_range = chk.pair(raw, "shape_range", where) or lib_shape_range or ls.shape_limits
    shape = chk.number(raw, "shape", where, lib_shape if lib_shape is not None else ls.default_shape)
    if ls.shape_name is not None:
        lo, hi = ls.shape_limits
        if shape_range[0] < lo or shape_range[1] > hi:
            raise chk.fail(where, "shape_range", f"{lineshape} shape must lie in [{lo:g}, {hi:g}]")
        shape = min(max(shape, shape_range[0]), shape_range[1]) if "shape" not in raw else shape
        if not shape_range[0] <= shape <= shape_range[1]:
            raise chk.fail(where, "shape", f"{shape:g} outside shape_range [{shape_range[0]:g}, {shape_range[1]:g}]")
    else:
        shape, shape_range = 0.0, (0.0, 0.0)
    rsf = chk.number(raw, "rsf", where, 1.0)
    if rsf <= 0:
        raise chk.fail(where, "rsf", f"must be > 0, got {rsf:g}")
    lookalike = raw.get("lookalike_group", "")
    if not isinstance(lookalike, str) or ("lookalike_group" in raw and not lookalike.strip()):
        raise chk.fail(where, "lookalike_group", f"expected a non-empty string, got {lookalike!r}")
    return Component(
        name=name, center=center, center_range=center_range, fwhm=fwhm, fwhm_range=fwhm_range,
        lineshape=lineshape, shape=float(shape), shape_range=shape_range, label=str(raw.get("label", name)),
        rsf=rsf, element=str(raw.get("element", "")), source=str(raw.get("source", "")),
        doublet=_parse_doublet(chk, raw.get("doublet"), where),
        same_width_as=_parse_name(chk, raw, "same_width_as", where),
        same_shape_as=_parse_name(chk, raw, "same_shape_as", where),
        offset_from=_parse_link(chk, raw.get("offset_from"), where, "offset_from"),
        area_ratio_to=_parse_link(chk, raw.get("area_ratio_to"), where, "area_ratio_to"),
        lookalike_group=lookalike.strip(),
    )


def _parse_name(chk: _Checker, raw: dict, key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise chk.fail(where, key, f"expected a component name, got {value!r}")
    return value


def _parse_doublet(chk: _Checker, raw: object, where: str) -> Doublet | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise chk.fail(where, "doublet", "expected a table {splitting, ratio, shared_width}")
    chk.unknown(raw, DOUBLET_KEYS, f"{where} doublet")
    splitting = chk.number(raw, "splitting", f"{where} doublet")
    if splitting is None:
        raise chk.fail(f"{where} doublet", "splitting", "required")
    ratio = chk.number(raw, "ratio", f"{where} doublet", 0.5)
    if ratio <= 0:
        raise chk.fail(f"{where} doublet", "ratio", f"must be > 0, got {ratio:g}")
    shared = raw.get("shared_width", True)
    if not isinstance(shared, bool):
        raise chk.fail(f"{where} doublet", "shared_width", "must be true or false")
    return Doublet(splitting=splitting, ratio=ratio, shared_width=shared)


def _parse_link(chk: _Checker, raw: object, where: str, key: str) -> Link | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise chk.fail(where, key, "expected a table {component = ..., value = ...}")
    chk.unknown(raw, LINK_KEYS, f"{where} {key}")
    other = raw.get("component")
    if not isinstance(other, str):
        raise chk.fail(where, key, "needs component = \"name\"")
    value = chk.number(raw, "value", f"{where} {key}")
    if value is None:
        raise chk.fail(where, key, "needs value = number")
    if key == "area_ratio_to" and value <= 0:
        raise chk.fail(where, key, f"area ratio must be > 0, got {value:g}")
    return Link(component=other, value=value)
