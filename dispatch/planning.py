"""Dispatch planning over plain data: travel times, destination choice, routes (PyVRP, OR-Tools, the
greedy baseline) and the rules every plan must keep (:func:`check_plan`).

Nothing here touches the database, so the tests and ``benchmarks/bench_dispatch.py`` run the same
code the service (dispatch.services) runs. Times are integer seconds from the moment of planning
("now" = 0); a transfer's ``waiting_since_s`` is therefore zero or negative.

Formulation (issue #8 item 3). Destinations are chosen first (:func:`choose_destinations`: category
fit, severity first, free beds never over-assigned, nearest). Transfers are then grouped by
(category, destination, ambulance needed) — a *trip* carries one group only, so categories never
share a vehicle by construction — and the groups are routed one after another, most urgent first:

- each group is a capacitated VRP with time windows: every vehicle that may carry the group starts
  where and when the plan so far leaves it free (its base, or the drop-off of its last trip), ends at
  the group's destination and may come back there to unload and go out again (several trips: a
  reload depot in PyVRP, copies of the destination with a load dimension that resets in OR-Tools);
- capacity = seats, or 1 for a category that rides alone (policy ``dispatch_ride_alone``);
- time window = pick-up no later than ``waiting_since + dispatch_max_wait_hours`` (someone already
  past it: the earliest any vehicle could be there plus LATE_GRACE_SECONDS); people are optional
  with a large prize, so an overloaded fleet leaves some out rather than failing;
- disinfection: a trip that carried a confirmed or asymptomatic case ends with the vehicle's
  disinfection at the destination (DISINFECT_SECONDS) before its next trip — the time is added to
  the route rather than taking the vehicle out of the plan; across plans, a vehicle flagged
  ``needs_disinfection`` (set on delivery) is left out until a disinfection is recorded.

The solver's trips are re-timed by one clock (:class:`_Clock`) shared with the greedy baseline and
checked; people it left out are appended greedily after its routes, so a plan never drops anyone
who has a destination; people without a destination come back in ``Plan.no_destination``.

Default solver: PyVRP (``DEFAULT_METHOD``). benchmarks/bench_dispatch.py (500 transfers, 60
vehicles, 40 destinations, seed 0, 10 s): PyVRP 8,808 vehicle-km and a longest wait of 446 min,
OR-Tools (guided local search) 9,472 km and 523 min, greedy 17,324 km and 1,350 min; given 100 s,
PyVRP found nothing better (gap 0.0 %) while OR-Tools improved to 9,066 km (its 10 s plan 4.5 %
behind) — PyVRP is better on both figures at the default time and already at its best there. Both
stay selectable (``method=``); the solvers see the same groups and the same time budget.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

import numpy as np

EARTH_RADIUS_KM = 6371.0088
SEVERITY_RANK = {"critical": 0, "severe": 1, "mild": 2}
# domain.md §3: a vehicle that carried a confirmed case (or an asymptomatic infection) is disinfected
# before its next ride.
DISINFECT_AFTER = frozenset({"confirmed", "asymptomatic"})
DISINFECT_SECONDS = 30 * 60
PICKUP_SECONDS = 5 * 60  # getting the person from the door into the vehicle
HANDOVER_SECONDS = 10 * 60  # handing over at the destination
LATE_GRACE_SECONDS = 3600  # someone already past the maximum wait: as soon as possible, within an hour
HORIZON_SECONDS = 24 * 3600
MISS_PRIZE = 10**7  # leaving a person out costs as much as 10,000 extra kilometres
METHODS = ("pyvrp", "ortools", "greedy")
DEFAULT_METHOD = "pyvrp"

# domain.md §3, placement column: which facility kinds take a category, best first. Severe and
# critical confirmed cases go to designated hospitals only; mild ones to a shelter hospital (方舱),
# else a designated hospital.
PREFERRED_KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("confirmed", "critical"): ("designated_hospital",),
    ("confirmed", "severe"): ("designated_hospital",),
    ("confirmed", "mild"): ("shelter_hospital", "designated_hospital"),
    ("asymptomatic", ""): ("shelter_hospital", "central_isolation", "designated_hospital"),
    ("suspected", ""): ("central_isolation", "fever_clinic"),
    ("fever", ""): ("central_isolation", "fever_clinic"),
    ("close_contact", ""): ("quarantine_hotel", "central_isolation"),
    ("secondary_contact", ""): ("quarantine_hotel",),
}


def preferred_kinds(category: str, severity: str) -> tuple[str, ...]:
    """Facility kinds for a person, best first (severity only matters for confirmed cases)."""
    key = (category, severity if category == "confirmed" else "")
    return PREFERRED_KINDS.get(key, PREFERRED_KINDS.get((category, ""), ()))


# --- plain data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingTransfer:
    """A person waiting for a ride: where, since when (seconds before now, ≤ 0), category, severity."""

    id: int
    category: str
    lat: float
    lon: float
    waiting_since_s: int = 0
    severity: str = "mild"
    preferred_kind: str = ""  # a placement decided for the person (PersonStatus.placement_kind), tried first


@dataclass(frozen=True)
class Destination:
    """A facility as planning sees it: what it takes and how many beds are free for this plan."""

    code: str
    kind: str
    categories: frozenset[str]
    lat: float
    lon: float
    beds_free: int

    def accepts(self, category: str) -> bool:
        return category in self.categories


@dataclass(frozen=True)
class VehicleState:
    """A vehicle where and when it is next free, what it may carry and how many seats it has."""

    code: str
    kind: str
    seats: int
    lat: float
    lon: float
    categories: frozenset[str]
    available_s: int = 0
    needs_disinfection: bool = False

    def carries(self, category: str, severity: str = "mild") -> bool:
        """Categories it may carry; severe and critical patients need an ambulance, not a bus."""
        if category not in self.categories:
            return False
        return not (self.kind == "bus" and severity in ("severe", "critical"))


@dataclass(frozen=True)
class PlanParams:
    """The policy figures planning needs (core.policy: dispatch_*), as plain values."""

    road_factor: float = 1.3
    speed_kmh: float = 30.0
    max_wait_s: int = 4 * 3600
    ride_alone: frozenset[str] = frozenset({"suspected", "fever"})
    seconds: float = 10.0
    seed: int = 0

    @classmethod
    def from_policy(cls, pol) -> PlanParams:
        alone = getattr(pol, "dispatch_ride_alone", {}) or {}
        return cls(
            road_factor=float(pol.dispatch_road_factor),
            speed_kmh=float(pol.dispatch_speed_kmh),
            max_wait_s=int(float(pol.dispatch_max_wait_hours) * 3600),
            ride_alone=frozenset(c for c, alone_ in alone.items() if alone_),
            seconds=float(pol.dispatch_plan_seconds),
        )


# --- travel times ----------------------------------------------------------------------------------


class TravelTimes(Protocol):
    """Road kilometres and driving seconds between two sets of points (a road-network provider
    can implement this later; planning only calls :meth:`matrix`)."""

    def matrix(
        self, lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...


def haversine_km(lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray) -> np.ndarray:
    """Great-circle kilometres, every point of A to every point of B (a len(A) × len(B) array)."""
    pa, pb = np.radians(np.asarray(lat_a, float))[:, None], np.radians(np.asarray(lat_b, float))[None, :]
    dlat = pb - pa
    dlon = np.radians(np.asarray(lon_b, float))[None, :] - np.radians(np.asarray(lon_a, float))[:, None]
    h = np.sin(dlat / 2) ** 2 + np.cos(pa) * np.cos(pb) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True)
class GreatCircleTravel:
    """Great-circle distance × a road factor, driven at an average speed (policy dispatch_*)."""

    road_factor: float = 1.3
    speed_kmh: float = 30.0

    def matrix(
        self, lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        km = haversine_km(lat_a, lon_a, lat_b, lon_b) * self.road_factor
        return km, km / self.speed_kmh * 3600.0


def travel_for(params: PlanParams) -> TravelTimes:
    return GreatCircleTravel(params.road_factor, params.speed_kmh)


# --- the problem and the plan ----------------------------------------------------------------------


@dataclass
class Problem:
    """Everything one planning run reads."""

    transfers: list[PendingTransfer]
    vehicles: list[VehicleState]
    destinations: list[Destination]
    params: PlanParams = field(default_factory=PlanParams)
    travel: TravelTimes | None = None

    def __post_init__(self) -> None:
        if self.travel is None:
            self.travel = travel_for(self.params)
        self.transfer_by_id = {t.id: t for t in self.transfers}
        self.vehicle_by_code = {v.code: v for v in self.vehicles}
        self.destination_by_code = {d.code: d for d in self.destinations}

    def leg(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        km, s = self.travel.matrix(np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]]))
        return float(km[0, 0]), float(s[0, 0])


@dataclass
class Trip:
    """One vehicle ride: pick up people of one category, drop them at one destination."""

    vehicle: str
    category: str
    destination: str
    transfer_ids: list[int]
    start_s: int = 0  # leaves its previous position
    pickup_s: list[int] = field(default_factory=list)  # pick-up time of each person, in order
    arrive_s: int = 0  # at the destination
    free_s: int = 0  # free again: after hand-over (and disinfection)
    km: float = 0.0
    disinfect_after: bool = False


@dataclass
class Plan:
    """A plan: trips, each transfer's destination, who is left (no destination / no ride yet)."""

    method: str
    problem: Problem
    assignments: dict[int, str]
    trips: list[Trip] = field(default_factory=list)
    no_destination: list[int] = field(default_factory=list)
    unplanned: list[int] = field(default_factory=list)
    seconds: float = 0.0
    solver_seconds: float = 0.0
    appended: int = 0  # people the solver left out and the greedy step added

    @property
    def km(self) -> float:
        return float(sum(t.km for t in self.trips))

    def pickup_times(self) -> dict[int, int]:
        return {tid: at for trip in self.trips for tid, at in zip(trip.transfer_ids, trip.pickup_s, strict=True)}

    @property
    def longest_wait_s(self) -> int:
        by_id = self.problem.transfer_by_id
        waits = [at - by_id[tid].waiting_since_s for tid, at in self.pickup_times().items()]
        return int(max(waits, default=0))

    @property
    def served(self) -> int:
        return sum(len(t.transfer_ids) for t in self.trips)

    def trips_by_vehicle(self) -> dict[str, list[Trip]]:
        result: dict[str, list[Trip]] = defaultdict(list)
        for trip in sorted(self.trips, key=lambda t: (t.vehicle, t.start_s)):
            result[trip.vehicle].append(trip)
        return dict(result)

    def summary(self) -> dict:
        return {
            "method": self.method,
            "seconds": round(self.seconds, 3),
            "km": round(self.km, 1),
            "longest_wait_min": round(self.longest_wait_s / 60, 1),
            "served": self.served,
            "trips": len(self.trips),
            "vehicles_used": len({t.vehicle for t in self.trips}),
            "no_destination": len(self.no_destination),
            "unplanned": len(self.unplanned),
            "appended": self.appended,
        }


