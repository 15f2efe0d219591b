from core.errors import ApplicationError, ServiceUnavailable


class QueueTokenNotFound(ApplicationError):
    code = "QUEUE_TOKEN_NOT_FOUND"
    http_status = 404
    default_detail = "There is no such waiting-room pass."


class QueueTokenExpired(ApplicationError):
    code = "QUEUE_TOKEN_EXPIRED"
    http_status = 410
    default_detail = "This waiting-room pass has expired; join the line again to get a new one."


class QueueTokenNotActive(ApplicationError):
    code = "QUEUE_TOKEN_NOT_ACTIVE"
    http_status = 403
    default_detail = "You need your own active waiting-room pass for this concert; join the waiting room first."


class QueueUnavailable(ServiceUnavailable):
    default_detail = "The waiting room is briefly unavailable; please retry in a moment."
