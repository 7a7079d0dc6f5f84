"""The six topics of the 2020 online training of community workers, as Linli reads the issue's list
(issue #12 item 3: "virus and protection, emergencies, coordination and service…"): codes
CW2020-01…06. Seeded after every migrate (and after a flush), like Django's permissions, so the
catalogue is there on a new database without a fixture."""

from __future__ import annotations

COURSES = (
    ("CW2020-01", "新冠病毒与个人防护 Virus and personal protection", "virus_protection", 2),
    ("CW2020-02", "突发情况处置 Handling emergencies", "emergencies", 2),
    ("CW2020-03", "统筹协调 Coordination", "coordination", 1.5),
    ("CW2020-04", "服务居民 Serving residents", "service", 1.5),
    ("CW2020-05", "心理自我调适 Psychological self-care", "self_care", 1.5),
    ("CW2020-06", "政策与法律 Policies and law", "policy_law", 1.5),
)


def ensure_2020_courses(using: str = "default", **_signal) -> int:
    """Add the six courses a database lacks (one INSERT; an edited course is left as edited)."""
    from workforce.models import Course

    made = Course.objects.using(using).bulk_create(
        [
            Course(code=code, title=title, topic=topic, hours=hours, online=True)
            for code, title, topic, hours in COURSES
        ],
        ignore_conflicts=True,
    )
    return len(made)