# --- destination choice ----------------------------------------------------------------------------


def priority_order(transfers: Sequence[PendingTransfer]) -> list[PendingTransfer]:
    """Severity first (critical, severe, mild), then who has waited longest."""
    return sorted(transfers, key=lambda t: (SEVERITY_RANK.get(t.severity, 2), t.waiting_since_s, t.id))


def choose_destinations(
    transfers: Sequence[PendingTransfer], destinations: Sequence[Destination], travel: TravelTimes
) -> tuple[dict[int, str], list[int]]:
    """Each transfer's facility: the first of its preferred kinds (:func:`preferred_kinds`; a
    placement decided for the person first) with a free bed that takes its category, the nearest
    of that kind; in priority order, each assignment taking one of the facility's free beds, so a
    facility filling up sends later people elsewhere. Returns (assignments, no destination)."""
    if not transfers:
        return {}, []
    ordered = priority_order(transfers)
    if not destinations:
        return {}, [t.id for t in ordered]
    km, _s = travel.matrix(
        np.array([t.lat for t in ordered]),
        np.array([t.lon for t in ordered]),
        np.array([d.lat for d in destinations]),
        np.array([d.lon for d in destinations]),
    )
    free = np.array([d.beds_free for d in destinations], dtype=np.int64)
    kinds = np.array([d.kind for d in destinations])
    accepts = {c: np.array([d.accepts(c) for d in destinations]) for c in {t.category for t in ordered}}
    assignments: dict[int, str] = {}
    missing: list[int] = []
    for row, t in enumerate(ordered):
        tiers = preferred_kinds(t.category, t.severity)
        if t.preferred_kind and t.preferred_kind in tiers:
            tiers = (t.preferred_kind, *[k for k in tiers if k != t.preferred_kind])
        chosen = -1
        for kind in tiers:
            ok = accepts[t.category] & (kinds == kind) & (free > 0)
            if ok.any():
                chosen = int(np.argmin(np.where(ok, km[row], np.inf)))
                break
        if chosen < 0:
            missing.append(t.id)
            continue
        free[chosen] -= 1
        assignments[t.id] = destinations[chosen].code
    return assignments, missing


