from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination

from core.errors import ValidationFailed
from core.parsing import parse_int


class Pagination(PageNumberPagination):
    """`{count, next, previous, results}` with a bounded, client-chosen page size.

    ``page_size`` must be a positive integer (else 400 VALIDATION_ERROR, as the
    schema says); above ``max_page_size`` it is capped. A page past the end, or
    not a number, is 404 NOT_FOUND.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = parse_int(raw, low=1)
        if size is None and raw.isascii() and raw.isdigit() and raw.strip("0"):
            size = self.max_page_size  # a whole number too long for 64 bits: capped like any above the maximum
        if size is None:
            raise ValidationFailed({self.page_size_query_param: ["Use a whole number from 1 (at most 100 are sent)."]})
        return min(size, self.max_page_size)

    def get_page_number(self, request, paginator) -> int | str:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return raw
        if not raw.isascii() or not raw.isdigit():
            raise NotFound("Invalid page.")
        return raw

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page, default {self.page_size}; above {self.max_page_size} capped."
                )
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
