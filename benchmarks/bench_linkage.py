"""Person linkage quality and speed on the synthetic city's noisy feeds (issue #3).

Generates a city of N residents and M noisy feed rows with the truth (synth.feeds.noisy_feeds), parses
the rows with the real import parsers, links exact identity numbers, scores the rest with the
Fellegi–Sunter model (people.linkage, Splink on DuckDB), applies the policy thresholds and compares
with the truth:

- precision of automatic links (exact + probabilistic): correct / all automatic links
- recall of automatic links: correct automatic links / rows about registered residents
- review share, new-person share; time per phase and rows/s, with a same-run baseline ratio
  (a plain DuckDB hash join of the feed rows to the register on identity number).

``--train`` re-estimates the model (u by random sampling, m by EM) before scoring; ``--write-model``
saves it as people/linkage_model.json, the model the import uses.

    .venv/bin/python benchmarks/bench_linkage.py --residents 1000000 --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
os.environ.setdefault("LINLI_HOME", str(ROOT / "var" / "bench-linkage"))

import django  # noqa: E402

django.setup()

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from core.imports.columns import id_problems  # noqa: E402
from core.imports.kinds import get_kind  # noqa: E402
from core.imports.reader import RawTable  # noqa: E402
from core.imports.runner import validate  # noqa: E402
from people import linkage  # noqa: E402
from people.pinyin import pinyin_column  # noqa: E402
from synth.city import generate_city  # noqa: E402
from synth.feeds import KEY_COLUMNS, noisy_feeds  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def lap(self, name: str) -> float:
        now = time.perf_counter()
        self.laps.append((name, now - self._last))
        self._last = now
        return now - self._last


def register_table(city) -> pa.Table:
    """The register as people.register builds it from the database, from the city's own tables."""
    residents = city.tables()["residents"]
    buildings = city.tables()["buildings"]
    compounds = city.tables()["compounds"]
    building_index = pc.index_in(residents.column("building_code"), value_set=buildings.column("building_code"))
    compound_codes = pc.take(buildings.column("compound_code"), building_index)
    compound_names = pc.take(
        compounds.column("name"), pc.index_in(compound_codes, value_set=compounds.column("compound_code"))
    )
    address = pc.binary_join_element_wise(
        compound_names,
        pc.take(buildings.column("name"), building_index),
        pc.cast(residents.column("unit"), pa.string()),
        "-",
        pc.cast(residents.column("room"), pa.string()),
        "",
    )
    ids = residents.column("id_number")
    birth = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(ids, 6, 10),
        pc.utf8_slice_codeunits(ids, 10, 12),
        pc.utf8_slice_codeunits(ids, 12, 14),
        "-",
    )
    return pa.table(
        {
            "unique_id": pa.array(np.arange(len(residents), dtype=np.int64)),
            "id_number": ids,
            "name": residents.column("name"),
            "name_pinyin": pinyin_column(residents.column("name")),
            "sex": residents.column("sex"),
            "birth_date": birth,
            "phone": residents.column("phone"),
            "address": address,
        }
    )


def rows_about_registered(feeds: dict[str, pa.Table]) -> int:
    """Every row sent about a registered resident, including rows the import refused."""
    return int(pc.sum(pc.not_equal(pc.fill_null(feeds["feed_truth"].column("true_id_number"), ""), "")).as_py())


