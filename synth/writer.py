"""Write a :class:`~synth.city.SynthCity` as the contract CSV files (contracts.md), one per kind.

UTF-8 without BOM, one header row with the English column names, no quoting (no generated value
contains a comma, quote or line break; pyarrow refuses to write one that does), dates ``YYYY-MM-DD``,
booleans ``true``/``false``, ``;``-separated tags, empty cells for missing values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from synth.city import SynthCity

_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none", batch_size=65536)


def write_city(city: SynthCity, out_dir: Path | str) -> dict[str, Path]:
    """Write ``<kind>.csv`` for every contract kind into ``out_dir`` (created if missing)."""
    return write_tables(city.tables(), out_dir)


def write_tables(tables: Mapping[str, pa.Table], out_dir: Path | str) -> dict[str, Path]:
    """Write each table as ``<name>.csv`` into ``out_dir`` (created if missing), in the format above."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, table in tables.items():
        path = out / f"{name}.csv"
        pacsv.write_csv(table, path, write_options=_OPTIONS)
        paths[name] = path
    return paths
