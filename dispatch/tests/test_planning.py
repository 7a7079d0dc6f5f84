"""The planning core without a database: rules, destination choice, both solvers and the greedy."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch import planning as P
from dispatch import synth
from dispatch.planning import Destination, PendingTransfer, PlanParams, Problem, Trip, VehicleState

FAST = PlanParams(seconds=1.0)
INFECTIOUS = frozenset({"confirmed", "asymptomatic", "suspected", "fever"})


def _vehicle(code="V1", seats=4, kind="ambulance", cats=INFECTIOUS, **kw) -> VehicleState:
    return VehicleState(code, kind, seats, 30.6, 114.3, frozenset(cats), **kw)


def _dest(code, kind="shelter_hospital", cats=("confirmed", "asymptomatic"), beds=10, lat=30.6, lon=114.35):
    return Destination(code, kind, frozenset(cats), lat, lon, beds)


def _person(i, category="confirmed", severity="mild", lat=30.61, lon=114.31, waited=0) -> PendingTransfer:
    return PendingTransfer(i, category, lat, lon, -waited, severity)


def _plan(problem: Problem, trips: list[Trip], assignments: dict[int, str]) -> P.Plan:
    return P.Plan("manual", problem, assignments, trips)


def test_haversine_is_vectorised_and_right() -> None:
    km = P.haversine_km(np.array([30.0, 31.0]), np.array([114.0, 114.0]), np.array([30.0]), np.array([114.0]))
    assert km.shape == (2, 1)
    assert km[0, 0] == pytest.approx(0)
    assert km[1, 0] == pytest.approx(111.2, abs=0.2)  # one degree of latitude
    travel = P.GreatCircleTravel(road_factor=1.3, speed_kmh=30)
    road, secs = travel.matrix(np.array([31.0]), np.array([114.0]), np.array([30.0]), np.array([114.0]))
    assert road[0, 0] == pytest.approx(km[1, 0] * 1.3)
    assert secs[0, 0] == pytest.approx(road[0, 0] / 30 * 3600)


class TestCheckPlan:
    """check_plan finds each kind of violation."""

    def setup_method(self) -> None:
        self.problem = Problem(
            [_person(1), _person(2, "close_contact"), _person(3, "suspected"), _person(4, "confirmed")],
            [_vehicle("V1", seats=2), _vehicle("BUS", seats=20, kind="bus", cats={"close_contact"})],
            [
                _dest("H"),
                _dest("Q", "quarantine_hotel", ("close_contact",)),
                _dest("C", "central_isolation", ("suspected",)),
            ],
            FAST,
        )
        self.assign = {1: "H", 2: "Q", 3: "C", 4: "H"}

    def _one(self, vehicle: str, category: str, dest: str, ids: list[int]) -> list[str]:
        clock = P._Clock(self.problem)
        trip = clock.add(vehicle, category, dest, ids)
        return P.check_plan(_plan(self.problem, [trip], {i: self.assign[i] for i in ids}))

    def test_a_clean_trip(self) -> None:
        assert self._one("V1", "confirmed", "H", [1, 4]) == []

    def test_categories_sharing(self) -> None:
        found = self._one("V1", "confirmed", "H", [1, 3])
        assert any("categories share" in v for v in found)

    def test_riding_alone(self) -> None:
        problem = Problem(
            [_person(3, "suspected"), _person(5, "suspected")],
            [_vehicle(seats=4)],
            [_dest("C", "central_isolation", ("suspected",))],
            FAST,
        )
        trip = P._Clock(problem).add("V1", "suspected", "C", [3, 5])
        found = P.check_plan(_plan(problem, [trip], {3: "C", 5: "C"}))
        assert any("rides alone" in v for v in found)

    def test_capacity(self) -> None:
        problem = Problem([_person(i) for i in range(1, 4)], [_vehicle(seats=2)], [_dest("H")], FAST)
        trip = P._Clock(problem).add("V1", "confirmed", "H", [1, 2, 3])
        assert any("seats" in v for v in P.check_plan(_plan(problem, [trip], dict.fromkeys([1, 2, 3], "H"))))

    def test_category_not_carried(self) -> None:
        assert any("may not carry" in v for v in self._one("BUS", "confirmed", "H", [1]))

    def test_severe_patient_on_a_bus(self) -> None:
        problem = Problem(
            [_person(1, severity="severe")],
            [_vehicle("BUS", kind="bus", seats=20)],
            [_dest("H", "designated_hospital")],
            FAST,
        )
        trip = P._Clock(problem).add("BUS", "confirmed", "H", [1])
        assert any("may not carry" in v for v in P.check_plan(_plan(problem, [trip], {1: "H"})))

    def test_disinfection_between_trips(self) -> None:
        clock = P._Clock(self.problem)
        first = clock.add("V1", "confirmed", "H", [1])
        second = clock.add("V1", "suspected", "C", [3])
        assert P.check_plan(_plan(self.problem, [first, second], {1: "H", 3: "C"})) == []
        second.start_s = first.arrive_s + P.HANDOVER_SECONDS  # skipped the disinfection
        found = P.check_plan(_plan(self.problem, [first, second], {1: "H", 3: "C"}))
        assert any("without disinfection" in v for v in found)

    def test_vehicle_awaiting_disinfection(self) -> None:
        problem = Problem([_person(1)], [_vehicle(needs_disinfection=True)], [_dest("H")], FAST)
        trip = P._Clock(problem).add("V1", "confirmed", "H", [1])
        assert any("awaiting disinfection" in v for v in P.check_plan(_plan(problem, [trip], {1: "H"})))

    def test_destination_fit_and_beds(self) -> None:
        problem = Problem(
            [_person(1), _person(2)],
            [_vehicle()],
            [_dest("H", beds=1), _dest("Q", "quarantine_hotel", ("close_contact",))],
            FAST,
        )
        found = P.check_plan(_plan(problem, [], {1: "H", 2: "H"}))
        assert any("free beds" in v for v in found)
        assert any("does not take" in v for v in P.check_plan(_plan(problem, [], {1: "Q"})))


class TestDestinations:
    def test_severity_first_and_category_fit(self) -> None:
        designated = _dest("D", "designated_hospital", beds=1, lon=114.5)
        shelter = _dest("S", "shelter_hospital", beds=5, lon=114.31)
        hotel = _dest("Q", "quarantine_hotel", ("close_contact",), beds=5)
        people = [
            _person(1, waited=3600),
            _person(2, severity="critical"),
            _person(3, "close_contact"),
            _person(4, severity="severe"),
        ]
        chosen, missing = P.choose_destinations(people, [designated, shelter, hotel], P.GreatCircleTravel())
        assert chosen[2] == "D"  # critical first, to the designated hospital, though the shelter is nearer
        assert chosen[1] == "S"  # mild to the shelter hospital
        assert chosen[3] == "Q"
        assert missing == [4]  # severe: the designated hospital's only bed is taken, never a shelter hospital

    def test_beds_free_never_exceeded_and_filling_moves_later_people(self) -> None:
        near = _dest("NEAR", beds=2, lon=114.311)
        far = _dest("FAR", beds=10, lon=114.5)
        people = [_person(i, waited=1000 - i) for i in range(1, 6)]
        chosen, missing = P.choose_destinations(people, [near, far], P.GreatCircleTravel())
        assert [chosen[i] for i in range(1, 6)] == ["NEAR", "NEAR", "FAR", "FAR", "FAR"]
        assert missing == []

    def test_no_destination(self) -> None:
        chosen, missing = P.choose_destinations([_person(1, "suspected")], [_dest("H")], P.GreatCircleTravel())
        assert chosen == {} and missing == [1]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("method", ["pyvrp", "ortools", "greedy"])
def test_every_plan_keeps_the_rules(method: str, seed: int) -> None:
    problem = synth.problem(
        transfers=40, vehicles=8, destinations=8, seed=seed, params=PlanParams(seconds=0.6, seed=seed)
    )
    plan = P.plan(problem, method)
    assert P.check_plan(plan) == []
    # nobody with a destination is dropped: every one rides (or is queued for lack of a vehicle)
    assert plan.served + len(plan.unplanned) == len(plan.assignments)
    assert set(plan.no_destination) | set(plan.assignments) == {t.id for t in problem.transfers}


def test_solvers_pool_and_beat_greedy_on_kilometres() -> None:
    problem = synth.problem(transfers=60, vehicles=10, destinations=10, seed=5, params=PlanParams(seconds=2))
    greedy = P.plan_greedy(problem)
    for method in ("pyvrp", "ortools"):
        plan = P.plan(problem, method)
        assert P.check_plan(plan) == []
        assert plan.km < greedy.km


def test_busy_vehicle_starts_where_and_when_it_is_free() -> None:
    problem = Problem([_person(1)], [_vehicle(available_s=1800)], [_dest("H")], FAST)
    plan = P.plan(problem, "pyvrp")
    assert P.check_plan(plan) == []
    assert plan.trips[0].pickup_s[0] >= 1800
