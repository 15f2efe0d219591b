"""The gated dates and seat-map answers, shared by the DRF views and the fast path
(`concerts.middleware.BookingReadMiddleware`), so both give the same bodies."""

from __future__ import annotations

from concerts import live, selectors
from core.conditional import PreparedJson, iso_datetime, prepare_json
from core.errors import ValidationFailed


def dates_body(*, concert_id: int) -> PreparedJson:
    """As DatesSerializer documents it, in plain values (the serializer cost a fifth of this
    read), made into JSON once per snapshot: every fan gets the same answer."""
    return live.bookable_dates_rendered(concert_id=concert_id, render=_dates_json)


def _dates_json(rows: list) -> PreparedJson:
    return prepare_json(
        {
            "dates": [
                {
                    "date": r.date.isoformat(),
                    "performance_id": r.performance_id,
                    "starts_at": iso_datetime(r.starts_at),
                    "available_seats": r.available,
                }
                for r in rows
            ]
        }
    )


def seat_map_body(*, concert_id: int, date: str, user_id: int) -> PreparedJson:
    """As SeatMapSerializer documents it, in plain values, made into JSON once and shared by
    every caller who holds no seat of the performance (concerts.live.seat_map_rendered)."""
    day = selectors.parse_date(date)
    if day is None:
        raise ValidationFailed({"date": ["Use a real date in the form YYYY-MM-DD."]})
    performance = live.bookable_date(concert_id=concert_id, date=day)
    return live.seat_map_rendered(
        performance_id=performance.performance_id,
        user_id=user_id,
        render=_seat_map_json,
        context=(performance.date.isoformat(), performance.performance_id),
    )


def _seat_map_json(states: list, user_id: int | None, date: str, performance_id: int) -> PreparedJson:
    return prepare_json(
        {
            "date": date,
            "performance_id": performance_id,
            "seats": [
                {
                    "number": s.number,
                    "price": s.price,
                    "grade": s.grade,
                    "status": s.status,
                    "mine": s.holder_id is not None and s.holder_id == user_id,
                }
                for s in states
            ],
            "available": [s.number for s in states if s.status == selectors.SEAT_AVAILABLE],
        }
    )