def parsed_feeds(feeds: dict[str, pa.Table]) -> tuple[pa.Table, np.ndarray]:
    """All feed rows through the real import parsers, as linkage columns, with their true id numbers."""
    truth = feeds["feed_truth"]
    true_by_key = dict(zip(truth.column("key").to_pylist(), truth.column("true_id_number").to_pylist(), strict=True))
    parts, truths = [], []
    offset = 10**9
    for kind, key_column in KEY_COLUMNS.items():
        table = feeds[kind]
        raw = RawTable(
            headers=table.column_names,
            columns=[
                pc.fill_null(pc.cast(table.column(c), pa.string()), "").combine_chunks() for c in table.column_names
            ],
            line_numbers=pa.array(np.arange(2, len(table) + 2, dtype=np.int64)),
        )
        parsed = validate(get_kind(kind), raw)
        rows = parsed.table
        keys = rows.column(key_column).to_pylist()
        truths.extend(true_by_key.get(k) or "" for k in keys)
        parts.append(
            pa.table(
                {
                    "unique_id": pa.array(np.arange(offset, offset + len(rows), dtype=np.int64)),
                    "id_number": pc.cast(rows.column("id_number"), pa.string()),
                    "name": rows.column("name"),
                    "name_pinyin": pinyin_column(rows.column("name")),
                    "sex": rows.column("sex"),
                    "birth_date": pc.cast(rows.column("birth_date"), pa.string()),
                    "phone": rows.column("phone"),
                    "address": rows.column("address"),
                }
            )
        )
        offset += len(rows)
    return pa.concat_tables(parts), np.array(truths, dtype=object)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--auto", type=float, default=None, help="auto-link threshold (default: policy)")
    parser.add_argument("--review", type=float, default=None, help="review threshold (default: policy)")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--write-model", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from core.policy import DEFAULTS

    auto = args.auto if args.auto is not None else DEFAULTS["linkage_auto_link_probability"].default
    review = args.review if args.review is not None else DEFAULTS["linkage_review_probability"].default

    clock = Clock()
    city = generate_city(args.residents, args.seed)
    feeds = noisy_feeds(city, args.rows, args.seed + 1)
    clock.lap("generate city and feeds")
    register = register_table(city)
    rows, truth = parsed_feeds(feeds)
    clock.lap("parse feeds (import parsers) and build register")

    # baseline: the plain exact join a user would write
    con = duckdb.connect()
    con.register("f", rows)
    con.register("r", register)
    started = time.perf_counter()
    con.execute("SELECT count(*) FROM f JOIN r ON f.id_number = r.id_number").fetchall()
    baseline = time.perf_counter() - started

    register_ids = register.column("id_number").to_numpy(zero_copy_only=False)
    person_of_id = {v: i for i, v in enumerate(register_ids)}
    valid = id_problems(rows.column("id_number")) == ""
    ids = rows.column("id_number").to_numpy(zero_copy_only=False)
    exact = np.array([bool(v) and i in person_of_id for v, i in zip(valid, ids, strict=True)])
    linked_person = np.full(len(rows), -1, dtype=np.int64)
    linked_person[exact] = [person_of_id[i] for i in ids[exact]]
    clock.lap("exact identity-number links")

    model = linkage.load_model()
    if args.train:
        sample = rows.filter(pa.array(~exact))
        model = linkage.train_model(sample, register, seed=args.seed)
        clock.lap("train model (u sampling + EM)")
        if args.write_model:
            linkage.MODEL_PATH.write_text(json.dumps(model, ensure_ascii=False, indent=1))

    rest = rows.filter(pa.array(~exact))
    scored = linkage.score(rest, register, model)
    clock.lap("score remaining rows (Splink/DuckDB)")
    decisions = linkage.decide(rest.column("unique_id").to_pylist(), scored, auto, review)
    clock.lap("decide")

    offset = rows.column("unique_id")[0].as_py()
    for feed_id, (person, _p) in decisions.linked.items():
        linked_person[feed_id - offset] = person
    in_register = truth != ""
    true_person = np.array([person_of_id.get(t, -2) if t else -2 for t in truth])
    automatic = linked_person >= 0
    correct = automatic & (linked_person == true_person)
    reviewed = np.zeros(len(rows), dtype=bool)
    reviewed[[i - offset for i in decisions.review]] = True
    review_has_truth = sum(
        1
        for feed_id, candidates in decisions.review.items()
        if true_person[feed_id - offset] in {c[0] for c in candidates}
    )
    total = sum(seconds for _name, seconds in clock.laps)
    link_seconds = sum(s for n, s in clock.laps if n.startswith(("exact", "score", "decide", "train")))
    figures = {
        "residents": args.residents,
        "feed_rows": len(rows),
        "thresholds": {"auto": auto, "review": review},
        "precision_auto": round(float(correct.sum() / max(automatic.sum(), 1)), 5),
        "recall_auto": round(float(correct.sum() / max(in_register.sum(), 1)), 5),
        "recall_auto_all_rows_sent": round(float(correct.sum() / max(rows_about_registered(feeds), 1)), 5),
        "rejected_unlinkable_rows": int(len(feeds["feed_truth"]) - len(rows)),
        "exact_share": round(float(exact.mean()), 4),
        "probabilistic_share": round(len(decisions.linked) / len(rows), 4),
        "review_share": round(float(reviewed.mean()), 4),
        "review_with_true_candidate": round(review_has_truth / max(len(decisions.review), 1), 4),
        "new_person_share": round(len(decisions.unmatched) / len(rows), 4),
        "outsiders_linked_wrongly": int((automatic & ~in_register).sum()),
        "seconds": {name: round(seconds, 2) for name, seconds in clock.laps},
        "linkage_seconds": round(link_seconds, 2),
        "linkage_rows_per_second": round(len(rows) / max(link_seconds, 1e-9)),
        "baseline_exact_join_seconds": round(baseline, 3),
        "ratio_to_baseline": round(link_seconds / max(baseline, 1e-9), 1),
        "total_seconds": round(total, 2),
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    for key, value in figures.items():
        print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
