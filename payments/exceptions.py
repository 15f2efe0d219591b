from core.errors import ApplicationError


class AlreadyPaid(ApplicationError):
    code = "ALREADY_PAID"
    http_status = 409
    default_detail = "This reservation is already paid; the ticket is yours."


class HoldExpired(ApplicationError):
    code = "HOLD_EXPIRED"
    http_status = 409
    default_detail = "Your hold on this seat has lapsed and the seat was released; hold it again to pay."


class PaymentNotFound(ApplicationError):
    code = "NOT_FOUND"
    http_status = 404
    default_detail = "You have no such payment."
