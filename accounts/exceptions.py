from core.errors import ApplicationError


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    http_status = 400
    default_detail = "The username or password is wrong."
