"""Contact tracing on Apache Spark: the cluster path for city-scale batches.

Tracing a few cases is a job for the memory-mapped index (``IndexEngine``); re-tracing a whole
city's cases at once, or a presence store that outgrows one machine, is a job for a cluster. This
engine runs the one definition of the computation, ``tracing.engine.EXPOSURES_SQL`` (and its two
parts ``MATCH_SQL`` and ``HOUSEHOLD_SQL``, which ``trace``'s second stage asks for), unchanged on
Spark SQL over temp views (``queries`` or ``intervals``, ``stays``, ``households``), so Spark and
DuckDB cannot disagree about who is a contact: the tests compare both with a brute-force reading.

Data: each store version is exported once from DuckDB (a read-only connection) to Parquet under
``<presence dir>/spark/v<version>``, read with ``spark.read.parquet`` and cached in Spark's memory;
the newest two exports are kept, like the index. Which version to use is taken from the published
index (the one ``trace`` reads identity numbers from), so steady-state queries never open the DuckDB
file and are not blocked by an import. On a real cluster the presence directory must be on storage
the executors can read.

The session is one per process (``SparkEngine.shared()``), started on first use: master from
``settings.LINLI_SPARK_MASTER``, else the environment variable of that name, else ``local[2]``;
driver memory from ``LINLI_SPARK_DRIVER_MEMORY`` (default ``2g``). Results come back through Arrow,
never pandas.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyarrow as pa
from django.conf import settings

from tracing import index as presence_index
from tracing import store
from tracing.engine import (
    EXPOSURE_COLUMNS,
    EXPOSURES_SQL,
    HOUSEHOLD_SQL,
    MATCH_SQL,
    Exposures,
    Intervals,
    Queries,
    Rules,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "2g"
LOCAL_SHUFFLE_PARTITIONS = 4
KEEP_VERSIONS = 2
EXPORT_DIR = "spark"

# The DuckDB store's types (tracing.store.SCHEMA), so Spark computes exactly what DuckDB computes.
STAYS_DDL = "pkey INT, vkey INT, t0 BIGINT, t1 BIGINT"
HOUSEHOLDS_DDL = "pkey INT, hkey BIGINT"


def master_url() -> str:
    return getattr(settings, "LINLI_SPARK_MASTER", None) or os.environ.get("LINLI_SPARK_MASTER") or DEFAULT_MASTER


def start_session(master: str) -> SparkSession:
    """A quiet session for tracing: no UI, UTC, few shuffle partitions when local."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("linli-tracing")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", os.environ.get("LINLI_SPARK_DRIVER_MEMORY") or DEFAULT_DRIVER_MEMORY)
    )
    if master.startswith("local"):
        builder = (
            builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export(root: Path) -> Path | None:
    """The Parquet export of the store's current version under ``root``, written if missing.

    Returns None when there is no store yet (no presence data: no exposures)."""
    if not store.exists():
        return None
    with store.connect(read_only=True) as con:
        version = store.version(con)
        target = root / f"v{version}"
        if target.is_dir():
            return target
        scratch = root / f".v{version}-{os.getpid()}-{time.monotonic_ns()}"
        scratch.mkdir(parents=True)
        try:
            for table, columns in (("stays", "pkey, vkey, t0, t1"), ("households", "pkey, hkey")):
                parquet = _quoted(scratch / f"{table}.parquet")
                con.execute(f"COPY (SELECT {columns} FROM {table}) TO {parquet} (FORMAT parquet)")
            os.rename(scratch, target)
        except OSError:
            if not target.is_dir():  # unless another process exported the same version first
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    _prune(root)
    return target


def _prune(root: Path) -> None:
    versions = sorted(
        (p for p in root.glob("v*") if p.is_dir() and p.name[1:].isdigit()), key=lambda p: int(p.name[1:])
    )
    for old in versions[:-KEEP_VERSIONS]:
        shutil.rmtree(old, ignore_errors=True)


class SparkEngine:
    """EXPOSURES_SQL on Spark SQL over the store's Parquet export (see the module docstring)."""

    name = "spark"

    _shared: ClassVar[SparkEngine | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, master: str | None = None) -> None:
        self.master = master
        self._spark: SparkSession | None = None
        self._lock = threading.RLock()
        self._data_key: str | None = None
        self._data: tuple[DataFrame, DataFrame] | None = None

    @classmethod
    def shared(cls) -> SparkEngine:
        """The process-wide engine; its session starts on first use."""
        if cls._shared is None:
            with cls._shared_lock:
                if cls._shared is None:
                    cls._shared = cls()
        return cls._shared

    @property
    def spark(self) -> SparkSession:
        with self._lock:
            if self._spark is None:
                self._spark = start_session(self.master or master_url())
            return self._spark

    def stop(self) -> None:
        """Drop the cached data and stop the session (the next use starts a new one)."""
        with self._lock:
            self._forget_data()
            if self._spark is not None:
                self._spark.stop()
                self._spark = None

    def exposures(self, queries: Queries, rules: Rules) -> Exposures:
        """All of EXPOSURES_SQL: venue and household exposures of each query."""
        if queries.size == 0:
            return Exposures.empty()
        return self._run(EXPOSURES_SQL.format(min_overlap=int(rules.min_overlap_seconds)), queries=queries.to_arrow())

    def interval_exposures(self, intervals: Intervals, rules: Rules) -> Exposures:
        """MATCH_SQL: exposures at venues during intervals already found (trace's second stage)."""
        if intervals.size == 0:
            return Exposures.empty()
        return self._run(MATCH_SQL.format(min_overlap=int(rules.min_overlap_seconds)), intervals=intervals.to_arrow())

    def household_exposures(self, queries: Queries) -> Exposures:
        """HOUSEHOLD_SQL: the household members of each query person."""
        if queries.size == 0:
            return Exposures.empty()
        return self._run(HOUSEHOLD_SQL, queries=queries.to_arrow())

    def _run(self, sql: str, **views: pa.Table) -> Exposures:
        """``sql`` on Spark over the store's ``stays`` and ``households`` and the given small views."""
        with self._lock:
            data = self._tables()
            if data is None:
                return Exposures.empty()
            spark = self.spark
            stays, households = data
            stays.createOrReplaceTempView("stays")
            households.createOrReplaceTempView("households")
            for name, table in views.items():
                spark.createDataFrame(table).createOrReplaceTempView(name)
            try:
                result = spark.sql(sql).toArrow()
            finally:
                for name in views:
                    spark.catalog.dropTempView(name)
        if result.num_rows == 0:
            return Exposures.empty()
        return Exposures(*(result.column(c).to_numpy().astype(np.int64) for c in EXPOSURE_COLUMNS))

    # --- data -------------------------------------------------------------------------------------

    def _tables(self) -> tuple[DataFrame, DataFrame] | None:
        """Stays and households of the published version as cached DataFrames (None: no store)."""
        root = store.store_dir() / EXPORT_DIR
        published = presence_index.current().version
        directory = root / f"v{published}"
        if not (published and directory.is_dir()):
            found = export(root)
            if found is None:
                return None
            directory = found
        key = str(directory)
        if self._data_key != key or self._data is None:
            self._forget_data()
            reader = self.spark.read
            stays = reader.schema(STAYS_DDL).parquet(str(directory / "stays.parquet")).cache()
            households = reader.schema(HOUSEHOLDS_DDL).parquet(str(directory / "households.parquet")).cache()
            self._data_key, self._data = key, (stays, households)
        return self._data

    def _forget_data(self) -> None:
        if self._data is not None:
            for frame in self._data:
                with contextlib.suppress(Exception):  # the session may already be gone
                    frame.unpersist()
        self._data_key, self._data = None, None
