from core.errors import ApplicationError


class ChargeAmountOutOfRange(ApplicationError):
    code = "CHARGE_AMOUNT_OUT_OF_RANGE"
    http_status = 400
    default_detail = "The amount is outside the charge limits."


class BalanceLimitExceeded(ApplicationError):
    code = "BALANCE_LIMIT_EXCEEDED"
    http_status = 409
    default_detail = "This charge would take your balance over its limit."


class InsufficientBalance(ApplicationError):
    """Raised with ``balance``, ``required`` and ``shortfall`` (won)."""

    code = "INSUFFICIENT_BALANCE"
    http_status = 409
    default_detail = "Your balance is too low for this payment."


class GatewayDeclined(ApplicationError):
    code = "GATEWAY_DECLINED"
    http_status = 502
    default_detail = "Your card issuer declined the charge; nothing was taken from your card or added to your balance."


class ChargeNotFound(ApplicationError):
    code = "NOT_FOUND"
    http_status = 404
    default_detail = "You have no such charge."
