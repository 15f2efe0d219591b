"""Staff controls for the waiting room: per-concert settings, a live dashboard
(polled JSON + a small chart), pause/resume, admit N now, expire all."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from core.parsing import parse_int
from queue_app import selectors, services
from queue_app.models import ConcertQueue, QueuePass


def _concerts():
    """Every concert, through the settings row's relation (the catalogue sits above this app)."""
    return ConcertQueue._meta.get_field("concert").related_model.objects.all()


@admin.register(ConcertQueue)
class ConcertQueueAdmin(admin.ModelAdmin):
    list_display = ("concert", "paused", "batch_setting", "cap_setting", "dashboard_link")
    list_filter = ("paused",)
    search_fields = ("concert__title", "concert__artist")
    list_select_related = ("concert",)
    fields = ("concert", "paused", "admit_batch", "max_active", "prequeue_seed", "prequeue_drawn_at", "prequeue_size")
    readonly_fields = ("concert", "prequeue_seed", "prequeue_drawn_at", "prequeue_size")
    actions = ["pause", "resume"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="batch")
    def batch_setting(self, obj: ConcertQueue) -> str:
        return str(obj.admit_batch) if obj.admit_batch is not None else f"{obj.batch} (default)"

    @admin.display(description="cap")
    def cap_setting(self, obj: ConcertQueue) -> str:
        return str(obj.max_active) if obj.max_active is not None else f"{obj.cap} (default)"

    @admin.display(description="live dashboard")
    def dashboard_link(self, obj: ConcertQueue) -> str:
        return format_html('<a href="{}">Open</a>', reverse("admin:queue_dashboard", args=[obj.pk]))

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # Every concert has a waiting room; make sure each has its settings row.
        ConcertQueue.objects.bulk_create(
            [ConcertQueue(concert_id=pk) for pk in _concerts().values_list("pk", flat=True)],
            ignore_conflicts=True,
        )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        selectors.queue_config_cache_clear()

    @admin.action(description="Pause admission", permissions=["change"])
    def pause(self, request: HttpRequest, queryset) -> None:
        queryset.update(paused=True)
        selectors.queue_config_cache_clear()

    @admin.action(description="Resume admission", permissions=["change"])
    def resume(self, request: HttpRequest, queryset) -> None:
        queryset.update(paused=False)
        selectors.queue_config_cache_clear()

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:concert_id>/dashboard/", wrap(self.dashboard_view), name="queue_dashboard"),
            path("<int:concert_id>/dashboard.json", wrap(self.dashboard_json), name="queue_dashboard_json"),
            path("<int:concert_id>/control/", wrap(require_POST(self.control_view)), name="queue_control"),
            *super().get_urls(),
        ]

    def _queue(self, request: HttpRequest, concert_id: int) -> ConcertQueue:
        if not self.has_view_permission(request):  # admin_view only checked is_staff
            raise PermissionDenied
        queue, _ = ConcertQueue.objects.get_or_create(concert=get_object_or_404(_concerts(), pk=concert_id))
        return queue

    def dashboard_view(self, request: HttpRequest, concert_id: int) -> HttpResponse:
        queue = self._queue(request, concert_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Waiting room — {queue.concert.title}",
            "queue": queue,
            "opts": self.model._meta,
            "stats": selectors.queue_dashboard(concert_id=concert_id),
            "can_change": self.has_change_permission(request, queue),
        }
        return TemplateResponse(request, "admin/queue_app/dashboard.html", context)

    def dashboard_json(self, request: HttpRequest, concert_id: int) -> JsonResponse:
        self._queue(request, concert_id)
        stats = selectors.queue_dashboard(concert_id=concert_id)
        return JsonResponse(
            {
                "at": timezone.now().isoformat(),
                "waiting": stats.waiting,
                "active": stats.active,
                "cap": stats.cap,
                "batch": stats.batch,
                "paused": stats.paused,
                "admitted_last_minute": stats.admitted_last_minute,
                "idle_expired_last_minute": stats.idle_expired_last_minute,
                "last_in_line_eta_seconds": stats.last_in_line_eta_seconds,
                "series": [
                    {"at": p["at"].isoformat(), "waiting": p["waiting"], "active": p["active"]} for p in stats.series
                ],
            }
        )

    def control_view(self, request: HttpRequest, concert_id: int) -> HttpResponse:
        queue = self._queue(request, concert_id)
        if not self.has_change_permission(request, queue):
            messages.error(request, "You may not change this waiting room.")
            return HttpResponseRedirect(reverse("admin:queue_dashboard", args=[concert_id]))
        action = request.POST.get("action")
        if action in {"pause", "resume"}:
            ConcertQueue.objects.filter(pk=queue.pk).update(paused=action == "pause")
            selectors.queue_config_cache_clear()
            messages.success(request, "Admission paused." if action == "pause" else "Admission resumed.")
        elif action == "admit":
            count = max(0, min(100_000, parse_int(request.POST.get("count", "0").strip()) or 0))
            admitted = services.queue_admit_now(concert_id=concert_id, count=count)
            messages.success(request, f"Admitted {admitted} now (the cap still applies).")
        elif action == "expire_all":
            expired = services.queue_expire_all(concert_id=concert_id)
            messages.warning(request, f"Expired {expired} passes.")
        else:
            messages.error(request, "Unknown action.")
        return HttpResponseRedirect(reverse("admin:queue_dashboard", args=[concert_id]))


@admin.register(QueuePass)
class QueuePassAdmin(admin.ModelAdmin):
    """Passes kept by the database backend (with Redis they live in Redis)."""

    list_display = ("token", "concert", "user", "status", "order_key", "prequeue", "expires_at", "end_reason")
    list_filter = ("status", "prequeue", "concert")
    search_fields = ("=token", "user__username")
    list_select_related = ("concert", "user")
    readonly_fields = [f.name for f in QueuePass._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
