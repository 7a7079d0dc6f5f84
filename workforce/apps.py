from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WorkforceConfig(AppConfig):
    name = "workforce"
    verbose_name = _("Staff and rotation")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.choices import StaffRole
        from core.policy import register_items
        from core.roles import add_role_permissions
        from workforce import importers  # noqa: F401 - registers workers, duty_roster, training_completions
        from workforce.courses import ensure_2020_courses
        from workforce.models import Course, GridStaffing, Leave, RotationPlan, Worker
        from workforce.policy import ITEMS, VALIDATORS

        # SupportRequest is left out on purpose: its content must not reach the change log
        for model in (Worker, Leave, GridStaffing, RotationPlan, Course):
            connect_change_logging(model)
        register_items(ITEMS, validators=VALIDATORS)
        post_migrate.connect(ensure_2020_courses, sender=self, dispatch_uid="workforce-2020-courses")
        view, plan = "workforce.view_roster", "workforce.plan_rotation"
        add_role_permissions(
            {
                StaffRole.CITY_COMMAND: (view, plan),
                StaffRole.DISTRICT: (view, plan),
                StaffRole.STREET: (view, plan),
                StaffRole.COMMUNITY_WORKER: (view, plan),
                StaffRole.GRID_WORKER: (view,),
                StaffRole.ADMINISTRATOR: (view, plan),
                StaffRole.COUNSELLOR: ("workforce.counsel",),
            }
        )
