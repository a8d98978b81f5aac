"""Peak libraries (stage 2): TOML data files turned into validated, immutable objects.

``loader`` reads and validates a library file (format: ``docs/library_format.md``)
and lists the shipped ones; ``sources`` holds the registry of libraries built
from the data themselves (``library="casa"``: a CasaXPS model stored in a VAMAS
file, registered by the XPS workflow) and :func:`resolve_library`.
"""

from __future__ import annotations

from specfit.library.loader import (
    BACKGROUNDS,
    DEFAULT_AXIS,
    SHAPE_TIES,
    TECHNIQUES,
    Component,
    Doublet,
    Library,
    Link,
    library_root,
    list_libraries,
    load_library,
    parse_library,
)
from specfit.library.sources import register_library_source, resolve_library

__all__ = ["BACKGROUNDS", "DEFAULT_AXIS", "SHAPE_TIES", "TECHNIQUES", "Component", "Doublet", "Library", "Link",
           "library_root", "list_libraries", "load_library", "parse_library", "register_library_source",
           "resolve_library"]
