"""End to end on a synthetic outbreak: the city, its fortnight of scans and the outbreak's case
reports go through the real imports; the stays Linli derives equal the generator's true stays, and
tracing every diagnosed case as of its diagnosis finds every person it truly infected."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cases.models import PersonStatus
from core.imports.runner import run_import
from people.models import Resident
from synth.city import generate_city
from synth.mobility import SCAN_START, generate_scans, write_scans
from synth.outbreak import seed_outbreak
from synth.writer import write_city, write_tables
from tracing import store
from tracing.services import SHANGHAI, case_window, trace_cases

RESIDENTS, SEED = 3000, 11


@pytest.fixture
def outbreak(db, tmp_path):
    city = generate_city(RESIDENTS, SEED)
    spread = seed_outbreak(city, generate_scans(city, start=SCAN_START, days=14, seed=SEED), n_index=6, seed=SEED)
    paths = write_city(city, tmp_path)
    paths["scans"] = write_scans(spread.scans, tmp_path)
    paths |= write_tables({"case_reports": spread.case_reports}, tmp_path)
    for kind in ("divisions", "compounds", "buildings", "venues", "residents", "scans", "case_reports"):
        batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name)
        assert batch.status == "done" and not batch.rejected, (kind, batch.summary())
    return city, spread


def local(moment: np.datetime64) -> dt.datetime:
    return dt.datetime.fromisoformat(str(moment.astype("datetime64[s]"))).replace(tzinfo=SHANGHAI)


def test_derived_stays_equal_the_generators_true_stays(outbreak):
    city, spread = outbreak
    scans = spread.scans
    ids = np.array(city.residents.column("id_number").to_pylist())
    codes = np.array(city.venues.column("venue_code").to_pylist())
    to_epoch = (scans.stay_start.astype("datetime64[s]").astype(np.int64) - 8 * 3600).tolist()
    ends = (scans.stay_end.astype("datetime64[s]").astype(np.int64) - 8 * 3600).tolist()
    truth = set(zip(ids[scans.stay_person].tolist(), codes[scans.stay_venue].tolist(), to_epoch, ends, strict=True))
    with store.connect(read_only=True) as con:
        derived = set(
            con.execute(
                "SELECT p.id_number, v.code, s.t0, s.t1 FROM stays s "
                "JOIN persons p USING (pkey) JOIN venues v USING (vkey)"
            ).fetchall()
        )
    assert len(truth) == scans.stays > 1000
    assert derived == truth


def test_every_case_finds_everyone_it_infected(outbreak):
    city, spread = outbreak
    ids = city.residents.column("id_number").to_pylist()
    cases = PersonStatus.objects.filter(category__in=("confirmed", "asymptomatic")).select_related("person")
    assert cases.count() >= 5
    checked = 0
    for status in cases:
        person: Resident = status.person
        mine = np.flatnonzero(spread.person == ids.index(person.id_number))
        diagnosed = local(spread.diagnosed_at[mine[0]])
        (result,), (window,) = trace_cases([person], diagnosed)
        assert window == case_window(status, diagnosed)
        close = {c.id_number for c in result.close}
        infector_index = ids.index(person.id_number)
        for i in np.flatnonzero(spread.infector == infector_index):
            infected = local(spread.infected_at[i])
            if window.start <= infected < window.end:
                assert ids[spread.person[i]] in close, (person.id_number, ids[spread.person[i]])
                checked += 1
        assert not {c.id_number for c in result.secondary} & (close | {person.id_number})
    assert checked >= 5, "the outbreak should transmit from reported cases"
