"""The register as linkage sees it: one Arrow table of every current person's identity columns."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection

from people.linkage import FEED_COLUMNS

REGISTER_SQL = """
SELECT r.id AS unique_id, COALESCE(r.id_number, '') AS id_number, r.name, r.name_pinyin, r.sex,
       COALESCE(CAST(r.birth_date AS TEXT), '') AS birth_date, r.phone,
       COALESCE(c.name, '') || COALESCE(b.name, '') || COALESCE(h.unit, '') ||
         CASE WHEN h.room IS NULL THEN '' ELSE '-' || h.room END AS address
FROM people_resident r
LEFT JOIN geo_household h ON h.id = r.household_id
LEFT JOIN geo_building b ON b.id = r.building_id
LEFT JOIN geo_compound c ON c.id = r.compound_id
WHERE r.merged_into_id IS NULL
"""


def register_table() -> pa.Table:
    """All unmerged persons (registered and not), read set-based: COPY on PostgreSQL."""
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({REGISTER_SQL}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy,
        ):
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        types = {name: pa.string() for name in FEED_COLUMNS} | {"unique_id": pa.int64()}
        return pacsv.read_csv(
            buffer,
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute(REGISTER_SQL)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in FEED_COLUMNS]
    return pa.table(
        {
            name: pa.array(values, type=pa.int64() if name == "unique_id" else pa.string())
            for name, values in zip(FEED_COLUMNS, columns, strict=True)
        }
    )