# --- timelines: every planner's trips are timed the same way ----------------------------------------


class _Clock:
    """Where each vehicle is and when it is free, as trips are appended."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.position = {v.code: (v.lat, v.lon) for v in problem.vehicles}
        self.free_s = {v.code: v.available_s for v in problem.vehicles}

    def add(self, vehicle: str, category: str, destination: str, ids: list[int]) -> Trip:
        p = self.problem
        dest = p.destination_by_code[destination]
        t = start = self.free_s[vehicle]
        pos, km, pickups = self.position[vehicle], 0.0, []
        for tid in ids:
            person = p.transfer_by_id[tid]
            leg_km, leg_s = p.leg(pos, (person.lat, person.lon))
            km, t = km + leg_km, t + leg_s
            pickups.append(math.ceil(t))
            t += PICKUP_SECONDS
            pos = (person.lat, person.lon)
        leg_km, leg_s = p.leg(pos, (dest.lat, dest.lon))
        km, t = km + leg_km, t + leg_s
        arrive = math.ceil(t)
        disinfect = category in DISINFECT_AFTER
        free = arrive + HANDOVER_SECONDS + (DISINFECT_SECONDS if disinfect else 0)
        self.position[vehicle], self.free_s[vehicle] = (dest.lat, dest.lon), free
        return Trip(vehicle, category, destination, list(ids), start, pickups, arrive, free, km, disinfect)


# --- greedy baseline -------------------------------------------------------------------------------


def _greedy_trips(problem: Problem, assignments: dict[int, str], ids: Iterable[int], clock: _Clock) -> list[Trip]:
    """One person per trip, in priority order, each with the compatible vehicle that can be at the
    door first (nearest free vehicle)."""
    by_id = problem.transfer_by_id
    vehicles = [v for v in problem.vehicles if not v.needs_disinfection]
    trips: list[Trip] = []
    for person in priority_order([by_id[i] for i in ids if i in assignments]):
        usable = [v for v in vehicles if v.carries(person.category, person.severity)]
        if not usable:
            continue
        lat = np.array([clock.position[v.code][0] for v in usable])
        lon = np.array([clock.position[v.code][1] for v in usable])
        _km, secs = problem.travel.matrix(lat, lon, np.array([person.lat]), np.array([person.lon]))
        at_door = np.array([clock.free_s[v.code] for v in usable]) + secs[:, 0]
        vehicle = usable[int(np.argmin(at_door))]
        trips.append(clock.add(vehicle.code, person.category, assignments[person.id], [person.id]))
    return trips


Chosen = tuple[dict[int, str], list[int]]  # (transfer id → destination code, without a destination)


def _chosen(problem: Problem, chosen: Chosen | None) -> Chosen:
    if chosen is not None:
        return chosen
    return choose_destinations(problem.transfers, problem.destinations, problem.travel)


def plan_greedy(problem: Problem, chosen: Chosen | None = None) -> Plan:
    """The baseline: nearest free bed (:func:`choose_destinations`), nearest available vehicle, one
    person per ride."""
    started = time.perf_counter()
    assignments, missing = _chosen(problem, chosen)
    clock = _Clock(problem)
    trips = _greedy_trips(problem, assignments, assignments, clock)
    plan = Plan("greedy", problem, assignments, trips, no_destination=missing)
    plan.unplanned = sorted(set(assignments) - {i for t in trips for i in t.transfer_ids})
    plan.seconds = plan.solver_seconds = time.perf_counter() - started
    return plan


# --- groups: the formulation both solvers share ----------------------------------------------------


@dataclass
class Group:
    """People of one category going to one destination (and, for confirmed cases, needing an
    ambulance or not): what one trip may carry together."""

    category: str
    destination: Destination
    people: list[PendingTransfer]
    alone: bool

    @property
    def disinfect(self) -> bool:
        return self.category in DISINFECT_AFTER


@dataclass
class Fleet:
    """The vehicles a group may use, where and when each is next free (from the plan so far)."""

    vehicles: list[VehicleState]
    lat: np.ndarray
    lon: np.ndarray
    free_s: np.ndarray

    def seats(self, alone: bool) -> list[int]:
        return [1 if alone else max(v.seats, 1) for v in self.vehicles]


# A group solver: (problem, group, fleet, seconds) -> per vehicle code, its trips (person indices).
GroupSolver = Callable[[Problem, Group, Fleet, float], dict[str, list[list[int]]]]


def _groups(problem: Problem, assignments: dict[int, str]) -> list[Group]:
    """Transfers grouped by (category, destination, ambulance needed), most urgent group first."""
    buckets: dict[tuple[str, str, bool], list[PendingTransfer]] = defaultdict(list)
    for person in priority_order([problem.transfer_by_id[i] for i in assignments]):
        urgent = person.severity in ("severe", "critical")
        buckets[(person.category, assignments[person.id], urgent)].append(person)
    groups = [
        Group(cat, problem.destination_by_code[code], people, cat in problem.params.ride_alone)
        for (cat, code, _urgent), people in buckets.items()
    ]
    return sorted(groups, key=lambda g: (SEVERITY_RANK.get(g.people[0].severity, 2), g.people[0].waiting_since_s))


def _matrices(problem: Problem, group: Group, fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    """Kilometres and seconds over the group's locations: vehicle positions, the destination, people."""
    lat = np.concatenate([fleet.lat, [group.destination.lat], [p.lat for p in group.people]])
    lon = np.concatenate([fleet.lon, [group.destination.lon], [p.lon for p in group.people]])
    return problem.travel.matrix(lat, lon, lat, lon)


