"""The reserve lists of the demo city (issue #8 item 4): a city depot, one per district, one per
hospital (beds.Facility rows, when the demo made any) and a few communities, each with the standard
list at its tier's minimum levels, opening stock a month ago, a few transfers and issues since, and
at least one item below its minimum, so the board and the task inbox show a shortfall alert.

The opening rows are written set-based; the later movements go through supplies.services like a
user's would, and the daily re-check opens the restock tasks of the shortfalls the opening left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from beds.models import Facility
from geo.models import Division
from supplies.choices import DepotTier, ItemCategory, MovementKind
from supplies.models import Depot, Item, Movement, Stock
from supplies.services import do_recheck_shortfalls, do_record_movement, do_transfer

COMMUNITIES = 6
OPENING_DAYS = 30
# code, name (Chinese / English), unit, category, community-tier minimum
ITEMS = (
    ("MSK-N95", "N95口罩 / N95 respirator", "只 piece", ItemCategory.MASK, 200),
    ("MSK-SUR", "医用外科口罩 / surgical mask", "只 piece", ItemCategory.MASK, 1000),
    ("PPE-SUIT", "医用防护服 / protective suit", "套 set", ItemCategory.PROTECTIVE_SUIT, 50),
    ("PPE-GOG", "护目镜 / goggles", "副 pair", ItemCategory.EYE_PROTECTION, 30),
    ("PPE-GLV", "医用检查手套 / examination gloves", "双 pair", ItemCategory.GLOVES, 500),
    ("DIS-84", "84消毒液 / chlorine disinfectant", "瓶 500 ml bottle", ItemCategory.DISINFECTANT, 100),
    ("THM-IR", "红外额温枪 / infrared thermometer", "把 piece", ItemCategory.THERMOMETER, 10),
    ("OXY-CON", "制氧机 / oxygen concentrator", "台 unit", ItemCategory.OXYGEN, 2),
    ("TST-AG", "抗原检测试剂 / antigen test kit", "人份 test", ItemCategory.TEST_KIT, 300),
)
# a tier's minimum levels as multiples of a community's
TIER_SCALE = {DepotTier.CITY: 40, DepotTier.DISTRICT: 10, DepotTier.HOSPITAL: 5, DepotTier.COMMUNITY: 1}


def _depots(log: Callable[[str], None]) -> list[Depot]:
    city = Division.objects.filter(level="city").order_by("code").first()
    if city is None:
        log("  supplies         no city division: no reserves")
        return []
    depots = [Depot(tier=DepotTier.CITY, name=f"{city.name}市级医疗物资储备库", division=city)]
    depots += [
        Depot(tier=DepotTier.DISTRICT, name=f"{d.name}医疗物资储备库", division=d)
        for d in Division.objects.filter(level="district").order_by("code")
    ]
    depots += [
        Depot(tier=DepotTier.HOSPITAL, name=f"{f.name}物资库", facility=f)
        for f in Facility.objects.select_related("district").order_by("code")
    ]
    depots += [
        Depot(tier=DepotTier.COMMUNITY, name=f"{c.name}防疫物资点", division=c)
        for c in Division.objects.filter(level="community").order_by("code")[:COMMUNITIES]
    ]
    for depot in depots:
        depot.fill_place()
    return Depot.objects.bulk_create(depots)


def set_up(log: Callable[[str], None] = print, now: dt.datetime | None = None) -> dict:
    """Returns what it made: depots, items, stocks, movements, shortfalls and restock tasks opened.
    A second call on the same database makes nothing."""
    now = now or timezone.now()
    if Depot.objects.exists():
        log("  supplies         reserves exist already")
        return {"depots": 0}
    with transaction.atomic():
        items = {
            code: Item.objects.get_or_create(code=code, defaults={"name": name, "unit": unit, "category": cat})[0]
            for code, name, unit, cat, _minimum in ITEMS
        }
        depots = _depots(log)
        if not depots:
            return {"depots": 0}
        stocks = []
        for d, depot in enumerate(depots):
            for i, (code, _name, _unit, _cat, base) in enumerate(ITEMS):
                minimum = base * TIER_SCALE[depot.tier]
                # opening stock between 1.2× and 2.4× the minimum
                stocks.append(
                    Stock(depot=depot, item=items[code], minimum=minimum, quantity=minimum * (6 + (d + i) % 7) // 5)
                )
        # one item short from the start: the first district's antigen tests (the daily check finds it)
        short = next((s for s in stocks if s.depot.tier == DepotTier.DISTRICT and s.item.code == "TST-AG"), None)
        if short is not None:
            short.quantity = short.minimum * 2 // 5
        stocks = Stock.objects.bulk_create(stocks)
        opening = now - dt.timedelta(days=OPENING_DAYS)
        Movement.objects.bulk_create(
            Movement(
                stock=s,
                kind=MovementKind.RECEIPT,
                change=s.quantity,
                balance=s.quantity,
                at=opening,
                recorded_at=opening,
                reference="期初 opening",
                note="期初库存 / opening stock",
            )
            for s in stocks
        )
    moved = _later_movements(depots, items, now)
    checked = do_recheck_shortfalls()
    shortfalls = Stock.objects.filter(depot__in=depots, quantity__lt=F("minimum")).count()
    log(
        f"  supplies         {len(depots):>9,} depots, {len(items)} items, {len(stocks):,} stocks, "
        f"{moved} movements since, {shortfalls} below minimum"
    )
    return {
        "depots": len(depots),
        "items": len(items),
        "stocks": len(stocks),
        "movements": len(stocks) + moved,
        "shortfalls": shortfalls,
        "tasks_opened_by_check": checked["opened"],
    }


def _later_movements(depots: list[Depot], items: dict[str, Item], now: dt.datetime) -> int:
    """A fortnight of ordinary traffic, through the actions: the city sends masks down to each
    district, districts send suits to their hospitals, communities issue gloves and masks, a count
    finds a thermometer missing, and one community hands out more N95s than its minimum allows."""
    city = next(d for d in depots if d.tier == DepotTier.CITY)
    districts = [d for d in depots if d.tier == DepotTier.DISTRICT]
    hospitals = [d for d in depots if d.tier == DepotTier.HOSPITAL]
    communities = [d for d in depots if d.tier == DepotTier.COMMUNITY]
    stock = {(s.depot_id, s.item.code): s for s in Stock.objects.filter(depot__in=depots).select_related("item")}
    count = 0
    for n, district in enumerate(districts):
        do_transfer(
            city,
            district,
            items["MSK-SUR"],
            2000,
            at=now - dt.timedelta(days=14, hours=n),
            reference=f"市调拨-{n + 1:03d}",
            note="市级下拨 / city allocation",
        )
        count += 2
    for n, hospital in enumerate(hospitals):
        district = next((d for d in districts if d.district_id == hospital.district_id), None)
        if district is not None:
            do_transfer(
                district,
                hospital,
                items["PPE-SUIT"],
                100,
                at=now - dt.timedelta(days=10, hours=n),
                reference=f"区调拨-{n + 1:03d}",
            )
            count += 2
    for n, community in enumerate(communities):
        gloves = stock[(community.pk, "PPE-GLV")]
        do_record_movement(
            gloves,
            MovementKind.ISSUE,
            min(120, gloves.quantity),
            at=now - dt.timedelta(days=7, hours=n),
            reference=f"领用-{n + 1:03d}",
            note="网格员领用 / grid workers",
        )
        count += 1
    if communities:
        thermometers = stock[(communities[0].pk, "THM-IR")]
        do_record_movement(
            thermometers,
            MovementKind.ADJUSTMENT,
            max(thermometers.quantity - 1, 0),
            at=now - dt.timedelta(days=3),
            reference="盘点-001",
            note="月度盘点 / monthly count",
        )
        n95 = stock[(communities[0].pk, "MSK-N95")]
        # the shortfall alert of "Done when": below the minimum, a restock task opens at once
        do_record_movement(
            n95,
            MovementKind.ISSUE,
            n95.quantity - n95.minimum // 3,
            at=now - dt.timedelta(days=1),
            reference="领用-核酸采样",
            note="核酸采样点领用 / testing sites",
        )
        count += 2
    return count
