"""``linli linkage_train``: re-estimate the person-linkage model from this city's own data.

u probabilities come from random pairs of the register, m probabilities from EM over the identity
columns of feed records that were not linked by an exact identity number. The new model is written
to ``$LINLI_HOME/linkage_model.json`` (used from then on) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from feeds.models import FEED_MODELS, LinkMethod
from people.linkage import FEED_COLUMNS, train_model
from people.pinyin import pinyin_column
from people.register import register_table


class Command(BaseCommand):
    help = "Re-estimate the Fellegi–Sunter linkage model (Splink, DuckDB) from the register and feeds."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=None)
        parser.add_argument("--min-rows", type=int, default=2000)

    def handle(self, *args, out: Path | None, min_rows: int, **options):
        rows = []
        for model in FEED_MODELS.values():
            rows += list(
                model.objects.exclude(link_method=LinkMethod.ID_NUMBER).values_list(
                    "pk", "sent_id_number", "sent_name", "sent_sex", "sent_birth_date", "sent_phone", "sent_address"
                )
            )
        if len(rows) < min_rows:
            raise CommandError(
                _("Only %(n)s feed rows to learn from; at least %(min)s are needed.")
                % {"n": len(rows), "min": min_rows}
            )
        ids, id_numbers, names, sexes, births, phones, addresses = zip(*rows, strict=True)
        feeds = pa.table(
            {
                "unique_id": pa.array(range(10**9, 10**9 + len(rows)), type=pa.int64()),
                "id_number": pa.array(id_numbers),
                "name": pa.array(names),
                "name_pinyin": pinyin_column(pa.array(names)),
                "sex": pa.array(sexes),
                "birth_date": pa.array([str(b) if b else "" for b in births]),
                "phone": pa.array(phones),
                "address": pa.array(addresses),
            }
        ).select(list(FEED_COLUMNS))
        del ids
        model = train_model(feeds, register_table())
        target = out or Path(settings.LINLI_HOME) / "linkage_model.json"
        target.write_text(json.dumps(model, ensure_ascii=False, indent=1))
        self.stdout.write(_("Model written to %(path)s") % {"path": target})