def _time_windows(problem: Problem, group: Group, fleet: Fleet, secs: np.ndarray) -> np.ndarray:
    """Latest pick-up: the maximum wait, or for someone already past it the earliest any vehicle
    of the fleet could be there plus LATE_GRACE_SECONDS."""
    k = len(fleet.vehicles)
    deadline = np.array([p.waiting_since_s + problem.params.max_wait_s for p in group.people], dtype=float)
    earliest = (fleet.free_s[:, None] + secs[:k, k + 1 :]).min(axis=0)
    return np.maximum(deadline, earliest + LATE_GRACE_SECONDS).astype(np.int64)


def _plan_by_groups(
    problem: Problem, method: str, solve_group: GroupSolver, seconds: float | None, chosen: Chosen | None
) -> Plan:
    """Destinations first, then each group in turn handed to ``solve_group`` with the fleet as the
    plan so far leaves it; the solver's trips are checked and timed; whoever is left out is added
    greedily at the end."""
    started = time.perf_counter()
    budget = problem.params.seconds if seconds is None else seconds
    assignments, missing = _chosen(problem, chosen)
    clock = _Clock(problem)
    trips: list[Trip] = []
    groups = _groups(problem, assignments)
    remaining_people = sum(len(g.people) for g in groups)
    solver_seconds = 0.0
    for group in groups:
        vehicles = [
            v
            for v in problem.vehicles
            if not v.needs_disinfection and all(v.carries(p.category, p.severity) for p in group.people)
        ]
        share = max(budget - (time.perf_counter() - started), 0.0) * len(group.people) / max(remaining_people, 1)
        remaining_people -= len(group.people)
        if not vehicles:
            continue
        fleet = Fleet(
            vehicles,
            np.array([clock.position[v.code][0] for v in vehicles]),
            np.array([clock.position[v.code][1] for v in vehicles]),
            np.array([clock.free_s[v.code] for v in vehicles], dtype=np.int64),
        )
        solve_started = time.perf_counter()
        routes = solve_group(problem, group, fleet, max(share, 0.02))
        solver_seconds += time.perf_counter() - solve_started
        seats = dict(zip([v.code for v in vehicles], fleet.seats(group.alone), strict=True))
        for code, vehicle_trips in routes.items():
            for trip in vehicle_trips:
                if trip and len(trip) <= seats[code]:  # a solver overfilling a vehicle: left out, added later
                    ids = [group.people[i].id for i in trip]
                    trips.append(clock.add(code, group.category, group.destination.code, ids))
    served = {i for t in trips for i in t.transfer_ids}
    extra = _greedy_trips(problem, assignments, [i for i in assignments if i not in served], clock)
    trips.extend(extra)
    plan = Plan(method, problem, assignments, trips, no_destination=missing, appended=len(extra))
    plan.unplanned = sorted(set(assignments) - served - {i for t in extra for i in t.transfer_ids})
    plan.solver_seconds = solver_seconds
    plan.seconds = time.perf_counter() - started
    return plan


