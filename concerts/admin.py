from django.contrib import admin
from django.utils.html import format_html, format_html_join

from concerts import selectors
from concerts.models import Concert, Performance, Seat


class PerformanceInline(admin.TabularInline):
    model = Performance
    extra = 0
    fields = ("date", "start_time")
    show_change_link = True


@admin.register(Concert)
class ConcertAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "artist", "venue", "booking_opens_at")
    search_fields = ("title", "artist", "venue")
    list_filter = ("venue",)
    inlines = [PerformanceInline]


class SeatInline(admin.TabularInline):
    model = Seat
    extra = 0
    fields = ("number", "grade", "price")


@admin.register(Performance)
class PerformanceAdmin(admin.ModelAdmin):
    list_display = ("id", "concert", "date", "start_time")
    list_filter = ("concert", "date")
    search_fields = ("concert__title", "concert__artist")
    date_hierarchy = "date"
    list_select_related = ("concert",)
    readonly_fields = ("seat_map",)
    inlines = [SeatInline]

    @admin.display(description="Seat map now")
    def seat_map(self, obj: Performance) -> str:
        if obj.pk is None:
            return "—"
        colours = {"AVAILABLE": "#1f8a4c", "HELD": "#f0b429", "SOLD": "#9aa0ac"}
        cells = format_html_join(
            "",
            '<span title="Seat {} · {} · {}" style="display:inline-block;width:26px;margin:2px;padding:3px 0;'
            'text-align:center;border-radius:4px;color:#fff;background:{}">{}</span>',
            ((s.number, s.grade, s.status, colours[s.status], s.number) for s in selectors.seat_map(performance=obj)),
        )
        return format_html('<div style="max-width:330px;line-height:1">{}</div>', cells)


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    """Prices are data: edit many at once from the filtered list."""

    list_display = ("id", "performance", "number", "grade", "price")
    list_editable = ("grade", "price")
    list_filter = ("grade", "performance__concert", "performance__date")
    search_fields = ("performance__concert__title",)
    list_select_related = ("performance__concert",)
    list_per_page = 100
