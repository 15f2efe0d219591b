from django.contrib import admin, messages

from payments import outbox
from payments.models import OutboxEmail, Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Read-only; staff refund a ticket from the reservations list."""

    list_display = ("id", "user", "reservation", "amount", "status", "paid_at", "refunded_at", "refunded_by_staff")
    list_filter = ("status", "refunded_by_staff")
    search_fields = ("user__username", "user__email", "=reservation__id")
    list_select_related = ("user", "reservation")
    readonly_fields = [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    list_display = ("id", "key", "to", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("key", "to")
    readonly_fields = [f.name for f in OutboxEmail._meta.fields]
    actions = ["send_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send selected pending emails now")
    def send_now(self, request, queryset) -> None:
        sent = sum(outbox.outbox_send(email_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Sent {sent} email(s).", messages.SUCCESS)
