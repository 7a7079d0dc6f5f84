"""The zh-Hans catalogue is complete and the committed .mo matches it."""

from __future__ import annotations

from pathlib import Path

import polib

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_catalogue_is_complete():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []


def test_compiled_catalogue_is_current():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in mo}
    for entry in po.translated_entries():
        expected = entry.msgstr or entry.msgstr_plural.get(0)
        assert compiled.get((entry.msgctxt, entry.msgid)) == expected, entry.msgid
