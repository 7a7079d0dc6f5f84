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


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at")
    raw_id_fields = ("user", "task")
