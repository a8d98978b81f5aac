"""Core-level data the XPS workflow needs beyond the species libraries.

* :data:`REFERENCE_LINES`: lines whose binding energy is known well enough to
  carry the energy scale (charge referencing by consensus,
  :mod:`specfit.xps.consensus`), each with its literature spread.
* :data:`SUBSHELLS`: Scofield photoionisation cross-sections (Al Kα, relative
  to C 1s = 1) per subshell and per whole doublet, so that a region without a
  species library is still quantified (:mod:`specfit.xps.quant`).

Sources
-------
* J. H. Scofield, J. Electron Spectrosc. Relat. Phenom. 8, 129 (1976) (cross-sections, Al Kα 1486.6 eV;
  the values as tabulated relative to C 1s in common quantification software).
* G. Greczynski, L. Hultman, Prog. Mater. Sci. 107, 100591 (2020) (adventitious C 1s: scatter of the
  284.8 eV convention, hence its spread here).
* K. N. Wood, G. Teeter, ACS Appl. Energy Mater. 1, 4493 (2018) (on Li-metal SEI, reference by binding-energy
  separations between regions - LiF F 1s, Li 1s - rather than by C 1s alone).
* NIST X-ray Photoelectron Spectroscopy Database, SRD 20, v4.1 (2012); M. C. Biesinger et al., Appl. Surf. Sci.
  257, 887 (2010) (Ti 2p3/2 TiO2 458.7 eV) and 257, 2717 (2011) (metal oxides O 1s 529.3-530.3 eV);
  F. J. Himpsel et al., Phys. Rev. B 38, 6084 (1988) (Si 2p Si0 99.4, SiO2 +3.9-4.0 eV);
  ISO 15472:2010 (Au 4f7/2 83.96 eV); V. Villar-Garcia et al., Phys. Chem. Chem. Phys. 13, 2797 (2011)
  ([Tf2N]- F 1s 688.8, N 1s 399.4, S 2p3/2 168.9 eV).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceLine:
    """A line that can carry the energy scale: ``name`` belongs at ``energy`` +/- ``spread`` eV.

    ``component`` is the species-library component it corresponds to ("" for a
    region without a library: the line is then the region's main feature);
    ``prior`` weighs it against other lines (1 = as trustworthy as C-C);
    ``main_only``: only the region's strongest feature may be this line (a
    substrate or matrix line, not one species among several).
    """

    region: str
    name: str
    energy: float
    spread: float
    prior: float = 1.0
    component: str = ""
    main_only: bool = False
    source: str = ""


#: Candidate reference lines per region (energies on the C-C = 284.8 eV scale of the shipped libraries).
REFERENCE_LINES: tuple[ReferenceLine, ...] = (
    ReferenceLine("C1s", "C-C", 284.8, 0.25, 1.0, "C-C", source="adventitious C, Greczynski & Hultman 2020"),
    ReferenceLine("C1s", "CF3", 292.8, 0.25, 0.8, "CF3", source="[Tf2N]- CF3, Villar-Garcia 2011"),
    ReferenceLine("C1s", "Li2CO3", 290.0, 0.3, 0.6, "Li2CO3", source="Dedryvere 2005; Verma 2010"),
    ReferenceLine("F1s", "LiF", 685.2, 0.25, 1.0, "LiF", source="NIST SRD 20; Wood & Teeter 2018"),
    ReferenceLine("F1s", "CF3", 688.8, 0.25, 0.8, "CF3", source="Villar-Garcia 2011"),
    ReferenceLine("O1s", "Li2CO3", 531.5, 0.3, 0.6, "Li2CO3", source="NIST SRD 20"),
    ReferenceLine("O1s", "oxide O", 529.7, 0.4, 0.5, "M-O", main_only=True, source="Biesinger 2011"),
    ReferenceLine("Li1s", "LiF", 56.0, 0.3, 0.6, "LiF", source="NIST SRD 20"),
    ReferenceLine("N1s", "N-SO2", 399.5, 0.3, 0.6, "N-SO2", source="Villar-Garcia 2011"),
    ReferenceLine("S2p", "SO2-N", 169.5, 0.4, 0.5, "SO2-N", source="Villar-Garcia 2011; Yu 2022"),
    ReferenceLine("Si2p", "Si", 99.4, 0.2, 0.8, "Si", source="Himpsel 1988"),
    ReferenceLine("Si2p", "SiO2", 103.4, 0.3, 0.6, "SiO2", source="Himpsel 1988; NIST SRD 20"),
    ReferenceLine("Sn3d5", "SnO2 3d5/2", 486.6, 0.3, 0.8, main_only=True, source="NIST SRD 20"),
    ReferenceLine("Sn3d", "SnO2 3d5/2", 486.6, 0.3, 0.8, main_only=True, source="NIST SRD 20"),
    ReferenceLine("Bi4f", "Bi3+ 4f7/2", 159.0, 0.3, 0.8, main_only=True, source="Bi2O3 158.8-159.3, NIST SRD 20"),
    ReferenceLine("Ti2p", "Ti4+ 2p3/2", 458.6, 0.3, 0.8, main_only=True, source="TiO2, Biesinger 2010"),
    ReferenceLine("Na1s", "Na+ 1s", 1071.5, 0.4, 0.6, main_only=True, source="Na compounds, NIST SRD 20"),
    ReferenceLine("Sr3d", "Sr2+ 3d5/2", 133.3, 0.4, 0.5, main_only=True, source="SrTiO3, NIST SRD 20"),
    ReferenceLine("Au4f", "Au 4f7/2", 83.96, 0.1, 1.0, main_only=True, source="ISO 15472"),
)


def reference_lines(region: str) -> list[ReferenceLine]:
    """The candidate reference lines of a (normalised) region name."""
    return [line for line in REFERENCE_LINES if line.region == region]


@dataclass(frozen=True)
class Subshell:
    """Cross-section (Scofield, Al Kα, C 1s = 1) of a level: ``whole`` for both doublet lines, ``main`` for the
    stronger one (2p3/2, 3d5/2, 4f7/2), binding energy of the main line (eV) and the doublet splitting (eV)."""

    whole: float
    main: float
    energy: float
    splitting: float = 0.0


#: Per level (``"Ti2p"``), Scofield 1976 (Al Kα) relative to C 1s.
SUBSHELLS: dict[str, Subshell] = {
    "Li1s": Subshell(0.0568, 0.0568, 55.0), "B1s": Subshell(0.486, 0.486, 192.0),
    "C1s": Subshell(1.0, 1.0, 284.8), "N1s": Subshell(1.80, 1.80, 400.0), "O1s": Subshell(2.93, 2.93, 531.0),
    "F1s": Subshell(4.43, 4.43, 686.0), "Na1s": Subshell(8.52, 8.52, 1071.5),
    "Mg1s": Subshell(11.97, 11.97, 1303.0), "Al2p": Subshell(0.537, 0.537, 74.0),
    "Si2p": Subshell(0.817, 0.817, 99.5), "P2p": Subshell(1.192, 1.192, 133.5),
    "S2p": Subshell(1.677, 1.111, 164.0, 1.18), "Cl2p": Subshell(2.285, 1.51, 199.0, 1.6),
    "K2p": Subshell(4.00, 2.66, 293.0, 2.8), "Ca2p": Subshell(5.07, 3.36, 347.0, 3.5),
    "Ti2p": Subshell(7.81, 5.22, 458.6, 5.7), "V2p": Subshell(9.78, 6.49, 517.0, 7.4),
    "Mn2p": Subshell(13.91, 9.17, 641.0, 11.6), "Fe2p": Subshell(16.42, 10.82, 710.0, 13.5),
    "Co2p": Subshell(19.16, 12.62, 780.0, 15.0), "Ni2p": Subshell(22.18, 14.61, 854.0, 17.3),
    "Cu2p": Subshell(25.39, 16.73, 932.6, 19.8), "Zn2p": Subshell(28.7, 18.92, 1022.0, 23.0),
    "Sr3d": Subshell(5.29, 3.18, 133.3, 1.8), "Zr3d": Subshell(7.29, 4.36, 182.5, 2.4),
    "Mo3d": Subshell(9.50, 5.62, 228.0, 3.1), "Ag3d": Subshell(17.88, 10.66, 368.2, 6.0),
    "Sn3d": Subshell(24.8, 14.8, 486.6, 8.4), "La3d": Subshell(45.6, 27.1, 835.0, 16.8),
    "W4f": Subshell(9.80, 5.48, 31.4, 2.2), "Au4f": Subshell(17.12, 9.58, 84.0, 3.7),
    "Bi4f": Subshell(16.0, 9.14, 159.0, 5.3), "Pb4f": Subshell(14.6, 8.33, 137.0, 4.9),
}
#: Regions that are not one core level: never quantified (left out with a note).
NOT_CORE_LEVELS = ("survey", "wide", "valence", "vb", "su", "overview")


def subshell(region: str) -> tuple[Subshell, bool] | None:
    """``(Subshell, whole)`` for a region: ``"Sn3d5"`` -> (Sn 3d, False: the 3d5/2 line only),
    ``"Ti2p"`` -> (Ti 2p, True: the doublet summed); None when the level is not tabulated."""
    import re

    match = re.match(r"^([A-Z][a-z]?)(\d[spdf])(\d(?:/2)?)?$", region)
    if not match:
        return None
    level = SUBSHELLS.get(match.group(1) + match.group(2))
    if level is None:
        return None
    return level, not match.group(3)
