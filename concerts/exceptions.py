from core.errors import ApplicationError


class ConcertNotFound(ApplicationError):
    code = "CONCERT_NOT_FOUND"
    http_status = 404
    default_detail = "There is no such concert."


class DateNotAvailable(ApplicationError):
    code = "DATE_NOT_AVAILABLE"
    http_status = 404
    default_detail = "That date has no bookable performance."


class SeatNotFound(ApplicationError):
    code = "SEAT_NOT_FOUND"
    http_status = 404
    default_detail = "That performance has no such seat."


class SeatUnavailable(ApplicationError):
    code = "SEAT_UNAVAILABLE"
    http_status = 409
    default_detail = "Someone else holds or has bought this seat; please pick another."


class HoldLimitReached(ApplicationError):
    code = "HOLD_LIMIT_REACHED"
    http_status = 409
    default_detail = "You already hold or own the most seats allowed for this performance."


class ReservationNotFound(ApplicationError):
    code = "RESERVATION_NOT_FOUND"
    http_status = 404
    default_detail = "You have no such reservation."


class ReservationNotHeld(ApplicationError):
    code = "RESERVATION_NOT_HELD"
    http_status = 409
    default_detail = "This reservation is not a live hold and cannot be released."


class BookingNotOpen(ApplicationError):
    """Raised with ``opens_at``: the concert's opening was moved later after passes were admitted."""

    code = "BOOKING_NOT_OPEN"
    http_status = 409
    default_detail = "Booking for this concert has not opened yet."
