"""Page-number pagination with a bounded page size.

`page_size` above `max_page_size` is capped (T14: a client cannot ask for a million rows); a
`page_size` that is not a positive whole number is refused with 400 rather than silently
replaced by the default, so a typo does not look like a short result.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:  # absent or empty, as an empty form field sends it
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["Give a whole number from 1 upwards."]}
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page (default {self.page_size}); values above "
                    f"{self.max_page_size} are capped to {self.max_page_size}."
                )
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
