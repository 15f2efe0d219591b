"""Admin of reservations (release holds, refund tickets), payments and the email outbox."""

from django.contrib import admin, messages

from concerts import services as concert_services
from concerts.models import Reservation
from payments import outbox, services
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

    @admin.action(description="Send selected pending emails now", permissions=["change"])
    def send_now(self, request, queryset) -> None:
        sent = sum(outbox.outbox_send(email_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Sent {sent} email(s).", messages.SUCCESS)


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "performance", "seat", "price", "status", "held_until", "created_at")
    list_filter = ("status", "performance__concert", "performance__date")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "performance__concert", "seat")
    raw_id_fields = ("user", "performance", "seat")
    readonly_fields = ("user", "performance", "seat", "price", "status", "held_until", "created_at", "updated_at")
    actions = ["release_holds", "refund_tickets"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("concerts.change_reservation")

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("payments.refund_payment")

    @admin.action(description="Release selected holds (frees their seats now)", permissions=["release"])
    def release_holds(self, request, queryset) -> None:
        released = 0
        for reservation in queryset.filter(status=Reservation.Status.HELD).order_by("pk"):
            released += concert_services.hold_release_by_staff(reservation_id=reservation.pk)
        self.message_user(request, f"Released {released} hold(s).", messages.SUCCESS)

    @admin.action(description="Refund selected confirmed tickets to the fans' balances", permissions=["refund"])
    def refund_tickets(self, request, queryset) -> None:
        confirmed = queryset.filter(status=Reservation.Status.CONFIRMED).values_list("pk", flat=True)
        done, failures = services.payment_refund_by_staff(reservation_ids=confirmed)
        for reservation_id, detail in failures:
            self.message_user(request, f"Reservation {reservation_id}: {detail}", messages.WARNING)
        self.message_user(request, f"Refunded {done} ticket(s).", messages.SUCCESS)
