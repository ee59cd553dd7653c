"""Request checks before any view: input PostgreSQL cannot store is refused with HTTP 400 naming it."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import DataError
from django.http import HttpRequest, HttpResponse


def _refusal(request: HttpRequest, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return HttpResponse(json.dumps({"detail": message}), status=400, content_type="application/json")
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class RefuseUnstorableInput:
    """NUL characters (in the path, the query or the body, raw or as a JSON \\u0000 escape) are refused:
    PostgreSQL text cannot hold them. A value the database still refuses (DataError) is a 400 too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        body = request.body if request.method in ("POST", "PUT", "PATCH") else b""
        if "\x00" in request.path or "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
            return _refusal(request, "the address contains a NUL character")
        if b"\x00" in body or b"\\u0000" in body or b"%00" in body:
            return _refusal(request, "the request body contains a NUL character")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError):
            return _refusal(request, f"a value cannot be stored: {str(exception).splitlines()[0]}")
        return None
