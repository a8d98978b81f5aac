"""Region names ("F 1s", "F_1s", "F1s") and the shipped library each one maps to."""

from __future__ import annotations

import re

# A core-level name: element symbol, then a level such as 1s, 2p, 3d5, 4f7/2.
_LEVEL = re.compile(r"^([A-Z][a-z]?)[\s_]*(\d[spdf](?:\s*\d(?:/2)?)?)$")


def normalise_region(name: str) -> str:
    """Canonical region name: ``"F 1s"``, ``"F_1s"``, ``"f1s"`` -> ``"F1s"``; others unchanged.

    Parameters
    ----------
    name : str
        Region label from a file attribute, a file name or the user.

    Returns
    -------
    str
        Element symbol + level without separators (``"Sn3d5"``, ``"S2p"``).
    """
    text = str(name).strip()
    text = text[:1].upper() + text[1:]  # users type "f1s"
    match = _LEVEL.match(text)
    if not match:
        return text.replace(" ", "")
    return match.group(1) + "".join(match.group(2).split())


def element_of(region: str) -> str | None:
    """Element symbol of a region name (``"S2p"`` -> ``"S"``), None when it names no core level."""
    match = _LEVEL.match(normalise_region(region))
    return match.group(1) if match else None


def region_library(region: str, overrides: dict[str, str] | None = None) -> str | None:
    """Library for ``region``: a user override, else the shipped ``xps/<Region>``, else None.

    Parameters
    ----------
    region : str
        Region name (any spelling accepted by :func:`normalise_region`).
    overrides : dict, optional
        Region name -> library name or TOML path (``--library REGION=...``).

    Returns
    -------
    str or None
        Library name or path; None when nothing fits (the region is skipped).
    """
    from specfit.library.loader import list_libraries

    key = normalise_region(region)
    for name, lib in (overrides or {}).items():
        if normalise_region(name) == key:
            return lib
    candidate = f"xps/{key}"
    return candidate if candidate in list_libraries() else None
