"""Parse NIST StRD nonlinear-regression files (``../shared/data/nist_strd``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_PARAM = re.compile(r"^\s*(b\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")


@dataclass
class NistProblem:
    name: str
    x: np.ndarray
    y: np.ndarray
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray
    certified_sd: np.ndarray
    rss: float


def load_nist(path: Path) -> NistProblem:
    lines = Path(path).read_text().splitlines()
    start1, start2, cert, sd = [], [], [], []
    rss = None
    data_at = None
    for i, line in enumerate(lines):
        match = _PARAM.match(line)
        if match:
            start1.append(float(match.group(2)))
            start2.append(float(match.group(3)))
            cert.append(float(match.group(4)))
            sd.append(float(match.group(5)))
        if line.strip().startswith("Residual Sum of Squares"):
            rss = float(line.split(":")[1])
        if line.startswith("Data:") and "y" in line and "x" in line:
            data_at = i + 1
    data = np.array([[float(v) for v in row.split()] for row in lines[data_at:] if row.strip()])
    return NistProblem(Path(path).stem, data[:, 1], data[:, 0], np.array(start1), np.array(start2),
                       np.array(cert), np.array(sd), float(rss))
