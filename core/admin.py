"""Django admin for the shared mechanics: audit logs read-only, imports, API tokens."""

from django.contrib import admin

from core.models import ApiToken, ChangeLog, ImportBatch, ImportRejection, ReadLog


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit rows are evidence: nobody edits or deletes them through the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChangeLog)
class ChangeLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "source", "action", "model", "object_id", "batch")
    list_filter = ("action", "source", "model")
    search_fields = ("object_repr", "user__username")
    date_hierarchy = "at"


@admin.register(ReadLog)
class ReadLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "action", "model", "object_id", "path", "ip")
    list_filter = ("action", "model")
    search_fields = ("user__username", "path")
    date_hierarchy = "at"


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "kind",
        "filename",
        "user",
        "status",
        "rows",
        "inserted",
        "updated",
        "unchanged",
        "started_at",
    )
    list_filter = ("kind", "status", "source")


@admin.register(ImportRejection)
class ImportRejectionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "batch", "row_number", "reason", "column", "status", "times_seen")
    list_filter = ("kind", "reason", "status")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")
    fields = ("user", "name", "expires_at", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False  # tokens are issued with `linli issue_token`, which shows the key once
