"""The README's "Limits" table is the one scripts/limits_table.py makes from bpkit/limits.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script() -> object:
    spec = importlib.util.spec_from_file_location("limits_table", ROOT / "scripts" /
                                                  "limits_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_limits_table_matches_bpkit_limits() -> None:
    script = _script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = script.table()  # type: ignore[attr-defined]
    assert table in readme, "README's Limits table is stale: python scripts/limits_table.py --write"


def test_every_limit_says_where_its_number_comes_from() -> None:
    script = _script()
    rows = script.rows()  # type: ignore[attr-defined]
    assert len(rows) >= 15
    for name, value, why in rows:
        assert why and value, name
