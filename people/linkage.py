"""Person linkage: which registered person is this feed row about? (issue #3, item 2)

A row with a valid identity number that the register knows links exactly. Every other row is scored
against the register with a Fellegi–Sunter model run by Splink on DuckDB: comparisons of identity
number (typos and transpositions), name (exact, same pinyin — homophones —, similar pinyin), phone,
birth date, sex and address, with m and u probabilities estimated by EM and random sampling
(``train_model``) and kept as a versioned JSON model. The model is the *spec*; DuckDB (default) or
Spark (Splink's SparkAPI, for a cluster) is the backend that executes it.

Decisions use the policy thresholds: at or above ``linkage_auto_link_probability`` with no close
second candidate, link; at or above ``linkage_review_probability``, keep the row on a new
unregistered person and queue the candidates for review; below, a new unregistered person.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("linkage_model.json")
FEED_COLUMNS = ("unique_id", "id_number", "name", "name_pinyin", "sex", "birth_date", "phone", "address")
# a second candidate this close to the best means the row is ambiguous (two similar residents)
AMBIGUITY_MARGIN = 0.2


def settings(probability_two_random_records_match: float = 1e-6) -> dict[str, Any]:
    """The linkage spec: comparisons and blocking rules, independent of the backend."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = [
        cl.CustomComparison(
            output_column_name="id_number",
            comparison_levels=[
                cll.NullLevel("id_number"),
                cll.ExactMatchLevel("id_number"),
                cll.DamerauLevenshteinLevel("id_number", 1),
                cll.DamerauLevenshteinLevel("id_number", 2),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="name",
            comparison_levels=[
                cll.NullLevel("name"),
                cll.ExactMatchLevel("name"),
                cll.ExactMatchLevel("name_pinyin"),
                cll.JaroWinklerLevel("name_pinyin", 0.9),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="phone",
            comparison_levels=[
                cll.NullLevel("phone"),
                cll.ExactMatchLevel("phone"),
                cll.DamerauLevenshteinLevel("phone", 1),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="birth_date",
            comparison_levels=[
                cll.NullLevel("birth_date"),
                cll.ExactMatchLevel("birth_date"),
                cll.DamerauLevenshteinLevel("birth_date", 2),
                cll.ElseLevel(),
            ],
        ),
        cl.ExactMatch("sex"),
        cl.CustomComparison(
            output_column_name="address",
            comparison_levels=[
                cll.NullLevel("address"),
                cll.JaroWinklerLevel("address", 0.95),
                cll.JaroWinklerLevel("address", 0.8),
                cll.ElseLevel(),
            ],
        ),
    ]
    creator = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=probability_two_random_records_match,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("name_pinyin", "birth_date"),
            block_on("substr(id_number, 1, 12)"),
            block_on("substr(id_number, 7, 12)"),
            block_on("name_pinyin", "substr(phone, 8, 4)"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    return creator.get_settings("duckdb").as_dict()


def _linker(feeds: pa.Table, register: pa.Table, model: dict[str, Any]):
    from splink import DuckDBAPI, Linker

    connection = duckdb.connect()
    db_api = DuckDBAPI(connection=connection)
    feed_df = db_api.register(feeds, table_name="feed_rows")
    register_df = db_api.register(register, table_name="register")
    return Linker([feed_df, register_df], model, log_level=logging.ERROR)


def train_model(feeds: pa.Table, register: pa.Table, seed: int = 2020) -> dict[str, Any]:
    """Estimate u by random sampling of register pairs and m by EM on two blocking rules."""
    from splink import block_on

    spec = settings(1.0 / max(len(register), 1))
    linker = _linker(_clean(feeds), _clean(register), spec)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_pinyin", "birth_date"))
    return linker.misc.save_model_to_json()


def load_model() -> dict[str, Any]:
    """The city's own model (``linli linkage_train`` writes it to LINLI_HOME) if there is one, else the
    shipped model, estimated on the synthetic city's noisy feeds (benchmarks/bench_linkage.py --train)."""
    from django.conf import settings as django_settings

    local = Path(django_settings.LINLI_HOME) / "linkage_model.json"
    return json.loads((local if local.exists() else MODEL_PATH).read_text())


def _clean(table: pa.Table) -> pa.Table:
    """Empty strings become nulls, so that Splink's null levels see missing values as missing."""
    columns = {}
    for name in FEED_COLUMNS:
        column = table.column(name)
        if name == "unique_id":
            columns[name] = pc.cast(column, pa.int64())
            continue
        column = pc.cast(column, pa.string())
        columns[name] = pc.if_else(pc.equal(pc.fill_null(column, ""), ""), pa.nulls(len(column), pa.string()), column)
    return pa.table(columns)


@dataclass
class Scored:
    """The best candidates of every scored feed row."""

    pairs: pa.Table  # feed_id, person_id, probability, weight, gamma_* columns (evidence)


def score(feeds: pa.Table, register: pa.Table, model: dict[str, Any] | None = None, threshold: float = 0.01) -> Scored:
    """Every candidate pair at or above ``threshold``, scored with the model."""
    model = dict(model or load_model())
    model["probability_two_random_records_match"] = 1.0 / max(len(register), 1)
    model["retain_intermediate_calculation_columns"] = False
    model["retain_matching_columns"] = False
    linker = _linker(_clean(feeds), _clean(register), model)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    table = predictions.as_pyarrow_table()
    left_is_feed = pc.equal(table.column("source_dataset_l"), "feed_rows")
    feed_id = pc.if_else(left_is_feed, table.column("unique_id_l"), table.column("unique_id_r"))
    person_id = pc.if_else(left_is_feed, table.column("unique_id_r"), table.column("unique_id_l"))
    evidence = {name: table.column(name) for name in table.column_names if name.startswith("gamma_")}
    return Scored(
        pa.table(
            {
                "feed_id": feed_id,
                "person_id": person_id,
                "probability": table.column("match_probability"),
                "weight": table.column("match_weight"),
                **evidence,
            }
        )
    )


@dataclass
class Decisions:
    linked: dict[int, tuple[int, float]]  # feed_id -> (person_id, probability)
    review: dict[int, list[tuple[int, float, float, dict]]]  # feed_id -> [(person_id, p, weight, evidence)]
    unmatched: list[int]


def decide(feed_ids: list[int], scored: Scored, auto_link: float, review: float) -> Decisions:
    """Apply the thresholds to the best and second-best candidate of each feed row."""
    by_feed: dict[int, list[tuple[int, float, float, dict]]] = {}
    gamma_names = [n for n in scored.pairs.column_names if n.startswith("gamma_")]
    rows = scored.pairs.to_pylist()
    for row in rows:
        evidence = {name.removeprefix("gamma_"): row[name] for name in gamma_names}
        by_feed.setdefault(row["feed_id"], []).append((row["person_id"], row["probability"], row["weight"], evidence))
    linked, queued, unmatched = {}, {}, []
    for feed_id in feed_ids:
        candidates = sorted(by_feed.get(feed_id, []), key=lambda c: -c[1])
        best = candidates[0] if candidates else None
        second = candidates[1][1] if len(candidates) > 1 else 0.0
        if best and best[1] >= auto_link and best[1] - second >= AMBIGUITY_MARGIN:
            linked[feed_id] = (best[0], best[1])
        elif best and best[1] >= review:
            queued[feed_id] = [c for c in candidates if c[1] >= review][:5]
        else:
            unmatched.append(feed_id)
    return Decisions(linked, queued, unmatched)


def _evidence_labels() -> dict[str, dict[int, str]]:
    from django.utils.translation import gettext_lazy as _

    missing, different = _("missing on one side"), _("different")
    return {
        "id_number": {3: _("same"), 2: _("one typo apart"), 1: _("two typos apart"), 0: different, -1: missing},
        "name": {
            3: _("same"),
            2: _("same pronunciation (homophone)"),
            1: _("similar pronunciation"),
            0: different,
            -1: missing,
        },
        "phone": {2: _("same"), 1: _("one digit apart"), 0: different, -1: missing},
        "birth_date": {2: _("same"), 1: _("close"), 0: different, -1: missing},
        "sex": {1: _("same"), 0: different, -1: missing},
        "address": {2: _("same"), 1: _("similar"), 0: different, -1: missing},
    }


def explain(evidence: dict[str, int]) -> list[tuple[str, str, int]]:
    """(field label, what the comparison found, level) for the review page."""
    from django.utils.translation import gettext_lazy as _
    from django.utils.translation import pgettext_lazy

    fields = {
        "id_number": _("Identity number"),
        "name": pgettext_lazy("person", "Name"),
        "phone": _("Phone"),
        "birth_date": _("Birth date"),
        "sex": _("Sex"),
        "address": _("Address"),
    }
    labels = _evidence_labels()
    return [
        (str(fields.get(field, field)), str(labels.get(field, {}).get(level, level)), level)
        for field, level in evidence.items()
    ]
