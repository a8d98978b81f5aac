"""Generated documentation is current (schema table, flag codes, API reference) and every docs example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import specfit.results.flags as fl
from specfit.results.schema import schema_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_schema_table_is_current():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    table = text.split("<!-- schema:start -->")[1].split("<!-- schema:end -->")[0].strip()
    assert table == schema_markdown().strip()


def test_every_flag_code_is_documented():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    for code in fl.CODES:
        assert f"| `{code}` |" in text, code


def test_api_reference_is_current():
    sys.path.insert(0, str(DOCS.parent / "tests"))
    from api_reference import reference

    assert (DOCS / "api.md").read_text(encoding="utf-8") == reference(), \
        "docs/api.md is out of date: python tests/api_reference.py > docs/api.md"


def test_extending_guide_names_existing_files():
    text = (DOCS / "extending.md").read_text(encoding="utf-8")
    for path in re.findall(r"`(specfit/[\w/]+\.py)`", text):
        assert (DOCS.parent / path).is_file(), path


DOC_BLOCKS = [(p.name, b) for p in sorted(DOCS.glob("*.md"))
              for b in re.findall(r"^```python\n(.*?)^```", p.read_text(encoding="utf-8"), flags=re.M | re.S)]


@pytest.mark.slow
@pytest.mark.parametrize("name,block", DOC_BLOCKS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DOC_BLOCKS)])
def test_docs_example_runs(name, block, tmp_path, shared_data):
    """Each ```python block of docs/*.md runs as written, from a folder beside ../shared (as the repo is)."""
    data = shared_data()
    work = tmp_path / "repo"
    work.mkdir()
    (tmp_path / "shared").symlink_to(data.parent, target_is_directory=True)
    proc = subprocess.run([sys.executable, "-c", block], cwd=work, env=dict(os.environ, MPLBACKEND="Agg"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{name}: {proc.stderr[-3000:]}"
    assert proc.stdout.strip(), f"{name}: the example prints nothing"


def test_every_note_code_is_documented():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    for code in fl.NOTE_CODES:
        assert f"| `{code}` |" in text, code