# --- PyVRP -----------------------------------------------------------------------------------------


def _solve_group_pyvrp(problem: Problem, group: Group, fleet: Fleet, seconds: float) -> dict[str, list[list[int]]]:
    """One group as a capacitated VRP with time windows in PyVRP: every vehicle starts where it is
    free, ends at the destination and may return there to unload (a reload depot: several trips)."""
    import pyvrp
    from pyvrp.exceptions import PenaltyBoundWarning
    from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

    k, n = len(fleet.vehicles), len(group.people)
    km, secs = _matrices(problem, group, fleet)
    tw_late = _time_windows(problem, group, fleet, secs)
    distance = np.rint(km * 1000).astype(np.int64)
    duration = np.rint(secs).astype(np.int64)
    duration[:, k] += HANDOVER_SECONDS
    np.fill_diagonal(duration, 0)
    locations = [pyvrp.Location(0, 0) for _ in range(k + 1 + n)]
    depots = [pyvrp.Depot(j) for j in range(k)]
    depots.append(pyvrp.Depot(k, service_duration=DISINFECT_SECONDS if group.disinfect else 0))
    clients = [
        pyvrp.Client(
            k + 1 + i,
            pickup=[1],
            service_duration=PICKUP_SECONDS,
            tw_late=int(tw_late[i]),
            prize=MISS_PRIZE,
            required=False,
        )
        for i in range(n)
    ]
    vehicle_types = [
        pyvrp.VehicleType(
            1,
            capacity=[seats],
            start_depot=j,
            end_depot=k,
            tw_early=int(fleet.free_s[j]),
            reload_depots=[k],
            name=fleet.vehicles[j].code,
        )
        for j, seats in enumerate(fleet.seats(group.alone))
    ]
    data = pyvrp.ProblemData(locations, clients, depots, vehicle_types, [distance], [duration])
    stop = MultipleCriteria([MaxRuntime(seconds), NoImprovement(20_000)])
    with warnings.catch_warnings():
        # optional people whose time window no vehicle can meet make PyVRP warn about its penalties;
        # they are simply left out (and added greedily later)
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(data, stop, seed=problem.params.seed, display=False, collect_stats=False)
    routes: dict[str, list[list[int]]] = {}
    for route in result.best.routes():
        trips: list[list[int]] = [[]]
        for act in route.schedule():
            if act.is_client():
                trips[-1].append(act.idx)
            elif trips[-1]:
                trips.append([])
        routes[fleet.vehicles[route.vehicle_type()].code] = [t for t in trips if t]
    return routes


