"""Generated documentation is current: the schema table in docs/results.md, the flag codes."""

from __future__ import annotations

from pathlib import Path

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
