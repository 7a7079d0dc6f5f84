"""A date as a whole number of days, in SQL on both databases, so that due dates are computed,
filtered and ordered by the database (care.visits) without per-vendor date arithmetic elsewhere."""

from __future__ import annotations

import datetime as dt

from django.db.models import Func, IntegerField

EPOCH = dt.date(1970, 1, 1)
_JULIAN_DAY_OF_EPOCH = 2440587.5


class DayNumber(Func):
    """Days from 1970-01-01 to a date (or a date-valued expression)."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL and the default
        return super().as_sql(
            compiler, connection, template="(CAST(%(expressions)s AS date) - DATE '1970-01-01')", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template=f"CAST(julianday(%(expressions)s) - {_JULIAN_DAY_OF_EPOCH} AS INTEGER)",
            **extra_context,
        )
