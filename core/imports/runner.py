"""Run one import: read, validate column by column, stage, load set-based, keep every reject.

contracts.md, Common rules. The whole load runs in one transaction: a file that cannot be read
changes nothing, and a crash part-way leaves the database as it was (the batch row, written
outside that transaction, says the import failed and why; when the process itself died, the next
import marks it failed, see liveness.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.audit import acting_as
from core.choices import ImportStatus, RejectStatus
from core.imports import errors, liveness
from core.imports.kinds import (
    AFTER_IMPORT_HOOKS,
    CITYWIDE,
    ImportKind,
    LoadContext,
    all_kinds,
    get_kind,
)
from core.imports.reader import RawTable, read_chunks, read_table
from core.imports.sql import Staging
from core.models import ImportBatch, ImportRejection
from core.scoping import Jurisdiction, jurisdiction_of

log = logging.getLogger(__name__)


@dataclass
class Validated:
    table: pa.Table  # accepted rows, parsed, with _line and _extra
    rejects: list[tuple[int, str, str, str]]  # (line, reason, column, detail)
    raw_rows: dict[int, dict]  # line -> the row as sent, for rejected rows only


def resolve_kind(name: str) -> ImportKind:
    kind = get_kind(name)
    if kind is None:
        raise errors.ImportFileError(errors.UNKNOWN_KIND, kind=name, known=", ".join(all_kinds()))
    return kind


def _header_map(kind: ImportKind, raw: RawTable) -> tuple[dict[str, int], list[int]]:
    """Column name -> header index, and the indexes of headers the kind does not know."""
    mapping: dict[str, int] = {}
    for column in kind.columns:
        for index, header in enumerate(raw.headers):
            if column.matches(header):
                mapping[column.name] = index
                break
    missing = [f"{c.name} [{c.zh}]" for c in kind.required if c.name not in mapping]
    if missing:
        raise errors.ImportFileError(errors.MISSING_COLUMNS, columns=", ".join(missing), kind=kind.name)
    extra = [i for i in range(len(raw.headers)) if i not in mapping.values() and raw.headers[i]]
    return mapping, extra


def validate(kind: ImportKind, raw: RawTable) -> Validated:
    """Parse every column vectorised; the first problem of a row becomes its reject reason."""
    mapping, extra_indexes = _header_map(kind, raw)
    n = raw.num_rows
    reasons = np.full(n, "", dtype=object)
    bad_columns = np.full(n, "", dtype=object)
    details = np.full(n, "", dtype=object)
    parsed: dict[str, pa.Array] = {}
    for column in kind.columns:
        if column.name not in mapping:  # an optional column the file does not have
            if column.required:
                continue  # _header_map refused the file already
            parsed[column.name] = pa.nulls(n, column.parser.arrow_type)
            continue
        values = pc.utf8_trim_whitespace(raw.columns[mapping[column.name]])
        empty = pc.equal(values, "").to_numpy(zero_copy_only=False)
        if not column.required and empty.all():  # present but blank throughout (a common export)
            parsed[column.name] = pa.nulls(n, column.parser.arrow_type)
            continue
        if column.required:
            newly = empty & (reasons == "")
            reasons[newly], bad_columns[newly] = "missing_required", column.name
        result = column.parser.parse(values)
        problem = (result.reasons != "") & ~empty & (reasons == "")
        if problem.any():
            reasons[problem], bad_columns[problem] = result.reasons[problem], column.name
            details[problem] = [str(v)[:80] for v in values.filter(pa.array(problem)).to_pylist()]
        parsed[column.name] = pc.if_else(pa.array(empty), pa.nulls(n, result.values.type), result.values)
    table = pa.table(parsed)
    kind.check(table, reasons, bad_columns, details)
    _reject_duplicate_keys(kind, table, raw.line_numbers.to_numpy(), reasons, details)

    ok = reasons == ""
    ok_mask = pa.array(ok)
    if ok.all():  # the usual file: no copy of every column just to keep all rows
        table = table.append_column("_line", raw.line_numbers)
    else:
        table = table.filter(ok_mask).append_column("_line", raw.line_numbers.filter(ok_mask))
    table = table.append_column("_extra", _extra_json(raw, extra_indexes, ok_mask))

    rejects, raw_rows = [], {}
    bad_index = np.flatnonzero(~ok)
    if len(bad_index):
        lines = raw.line_numbers.to_numpy()[bad_index]
        bad_take = pa.array(bad_index)
        cells = [pc.take(col, bad_take).to_pylist() for col in raw.columns]
        for j, i in enumerate(bad_index):
            line = int(lines[j])
            rejects.append((line, reasons[i], bad_columns[i], details[i]))
            raw_rows[line] = {h: cells[c][j] for c, h in enumerate(raw.headers)}
    for line, text in raw.malformed:
        rejects.append((line, "malformed_row", "", text[:80]))
        raw_rows[line] = {"_text": text}
    return Validated(table, rejects, raw_rows)


def _reject_duplicate_keys(kind, table: pa.Table, lines: np.ndarray, reasons: np.ndarray, details: np.ndarray) -> None:
    """contracts.md, Idempotency: a key twice in one file keeps the first row and refuses the others."""
    if not kind.key:
        return
    complete = reasons == ""
    for name in kind.key:  # rows without a full key are matched later, not compared here
        complete &= pc.is_valid(table.column(name)).to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(complete)
    if len(candidates) < 2:
        return
    whole = len(candidates) == table.num_rows
    keyed = pa.table({k: table.column(k) for k in kind.key})
    keyed = keyed if whole else keyed.take(pa.array(candidates))
    composite = keyed.column(0)
    if len(kind.key) > 1:
        composite = composite.cast(pa.string())
        for name in kind.key[1:]:
            composite = pc.binary_join_element_wise(composite, keyed.column(name).cast(pa.string()), "\x1f")
    if pc.count_distinct(composite).as_py() == len(candidates):
        return  # the usual case: one hash pass says no key repeats (np.unique of 1.5 M strings took 1.6 s)
    values = composite.cast(pa.string()).to_numpy(zero_copy_only=False).astype(str)
    _, first_index, inverse = np.unique(values, return_index=True, return_inverse=True)
    duplicate = np.arange(len(values)) != first_index[inverse]
    if duplicate.any():
        rows = candidates[duplicate]
        reasons[rows] = "duplicate_key_in_file"
        details[rows] = lines[candidates[first_index[inverse[duplicate]]]].astype(str)


def _extra_json(raw: RawTable, extra_indexes: list[int], ok_mask: pa.Array) -> pa.Array:
    """Unknown columns are kept, per row, as a JSON object (contracts.md: not an error)."""
    count = pc.sum(pc.cast(ok_mask, pa.int64())).as_py() or 0
    if not extra_indexes:
        return pa.repeat(pa.scalar("{}", type=pa.string()), count)
    headers = [raw.headers[i] for i in extra_indexes]
    cols = [raw.columns[i].filter(ok_mask).to_pylist() for i in extra_indexes]
    return pa.array(
        [json.dumps(dict(zip(headers, row, strict=True)), ensure_ascii=False) for row in zip(*cols, strict=True)],
        type=pa.string(),
    )


def run_import(
    kind_name: str,
    data: bytes,
    *,
    filename: str = "",
    user=None,
    source: str = "system",
    max_bytes: int | None = None,
) -> ImportBatch:
    """Import one file. Raises ImportFileError (and records a failed batch) when it is unusable.

    ``max_bytes`` defaults to the upload limit; the command line passes 0 (no limit) for the
    multi-gigabyte files agencies hand over on disk."""
    limit = settings.LINLI_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes

    def read() -> RawTable:
        if limit and len(data) > limit:
            raise errors.ImportFileError(errors.TOO_LARGE, size=len(data), limit=limit)
        return read_table(data, filename)

    def chunks() -> Iterator[RawTable]:
        if limit and len(data) > limit:
            raise errors.ImportFileError(errors.TOO_LARGE, size=len(data), limit=limit)
        return read_chunks(data, filename)

    return _run(
        kind_name,
        read,
        chunks=chunks,
        filename=filename,
        sha=hashlib.sha256(data).hexdigest(),
        size=len(data),
        user=user,
        source=source,
    )


def run_import_rows(
    kind_name: str, rows: list[dict], *, user=None, source: str = "api", label: str = ""
) -> ImportBatch:
    """Import records given as dicts (pushed through the API, or resubmitted rejects)."""

    def read() -> RawTable:
        return table_from_rows(rows)

    payload = json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str).encode()
    return _run(
        kind_name,
        read,
        filename=label,
        sha=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        user=user,
        source=source,
    )


def table_from_rows(rows: list[dict]) -> RawTable:
    if not rows:
        raise errors.ImportFileError(errors.EMPTY_FILE)
    headers: list[str] = []
    for row in rows:
        headers.extend(h for h in row if h not in headers and not h.startswith("_"))
    columns = [
        pa.array(["" if row.get(h) is None else str(row.get(h)) for row in rows], type=pa.string()) for h in headers
    ]
    return RawTable(headers, columns, pa.array(range(1, len(rows) + 1), type=pa.int64()))


def _run(kind_name: str, read, *, filename: str, sha: str, size: int, user, source: str, chunks=None) -> ImportBatch:
    liveness.mark_abandoned()  # earlier runs whose process died are no longer 'running'
    with transaction.atomic():  # the row and its lock together: no one sees it running unlocked
        batch = ImportBatch.objects.create(
            kind=kind_name,
            filename=filename[:255],
            sha256=sha,
            size_bytes=size,
            user=user if getattr(user, "is_authenticated", False) else None,
            source=source,
            status=ImportStatus.RUNNING,
        )
        liveness.hold(batch.pk)
    try:
        kind = resolve_kind(kind_name)
        scope = _importer_scope(kind, user)
        if kind.stored_outside_sql:
            pieces = chunks() if chunks is not None else iter([read()])
        else:
            raw = read()
            validated = validate(kind, raw)
        with acting_as(user, source, batch_id=batch.pk), transaction.atomic():
            _bulk_session()
            ctx = LoadContext(batch_id=batch.pk, user_id=batch.user_id, source=source)
            if kind.stored_outside_sql:
                counts, rejects, raw_rows, rows = _load_pieces(kind, ctx, pieces)
            else:
                counts = _load(kind, ctx, validated.table, scope)
                rejects = validated.rejects + ctx.rejects
                raw_rows = dict(validated.raw_rows)
                if ctx.rejects:
                    raw_rows.update(_rows_as_sent(raw, [line for line, *_ in ctx.rejects]))
                rows = raw.num_rows + len(raw.malformed)
            _store_rejects(batch, kind, rejects, raw_rows)
            batch.rows = rows
            batch.inserted, batch.updated, batch.unchanged = counts.inserted, counts.updated, counts.unchanged
            batch.rejected = _count_reasons(rejects)
            batch.linked = ctx.linked
            batch.status = ImportStatus.DONE
            batch.finished_at = timezone.now()
            batch.save()
            _pause_for_tests("before_commit")
        _count_rows(kind.name, batch)
    except errors.ImportFileError as exc:
        _fail(batch, str(exc))
        raise
    except Exception as exc:
        log.exception("import %s failed", batch.pk)
        _fail(batch, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        liveness.release(batch.pk)
    return batch


def _pause_for_tests(stage: str) -> None:
    """For the fault tests (core/tests/test_fault_import.py) only: ``LINLI_IMPORT_PAUSE_AT=stage:seconds``
    makes the import say so on stderr and sleep at that stage, so that a test can kill it there.
    Unset, as everywhere else, it costs one environment lookup. Stages: ``before_commit`` (every row
    written and the batch marked done, the transaction not yet committed)."""
    for item in os.environ.get("LINLI_IMPORT_PAUSE_AT", "").split(","):
        name, _, seconds = item.partition(":")
        if name.strip() == stage:
            sys.stderr.write(f"linli: import paused at {stage} (LINLI_IMPORT_PAUSE_AT)\n")
            sys.stderr.flush()
            time.sleep(float(seconds or 0))


BULK_WORK_MEM = "256MB"


def _count_rows(kind_name: str, batch: ImportBatch) -> None:
    from core.metrics import IMPORT_ROWS

    for outcome in ("inserted", "updated", "unchanged"):
        IMPORT_ROWS.labels(kind_name, outcome).inc(getattr(batch, outcome) or 0)
    IMPORT_ROWS.labels(kind_name, "rejected").inc(sum((batch.rejected or {}).values()))


def _bulk_session() -> None:
    """For this import's transaction on PostgreSQL: room to sort and hash a million staged rows in
    memory (the server default of 4 MB spills them to disk), and no JIT compilation, which costs
    more than it saves on these one-off statements. SET LOCAL ends with the transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{BULK_WORK_MEM}'")
            cursor.execute("SET LOCAL jit = off")


