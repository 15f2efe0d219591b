"""Money is never edited by hand: wallets and ledger rows are
read-only here; charges can only be reconciled (the same service as the task)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from wallet import services
from wallet.models import Charge, LedgerEntry, Wallet


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("id", "created_at", "kind", "amount", "balance_after", "reference")
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "balance", "updated_at")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("user", "balance", "created_at", "updated_at")
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "wallet", "kind", "amount", "balance_after", "reference", "created_at")
    list_filter = ("kind",)
    search_fields = ("reference", "wallet__user__username")
    list_select_related = ("wallet__user",)


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "amount", "status_badge", "gateway_ref", "created_at", "settled_at")
    list_filter = ("status",)
    search_fields = ("user__username", "gateway_ref", "uid")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "wallet",
        "amount",
        "status",
        "uid",
        "gateway_ref",
        "decline_reason",
        "created_at",
        "settled_at",
    )
    actions = ["reconcile_pending"]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Charge) -> str:
        colours = {
            "PENDING": ("#fff3dc", "#b26b00"),
            "SUCCEEDED": ("#e3f5ea", "#1f8a4c"),
            "DECLINED": ("#fdecea", "#c0392b"),
        }
        bg, fg = colours.get(obj.status, ("#eee", "#333"))
        weight = "700" if obj.status == Charge.Status.PENDING else "400"
        return format_html(
            '<span style="background:{};color:{};font-weight:{};padding:1px 8px;border-radius:9px">{}</span>',
            bg,
            fg,
            weight,
            obj.get_status_display(),
        )

    def has_reconcile_permission(self, request) -> bool:
        # Charges are read-only here, yet settling them is a change: it needs that permission.
        return request.user.has_perm("wallet.change_charge")

    @admin.action(description="Ask the gateway about all pending charges now", permissions=["reconcile"])
    def reconcile_pending(self, request, queryset) -> None:
        report = services.charge_reconcile_pending(min_age_seconds=0)
        self.message_user(
            request,
            f"Checked {report.checked}: {report.succeeded} credited, {report.declined} declined, "
            f"{report.still_pending} still pending.",
            messages.SUCCESS,
        )
