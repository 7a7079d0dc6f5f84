"""Write a :class:`~synth.city.SynthCity` as the contract CSV files (contracts.md), one per kind.

UTF-8 without BOM, one header row with the English column names, no quoting (no generated value
contains a comma, quote or line break; pyarrow refuses to write one that does), dates ``YYYY-MM-DD``,
booleans ``true``/``false``, ``;``-separated tags, empty cells for missing values.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv

from synth.city import SynthCity

_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none", batch_size=65536)


def write_city(city: SynthCity, out_dir: Path | str) -> dict[str, Path]:
    """Write ``<kind>.csv`` for every contract kind into ``out_dir`` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, table in city.tables().items():
        path = out / f"{kind}.csv"
        pacsv.write_csv(table, path, write_options=_OPTIONS)
        paths[kind] = path
    return paths