def _fail(batch: ImportBatch, message: str) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.FAILED, error=message[:4000], finished_at=timezone.now()
    )
    batch.refresh_from_db()


def _load_pieces(kind: ImportKind, ctx: LoadContext, pieces: Iterator[RawTable]):
    """A kind stored outside SQL takes the file piece by piece (read_chunks) in one store
    transaction; each piece is validated, and the rows the kind refuses in it are kept as sent."""
    rejects: list[tuple[int, str, str, str]] = []
    raw_rows: dict[int, dict] = {}
    rows = 0

    def tables() -> Iterator[pa.Table]:
        nonlocal rows
        for raw in pieces:
            validated = validate(kind, raw)
            rejects.extend(validated.rejects)
            raw_rows.update(validated.raw_rows)
            rows += raw.num_rows + len(raw.malformed)
            before = len(ctx.rejects)
            yield validated.table
            refused = ctx.rejects[before:]
            if refused:
                raw_rows.update(_rows_as_sent(raw, [line for line, *_ in refused]))

    counts = kind.store(ctx, tables())
    kind.after_load(ctx)
    for hook in AFTER_IMPORT_HOOKS:
        hook(kind.name)
    return counts, rejects + ctx.rejects, raw_rows, rows


def _importer_scope(kind: ImportKind, user) -> Jurisdiction | None:
    """The jurisdiction the import is confined to; None when it is not confined (the command line
    and system jobs, or staff who see the whole city). A citywide kind fails whole for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    scope = jurisdiction_of(user)
    if scope.everything:
        return None
    if kind.access == CITYWIDE:
        raise errors.ImportFileError(errors.CITYWIDE_KIND, kind=kind.label or kind.name)
    return scope


def _refuse_outside(ctx: LoadContext, kind: ImportKind, staging: Staging, scope: Jurisdiction) -> None:
    """Refuse the lines that would land, or change a record, outside the importer's jurisdiction."""
    inside = " OR ".join(
        f"COALESCE(p.{level}_id IN ({', '.join(str(i) for i in sorted(ids))}), FALSE)"
        for level, ids in scope.nodes.items()
        if ids
    )
    where = f"s._line IN (SELECT p._line FROM ({kind.placement_sql(staging)}) p WHERE NOT ({inside or 'FALSE'}))"
    ctx.reject(staging, where, "outside_jurisdiction", "", "''")


