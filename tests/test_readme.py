"""Every ```python block of README.md runs as written, in a fresh folder beside ../shared (as the repo is)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.M | re.S)


def _heading(block: str) -> str:
    text = README.read_text(encoding="utf-8")
    before = text[:text.index(block)]
    headings = re.findall(r"^## (.+)$", before, flags=re.M)
    return headings[-1] if headings else "top"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{i}-{_heading(b)[:24]}" for i, b in enumerate(BLOCKS)])
def test_readme_block_runs(block, tmp_path, shared_data):
    data = shared_data()  # ../shared/data beside the repository (fails under CI, skips locally)
    work = tmp_path / "repo"
    work.mkdir()
    (tmp_path / "shared").symlink_to(data.parent, target_is_directory=True)  # work/../shared/data
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", block], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_readme_has_an_example_per_technique():
    text = "\n".join(BLOCKS)
    for call in ("raman.speciation", "xps.fit_depth_profile", "nmr.track_shifts", "specfit.read(", ".chunk("):
        assert call in text
