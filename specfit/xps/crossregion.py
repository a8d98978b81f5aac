"""Cross-region consistency of an XPS profile: one species seen in several regions must agree.

Two checks per step, both flagged ``cross_region_mismatch`` (on every region involved, with the species and
the numbers in ``fit_message``; the root's ``cross_region_note`` repeats them):

* **Element absent.**  A species holding at least :data:`MIN_SPECIES` of its element whose formula needs
  another element that was measured and found absent (below :data:`ABSENT_AT` at.%, or below 2
  uncertainties and 4 x ABSENT_AT): Li2O, LiF,
  Li2CO3 with no Li 1s signal.
* **Stoichiometry.**  Partners of one compound (:data:`PARTNERS`: Li2CO3 C 1s : O 1s = 1 : 3, LiF F 1s :
  Li 1s = 1 : 1, Li2O O 1s : Li 1s = 1 : 2, [Tf2N]- S : N : F = 2 : 1 : 6 ...) whose atom amounts
  (normalised areas, the quantification's) disagree by more than :data:`Z_LIMIT` combined standard
  uncertainties and by more than :data:`RATIO_LIMIT` in ratio, or where one partner holds at least
  :data:`MIN_SPECIES` of its element and the other is absent from its region's fit altogether (dropped as
  unsupported, or not in the library subset): Hendricks 3.4 V, Li2CO3 46 % of the O 1s and 0 % of the C 1s.

A major species (at least :data:`UNCHECKED_SHARE` of its element) whose other element was not measured is
named in ``cross_region_note`` only (its assignment is unchecked: a Li-free oxide's lattice O 1s taken as Li2O).

No fit constraint is built (the partners are not tied in the fit); the check says where a tie would change
the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

#: A species below this share of its element is not checked (it is too weak to contradict anything).
MIN_SPECIES = 0.15
#: A species holding at least this share of its element, whose other element was not measured, is named in the
#: note (unchecked; no flag).
UNCHECKED_SHARE = 0.5
#: An element below this atomic % (or 2 uncertainties) counts as absent.
ABSENT_AT = 0.5
#: Stoichiometric partners disagree when both limits are exceeded.
Z_LIMIT = 3.0
RATIO_LIMIT = 1.5
#: Compound -> region -> (component, atoms per formula unit).
PARTNERS: dict[str, dict[str, tuple[str, float]]] = {
    "Li2CO3": {"C1s": ("Li2CO3", 1.0), "O1s": ("Li2CO3", 3.0), "Li1s": ("Li2CO3", 2.0)},
    "LiF": {"F1s": ("LiF", 1.0), "Li1s": ("LiF", 1.0)},
    "Li2O": {"O1s": ("Li2O", 1.0), "Li1s": ("Li2O", 2.0)},
    "[Tf2N]-": {"N1s": ("N-SO2", 1.0), "S2p": ("SO2-N", 2.0), "F1s": ("CF3", 6.0)},
}
#: Elements a formula may name (H is not seen by XPS, so never checked).
_ELEMENTS = {"Li", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca", "Ti", "Mn",
             "Fe", "Co", "Ni", "Cu", "Zn", "Sn", "Bi", "Sr"}


def formula_elements(name: str) -> set[str]:
    """Elements a component name spells as a formula (``"Li2CO3"`` -> {Li, C, O}); ``"M-O"`` -> {O}."""
    return {tok for tok in re.findall(r"[A-Z][a-z]?", name) if tok in _ELEMENTS}


@dataclass
class Checks:
    note: xr.DataArray
    region_flags: dict[str, list[tuple[np.ndarray, str]]] = field(default_factory=dict)


def cross_region_checks(results: dict[str, xr.Dataset], root: xr.Dataset) -> Checks:
    """Run both checks on a quantified profile (``root`` from :func:`specfit.xps.quant.quantify`)."""
    ap = root["atomic_percent"]
    template = ap.isel(element=0, drop=True)
    n = template.size
    words: list[list[str]] = [[] for _ in range(n)]
    flags: dict[str, list[tuple[np.ndarray, str]]] = {}
    elements = [str(e) for e in root["element"].values]
    unc_name = "atomic_percent_uncertainty" if "atomic_percent_uncertainty" in root else "atomic_percent_stderr"
    sp = root["species_percent"]

    def flag(i: int, regions: list[str], text: str) -> None:
        words[i].append(text)
        for r in regions:
            mask = np.zeros(n, bool)
            mask[i] = True
            flags.setdefault(r, []).append((mask, text))

    # 1. a species whose other element was measured and is absent
    for k, name in enumerate(str(s) for s in root["species"].values):
        comp, region = name.rsplit("@", 1)
        own = str(root["species_element"].values[k])
        need = formula_elements(comp) - {own}
        share = np.ravel(sp.isel(species=k).values) / 100.0
        for elem in sorted(need - set(elements)):  # unmeasured: said in the note (no flag), for a major species
            for i in range(n):
                if share[i] >= UNCHECKED_SHARE:
                    words[i].append(f"{comp} is {100 * share[i]:.0f} % of {own} in {region}; {elem} was not "
                                    "measured, so this assignment is unchecked")
        for elem in need & set(elements):
            at = np.ravel(ap.sel(element=elem).values)
            u = np.ravel(root[unc_name].sel(element=elem).values)
            for i in range(n):
                absent = at[i] < ABSENT_AT or (at[i] < 2 * np.nan_to_num(u[i]) and at[i] < 4 * ABSENT_AT)
                if share[i] >= MIN_SPECIES and np.isfinite(at[i]) and absent:
                    regions = [region] + [r for r in results if _region_element(r) == elem]
                    flag(i, regions, f"{comp} is {100 * share[i]:.0f} % of {own} in {region} but {elem} was measured "
                                     f"at {at[i]:.1f} ± {np.nan_to_num(u[i]):.1f} at.%")
    # 2. stoichiometric partners
    norm = root["normalised_area"]
    norm_u = root["normalised_area_uncertainty"] if "normalised_area_uncertainty" in root else \
        root["normalised_area_stderr"]
    sp_u = root["species_percent_uncertainty"] if "species_percent_uncertainty" in root else \
        root["species_percent_stderr"]
    species = [str(s) for s in root["species"].values]
    for compound, members in PARTNERS.items():
        present = {r: m for r, m in members.items() if r in results}
        if len(present) < 2:
            continue
        amounts = {}
        for region, (comp, atoms) in present.items():
            elem = str(root["species_element"].values[0])  # placeholder, replaced below
            key = f"{comp}@{region}"
            if key in species:
                k = species.index(key)
                elem = str(root["species_element"].values[k])
                f = np.ravel(sp.isel(species=k).values) / 100.0
                fu = np.ravel(sp_u.isel(species=k).values) / 100.0
            else:
                elem = _region_element(region)
                if elem not in elements:
                    continue
                f = np.zeros(n)
                fu = np.zeros(n)
            total = np.ravel(norm.sel(element=elem).values)
            tu = np.ravel(norm_u.sel(element=elem).values)
            amount = f * total / atoms
            amount_u = np.hypot(fu * total, f * tu) / atoms
            amounts[region] = (amount, np.nan_to_num(amount_u), f)
        names = list(amounts)
        for i in range(n):
            worst = None
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    (va, ua, fa), (vb, ub, fb) = amounts[names[a]], amounts[names[b]]
                    diff = abs(va[i] - vb[i])
                    z = diff / max(np.hypot(ua[i], ub[i]), 1e-300)
                    ratio = max(va[i], vb[i]) / max(min(va[i], vb[i]), 1e-300)
                    # one partner a clear share of its element, the other absent from its fit altogether
                    # (dropped as unsupported): the regions contradict each other whatever the uncertainties
                    lone = (fa[i] >= MIN_SPECIES and fb[i] == 0.0) or (fb[i] >= MIN_SPECIES and fa[i] == 0.0)
                    z = np.inf if lone else z
                    if np.isfinite(diff) and z > Z_LIMIT and ratio > RATIO_LIMIT and (worst is None or z > worst[0]):
                        worst = (z, names[a], names[b])
            if worst is None:
                continue
            _, ra, rb = worst
            parts = ", ".join(f"{present[r][0]}@{r} {100 * amounts[r][2][i]:.0f} % of its element, "
                              f"{amounts[r][0][i]:.3g} ± {amounts[r][1][i]:.2g}" for r in (ra, rb))
            flag(i, [ra, rb], f"{compound} partners disagree (share; formula units from each region: {parts})")
    note = template.copy(data=np.array(["; ".join(w) for w in words], dtype=object).reshape(template.shape))
    note.attrs["long_name"] = "cross-region consistency: species whose partners disagree (empty when consistent)"
    return Checks(note=note.astype(str), region_flags=flags)


def _region_element(region: str) -> str:
    match = re.match(r"^([A-Z][a-z]?)", region)
    return match.group(1) if match else ""
