from django.contrib import admin

from tasks.models import Notification, Task, TaskEvent


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "user", "action", "from_status", "to_status", "assignee", "level", "note")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "task_type", "status", "assignee", "assigned_level", "due_at")
    list_filter = ("status", "task_type", "assigned_level")
    search_fields = ("title", "source", "dedupe_key")
    raw_id_fields = (
        "resident",
        "household",
        "subject_building",
        "subject_compound",
        "venue",
        "district",
        "street",
        "community",
        "grid",
        "compound",
        "building",
        "assignee",
        "opened_by",
    )
    inlines = [TaskEventInline]
    # issue #11: an overdue test task turns its resident's health code yellow (healthcode.rules
    # test_overdue_reasons), so the admin neither opens tasks nor changes what a task is about, its
    # deadline or its status: tasks change through the task engine, which logs each step.
    readonly_fields = ("task_type", "resident", "due_at", "status", "opened_at", "closed_at")

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at")
    raw_id_fields = ("user", "task")
