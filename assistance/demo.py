"""Help requests on the demo city: a few days of residents' requests across every category, most
handled and rated, some open, one escort already escalated for being late, and one request from an
unregistered phone waiting for its community to verify it. Everything goes through the actions the
pages use (assistance.services), so the demo shows the real flow."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from assistance.choices import HelpCategory, HelpChannel
from assistance.models import HelpRequest
from assistance.services import Ask, do_ask, do_handle, do_rate, do_resolve
from people.models import Resident
from residents.sms import kept_in_memory
from tasks.escalation import sweep_overdue

DEMO_REQUESTS = 40
_TEXTS = {
    HelpCategory.MEDICINE: ["降压药（硝苯地平）两盒", "胰岛素笔芯一盒", "退烧药和体温计"],
    HelpCategory.GROCERIES: ["米一袋、油一桶", "蔬菜包两份", "牛奶和鸡蛋"],
    HelpCategory.ESCORT: ["透析病人需送医院", "孕妇产检需要送医", "老人胸闷需送医院"],
    HelpCategory.ELDERLY_CARE: ["独居老人需要上门看看", "帮忙做饭、打扫"],
    HelpCategory.MENTAL_HEALTH: ["隔离在家很焦虑，想找人聊聊"],
    HelpCategory.REPORT_PROBLEM: ["3栋楼道灯坏了", "小区垃圾没有及时清运"],
    HelpCategory.OTHER: ["孩子网课需要借一台平板"],
}
_FEEDBACK = {
    HelpCategory.MEDICINE: "药已送到家门口",
    HelpCategory.GROCERIES: "物资已送到",
    HelpCategory.ESCORT: "已由社区车辆送达医院",
}


def set_up(seed: int = 2020, log=print) -> int:
    """File the demo requests once (a second run keeps them). Returns how many exist. The texts
    telling generated residents their request is done stay in memory, not on the console."""
    if HelpRequest.objects.exists():
        return HelpRequest.objects.count()
    with kept_in_memory():
        return _file_requests(seed, log)


def _file_requests(seed: int, log) -> int:
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    people = list(
        Resident.objects.filter(registered=True, merged_into__isnull=True)
        .exclude(phone="")
        .exclude(building__isnull=True)
        .order_by("id")[:5000]
    )
    if not people:
        return 0
    categories = list(HelpCategory)
    now = timezone.now()
    made = []
    for n in range(DEMO_REQUESTS):
        resident = rng.choice(people)
        category = categories[n % len(categories)]
        asked_at = now - dt.timedelta(hours=rng.uniform(0.5, 10))
        item = do_ask(
            Ask(
                category=category,
                text=rng.choice(_TEXTS[category]),
                phone=resident.phone,
                resident=resident,
                phone_verified=True,
                channel=HelpChannel.PORTAL,
            ),
            now=asked_at,
        )
        made.append(item)
    for item in made[: int(len(made) * 0.7)]:
        task = item.task
        if task is None or task.assignee is None:
            continue
        do_handle(item, task.assignee)
        do_resolve(item, task.assignee, _FEEDBACK.get(item.category, "已处理"))
        if rng.random() < 0.8:
            do_rate(item, item.resident, rng.choice([5, 5, 5, 4, 4, 3, 2]))
    # one escort nobody took in time: the overdue sweep takes it up the chain
    do_ask(
        Ask(
            category=HelpCategory.ESCORT,
            text="腿脚不便的老人需要送医院复查",
            phone=people[0].phone,
            resident=people[0],
            phone_verified=True,
        ),
        now=now - dt.timedelta(hours=3),
    )
    sweep_overdue(now=now)
    # a newcomer not on the register yet: kept, and sent to the community to verify
    compound = people[-1].compound
    do_ask(
        Ask(
            category=HelpCategory.GROCERIES,
            text="刚搬来还没登记，家里没菜了",
            phone="13700000001",
            channel=HelpChannel.OPEN311,
            contact_name="新住户",
            address=f"{compound.name} {people[-1].building.name}" if compound else "",
        )
    )
    total = HelpRequest.objects.count()
    log(f"  help requests    {total:>9,} (one escort escalated, one waiting for verification)")
    return total
