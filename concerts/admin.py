from django.contrib import admin

from concerts.models import Concert, Performance, Reservation, Seat


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
    inlines = [SeatInline]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    """Prices are data: edit many at once from the filtered list."""

    list_display = ("id", "performance", "number", "grade", "price")
    list_editable = ("grade", "price")
    list_filter = ("grade", "performance__concert", "performance__date")
    search_fields = ("performance__concert__title",)
    list_select_related = ("performance__concert",)
    list_per_page = 100


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "performance", "seat", "price", "status", "held_until", "created_at")
    list_filter = ("status", "performance__concert", "performance__date")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "performance__concert", "seat")
    raw_id_fields = ("user", "performance", "seat")
    readonly_fields = ("user", "performance", "seat", "price", "status", "held_until", "created_at", "updated_at")
