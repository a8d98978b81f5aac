"""Libraries built from the data, by name, and the one function that resolves a ``library=`` argument.

A workflow registers a source with :func:`register_library_source`: the XPS
workflow registers ``"casa"`` (the CasaXPS model stored in a VAMAS block
comment), so the core resolves ``fit(data, "casa")`` without importing any
workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import xarray as xr

from specfit.errors import LibraryError
from specfit.library.loader import Library, as_names, load_library
from specfit.lineshapes.profiles import get_lineshape, parse_lineshape


@dataclass(frozen=True)
class LibrarySource:
    """A library built from a DataArray (``build(data) -> Library``); ``needs`` says what data it reads."""

    name: str
    build: Callable[[xr.DataArray], Library]
    needs: str


_SOURCES: dict[str, LibrarySource] = {}


def register_library_source(name: str, build: Callable[[xr.DataArray], Library], needs: str) -> None:
    """Make ``library=name`` build its library from the data with ``build(data)``."""
    _SOURCES[name.lower()] = LibrarySource(name.lower(), build, needs)


def data_source(library: object) -> LibrarySource | None:
    """The registered source ``library`` names, or None (a library name, path or object)."""
    if isinstance(library, str):
        return _SOURCES.get(library.strip().lower())
    return None


def resolve_library(library: object, components: object = None, lineshape: str | None = None,
                    data: object = None) -> Library:
    """Load ``library``, restrict it to ``components`` and optionally override every lineshape.

    A name registered with :func:`register_library_source` (``"casa"``: the
    CasaXPS model stored in ``data``'s VAMAS block comment, registered by
    :mod:`specfit.xps`) builds the library from ``data``.
    An overridden lineshape starts at its default shape parameter, free over
    its whole range (for ``voigt``: Gaussian to Lorentzian).

    Raises
    ------
    LibraryError
        Unknown library, component or lineshape; a data source without its data.
    """
    source = data_source(library)
    if source is not None:
        if not isinstance(data, xr.DataArray):
            raise LibraryError(f"library {library!r} {source.needs}: pass the DataArray read from that file")
        lib = source.build(data)
    else:
        lib = load_library(library)
    names = as_names(components)
    if names == ("auto",):
        names = ()
    lib = lib.subset(names) if names else lib
    if lineshape:
        try:
            name, fixed = parse_lineshape(lineshape)
            ls = get_lineshape(name)
        except KeyError as exc:
            raise LibraryError(str(exc.args[0])) from None
        shape = ls.default_shape if fixed is None else fixed
        limits = ls.shape_limits if fixed is None else (fixed, fixed)
        comps = tuple(replace(c, lineshape=name, shape=shape, shape_range=limits) for c in lib.components)
        lib = replace(lib, components=comps, lineshape=name)
    return lib
