from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

SWEEP_EVERY_MINUTES = 5


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.jobs import PERIODIC, every
        from people.merge import register_person_reference
        from tasks import jobs  # noqa: F401 - registers the jobs
        from tasks.models import Task

        connect_change_logging(Task)
        register_person_reference("tasks.Task", "resident")
        if (SWEEP_EVERY_MINUTES, "tasks.sweep_overdue") not in PERIODIC:
            every(SWEEP_EVERY_MINUTES, "tasks.sweep_overdue")