def _load(kind: ImportKind, ctx: LoadContext, table: pa.Table, scope: Jurisdiction | None = None):
    staging = Staging.create(f"stage_{kind.name}", kind.derive(table), kind.staging_extra)
    try:
        if scope is not None:
            _refuse_outside(ctx, kind, staging, scope)
        counts = kind.load(ctx, staging)
        _supersede_open_rejects(kind, staging)
        kind.after_load(ctx)
        for hook in AFTER_IMPORT_HOOKS:
            hook(kind.name)
        return counts
    finally:
        staging.drop()


def _supersede_open_rejects(kind: ImportKind, staging: Staging) -> None:
    """A row accepted now closes the open rejects that carried the same key earlier.

    Not duplicates within a file: their key was accepted from the first row all along, so only a
    person can close them (dismiss or resubmit).
    """
    if len(kind.key) != 1:
        return
    from core.imports.sql import execute, q

    execute(
        f"UPDATE core_importrejection SET status = %s, resolved_at = %s WHERE kind = %s AND status = %s "
        f"AND reason <> 'duplicate_key_in_file' "
        f"AND key_value IN (SELECT CAST({q(kind.key[0])} AS text) FROM {q(staging.name)})",
        [RejectStatus.SUPERSEDED, timezone.now(), kind.name, RejectStatus.OPEN],
    )


