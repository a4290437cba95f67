"""What :meth:`optsupply.Scenario.save` writes: typed tables as cell text, settings as nested TOML."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from optsupply.scenario.schema import SETTINGS, Table


def format_cell_frame(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    """Text form of a typed table, as it is written to CSV or a sheet.

    Floats use the shortest text that reads back to the same number (repr),
    infinity is ``inf`` and booleans are ``true``/``false``.
    """
    out = {}
    for col in table.columns:
        s = df[col.name]
        if col.dtype == "float":
            out[col.name] = [fmt_float(v) for v in s.to_numpy()]
        elif col.dtype == "bool":
            out[col.name] = ["true" if v else "false" for v in s.to_numpy()]
        else:
            out[col.name] = s.astype(str).tolist()
    return pd.DataFrame(out, columns=table.column_names)


def fmt_float(v: float, whole_below: float = 1e16) -> str:
    """A float as written to a cell: whole numbers below ``whole_below`` without a point, ``inf``/``-inf``,
    else the shortest repr."""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if float(v).is_integer() and abs(v) < whole_below:
        return str(int(v))
    return repr(float(v))


def settings_to_toml_dict(settings: dict[str, Any]) -> dict[str, Any]:
    """Nested dict for scenario.toml from dotted keys; unset (None) keys are left out."""
    out: dict[str, Any] = {}
    for spec in SETTINGS:
        value = settings.get(spec.key)
        if value is None:
            continue
        if "." in spec.key:
            section, key = spec.key.split(".", 1)
            out.setdefault(section, {})[key] = value
        else:
            out[spec.key] = value
    # top-level keys first, as TOML requires
    return dict(sorted(out.items(), key=lambda kv: isinstance(kv[1], dict)))
