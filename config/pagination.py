from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`{count, next, previous, results}` with a bounded, client-chosen page size."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