def _rows_as_sent(raw: RawTable, lines: list[int]) -> dict[int, dict]:
    wanted = pa.array(lines, type=pa.int64())
    mask = pc.is_in(raw.line_numbers, value_set=wanted)
    found_lines = raw.line_numbers.filter(mask).to_pylist()
    cells = [col.filter(mask).to_pylist() for col in raw.columns]
    return {line: {h: cells[c][j] for c, h in enumerate(raw.headers)} for j, line in enumerate(found_lines)}


def _count_reasons(rejects) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, reason, *_rest in rejects:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def _row_hash(kind: str, row: dict) -> str:
    return hashlib.sha256((kind + json.dumps(row, sort_keys=True, ensure_ascii=False)).encode()).hexdigest()


def _key_value(kind: ImportKind, row: dict) -> str:
    if len(kind.key) != 1:
        return ""
    column = next(c for c in kind.columns if c.name == kind.key[0])
    for header, value in row.items():
        if column.matches(header):
            return str(value).strip()[:120]
    return ""


def _store_rejects(batch: ImportBatch, kind: ImportKind, rejects, raw_rows: dict[int, dict]) -> None:
    """Keep every refused row; the same row refused again is counted, not stored twice."""
    if not rejects:
        return
    entries = []
    for line, reason, column, detail in rejects:
        row = raw_rows.get(line, {})
        entries.append((line, reason, column, detail, row, _row_hash(kind.name, row)))
    hashes = [e[5] for e in entries]
    known: set[str] = set()
    added: set[str] = set()
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        seen = ImportRejection.objects.filter(kind=kind.name, status=RejectStatus.OPEN, row_hash__in=chunk)
        known.update(seen.values_list("row_hash", flat=True))
        seen.update(times_seen=F("times_seen") + 1, last_batch=batch)
    ImportRejection.objects.bulk_create(
        [
            ImportRejection(
                batch=batch,
                last_batch=batch,
                kind=kind.name,
                row_number=line,
                reason=reason,
                column=column,
                detail=detail[:300],
                key_value=_key_value(kind, row),
                data=row,
                row_hash=row_hash,
            )
            for line, reason, column, detail, row, row_hash in entries
            if row_hash not in known and not (row_hash in added or added.add(row_hash))
        ],
        batch_size=1000,
    )


def resubmit_rejection(rejection: ImportRejection, corrected: dict, user) -> ImportBatch:
    """Run a corrected rejected row through the same import; close the reject when it is accepted."""
    batch = run_import_rows(rejection.kind, [corrected], user=user, source="web", label=f"reject #{rejection.pk}")
    if not batch.rejected:
        ImportRejection.objects.filter(pk=rejection.pk).update(
            status=RejectStatus.RESOLVED, resolved_at=timezone.now(), resolved_by=user
        )
    return batch
