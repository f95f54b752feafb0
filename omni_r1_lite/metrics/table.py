"""A small results table: rows of dicts, rendered as Markdown (also in Jupyter).

>>> t = Table("ReVOS", ["group", "n", "J", "J&F"], [{"group": "referring", "n": 2, "J": 51.234, "J&F": None}])
>>> print(t.to_markdown())
**ReVOS**
<BLANKLINE>
| group | n | J | J&F |
|---|---|---|---|
| referring | 2 | 51.2 | – |
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["Table"]


@dataclasses.dataclass
class Table:
    """``rows``: one dict per row, keyed by ``columns``; ``None`` is "not applicable".

    ``digits`` gives decimals per column (default 1); integers print as they are."""

    title: str
    columns: list[str]
    rows: list[dict]
    digits: dict[str, int] = dataclasses.field(default_factory=dict)

    def _cell(self, column: str, value) -> str:
        if value is None:
            return "–"
        if isinstance(value, bool) or isinstance(value, int) or isinstance(value, str):
            return str(value)
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return f"{value:.{self.digits.get(column, 1)}f}"

    def to_markdown(self) -> str:
        """The table as GitHub Markdown, titled in bold."""
        lines = [
            f"**{self.title}**",
            "",
            "| " + " | ".join(self.columns) + " |",
            "|" + "---|" * len(self.columns),
        ]
        for row in self.rows:
            lines.append("| " + " | ".join(self._cell(c, row.get(c)) for c in self.columns) + " |")
        return "\n".join(lines)

    def to_dicts(self) -> list[dict]:
        """The rows as plain dicts (copies)."""
        return [dict(r) for r in self.rows]

    def row(self, name: str) -> dict:
        """The row whose first column equals ``name``."""
        key = self.columns[0]
        for r in self.rows:
            if r.get(key) == name:
                return r
        raise KeyError(f"no row {name!r} in table {self.title!r}")

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