def plan_pyvrp(problem: Problem, seconds: float | None = None, chosen: Chosen | None = None) -> Plan:
    """Routes by PyVRP's iterated local search, group by group (see the module docstring)."""
    return _plan_by_groups(problem, "pyvrp", _solve_group_pyvrp, seconds, chosen)


# --- OR-Tools --------------------------------------------------------------------------------------


def _solve_group_ortools(problem: Problem, group: Group, fleet: Fleet, seconds: float) -> dict[str, list[list[int]]]:
    """One group in OR-Tools routing: starts, the destination as every vehicle's end, copies of the
    destination where a load dimension resets (several trips), guided local search."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    k, n = len(fleet.vehicles), len(group.people)
    km, secs = _matrices(problem, group, fleet)
    tw_late = _time_windows(problem, group, fleet, secs)
    seats = fleet.seats(group.alone)
    copies = n if group.alone else min(n, 2 * math.ceil(n / max(min(seats), 1)) + 2)
    # nodes: starts (k), end = destination (k), people (n), destination copies (copies)
    loc = np.array(list(range(k + 1 + n)) + [k] * copies)
    size, end, first_copy = len(loc), k, k + 1 + n
    dist = np.rint(km[np.ix_(loc, loc)] * 1000).astype(np.int64)
    service = np.zeros(size, dtype=np.int64)
    service[k + 1 : first_copy] = PICKUP_SECONDS
    service[first_copy:] = DISINFECT_SECONDS if group.disinfect else 0
    time_m = np.rint(secs[np.ix_(loc, loc)]).astype(np.int64) + service[:, None]
    time_m[:, first_copy:] += HANDOVER_SECONDS
    time_m[:, end] += HANDOVER_SECONDS
    np.fill_diagonal(time_m, 0)
    dist_l, time_l = dist.tolist(), time_m.tolist()
    max_seats = max(seats)
    demand = [0] * (k + 1) + [1] * n + [-max_seats] * copies
    manager = pywrapcp.RoutingIndexManager(size, k, list(range(k)), [end] * k)
    routing = pywrapcp.RoutingModel(manager)
    node = manager.IndexToNode
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(lambda i, j: dist_l[node(i)][node(j)]))
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(lambda i: demand[node(i)]), max_seats, seats, True, "load"
    )
    routing.AddDimension(
        routing.RegisterTransitCallback(lambda i, j: time_l[node(i)][node(j)]),
        HORIZON_SECONDS,
        2 * HORIZON_SECONDS,
        False,
        "time",
    )
    load, clock = routing.GetDimensionOrDie("load"), routing.GetDimensionOrDie("time")
    copy_indices = [manager.NodeToIndex(c) for c in range(first_copy, size)]
    for j in range(k):
        clock.CumulVar(routing.Start(j)).SetMin(int(fleet.free_s[j]))
        load.SlackVar(routing.Start(j)).SetValue(0)
        if copy_indices:
            routing.NextVar(routing.Start(j)).RemoveValues(copy_indices)  # no empty trips
    for i in range(n):
        index = manager.NodeToIndex(k + 1 + i)
        routing.AddDisjunction([index], MISS_PRIZE)
        clock.CumulVar(index).SetMax(int(tw_late[i]))
        load.SlackVar(index).SetValue(0)
    for index in copy_indices:
        routing.AddDisjunction([index], 0)
        routing.NextVar(index).RemoveValues([c for c in copy_indices if c != index])
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(int(seconds * 1000), 10))
    solution = routing.SolveWithParameters(params)
    routes: dict[str, list[list[int]]] = {}
    if solution is None:
        return routes
    for j, vehicle in enumerate(fleet.vehicles):
        trips: list[list[int]] = [[]]
        index = solution.Value(routing.NextVar(routing.Start(j)))
        while not routing.IsEnd(index):
            at = node(index)
            if k < at < first_copy:
                trips[-1].append(at - k - 1)
            elif trips[-1]:
                trips.append([])
            index = solution.Value(routing.NextVar(index))
        if any(trips):
            routes[vehicle.code] = [t for t in trips if t]
    return routes


def plan_ortools(problem: Problem, seconds: float | None = None, chosen: Chosen | None = None) -> Plan:
    """Routes by OR-Tools routing (guided local search), group by group (see the module docstring)."""
    return _plan_by_groups(problem, "ortools", _solve_group_ortools, seconds, chosen)


def plan(
    problem: Problem, method: str = DEFAULT_METHOD, seconds: float | None = None, chosen: Chosen | None = None
) -> Plan:
    """Plan with ``method`` (pyvrp, ortools or greedy); ``chosen`` destinations if already decided
    (the service reserves beds before routing)."""
    if method == "pyvrp":
        return plan_pyvrp(problem, seconds, chosen)
    if method == "ortools":
        return plan_ortools(problem, seconds, chosen)
    if method == "greedy":
        return plan_greedy(problem, chosen)
    raise ValueError(f"unknown planning method {method!r}")


# --- the rules -------------------------------------------------------------------------------------


def check_plan(plan: Plan) -> list[str]:
    """Every rule a plan must keep (issue #8 item 2), as readable violations (empty = fine):
    categories never share a vehicle on a trip; who rides alone rides alone; a vehicle that carried
    a confirmed or asymptomatic case is disinfected before its next trip (and one flagged as needing
    it is not used); seats; only categories (and severities) the vehicle may carry; the destination
    takes the category and is not given more people than free beds; nobody twice; times add up."""
    p = plan.problem
    out: list[str] = []
    seen: dict[int, int] = defaultdict(int)
    per_destination: dict[str, int] = defaultdict(int)
    for tid, code in plan.assignments.items():
        per_destination[code] += 1
        dest = p.destination_by_code.get(code)
        person = p.transfer_by_id.get(tid)
        if dest is None or person is None:
            out.append(f"transfer {tid}: unknown destination {code} or transfer")
        elif not dest.accepts(person.category):
            out.append(f"transfer {tid}: {code} does not take {person.category}")
    for code, count in per_destination.items():
        dest = p.destination_by_code.get(code)
        if dest is not None and count > dest.beds_free:
            out.append(f"{code}: {count} people for {dest.beds_free} free beds")
    for trip in plan.trips:
        vehicle = p.vehicle_by_code.get(trip.vehicle)
        people = [p.transfer_by_id[i] for i in trip.transfer_ids]
        label = f"{trip.vehicle}@{trip.start_s}"
        if vehicle is None:
            out.append(f"{label}: unknown vehicle")
            continue
        for person in people:
            seen[person.id] += 1
        categories = {person.category for person in people}
        if len(categories) > 1:
            out.append(f"{label}: categories share a vehicle: {sorted(categories)}")
        if categories and trip.category not in categories:
            out.append(f"{label}: trip category {trip.category} is not its people's")
        if len(people) > 1 and any(person.category in p.params.ride_alone for person in people):
            out.append(f"{label}: someone who rides alone shares the vehicle")
        if len(people) > vehicle.seats:
            out.append(f"{label}: {len(people)} people for {vehicle.seats} seats")
        for person in people:
            if not vehicle.carries(person.category, person.severity):
                out.append(f"{label}: may not carry {person.category}/{person.severity} (transfer {person.id})")
            if plan.assignments.get(person.id) != trip.destination:
                out.append(f"{label}: transfer {person.id} taken to {trip.destination}, not its destination")
        if vehicle.needs_disinfection:
            out.append(f"{label}: vehicle awaiting disinfection is used")
        if trip.disinfect_after != (trip.category in DISINFECT_AFTER):
            out.append(f"{label}: disinfection after the trip not planned")
        if len(trip.pickup_s) != len(people) or any(b < a for a, b in pairwise(trip.pickup_s)):
            out.append(f"{label}: pick-up times out of order")
        elif trip.pickup_s and not (trip.start_s <= trip.pickup_s[0] and trip.pickup_s[-1] <= trip.arrive_s):
            out.append(f"{label}: times do not add up")
    for code, trips in plan.trips_by_vehicle().items():
        vehicle = p.vehicle_by_code.get(code)
        if vehicle is not None and trips and trips[0].start_s < vehicle.available_s:
            out.append(f"{code}: used before it is free")
        for before, after in pairwise(trips):
            disinfect = DISINFECT_SECONDS if before.category in DISINFECT_AFTER else 0
            ready = before.arrive_s + HANDOVER_SECONDS + disinfect
            if after.start_s < ready:
                reason = "without disinfection" if before.category in DISINFECT_AFTER else "before the last ended"
                out.append(f"{code}@{after.start_s}: next trip starts {reason}")
    for tid, count in seen.items():
        if count > 1:
            out.append(f"transfer {tid}: on {count} trips")
        if tid not in plan.assignments:
            out.append(f"transfer {tid}: on a trip without a destination")
    return out
