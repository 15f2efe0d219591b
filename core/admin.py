"""Admin of the shared tables, and the read-only base the money admins use."""

from __future__ import annotations

from django.contrib import admin

from core.models import IdempotencyRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "scope", "key", "response_status", "created_at")
    list_filter = ("scope", "response_status")
    search_fields = ("key", "user__username")
    list_select_related = ("user",)
