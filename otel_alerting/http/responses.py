"""The answer to a request, as every part of the HTTP surface builds it: JSON (or the
status page's HTML) with headers that keep it out of caches and content sniffing."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Response", "html_response", "json_response"]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


def json_response(status: int, document: object, *, head: bool = False) -> Response:
    body = json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")
    headers = (
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    )
    return Response(status, b"" if head else body, headers)


def html_response(status: int, text: str, extra: tuple[tuple[str, str], ...] = (), *, head: bool = False) -> Response:
    body = text.encode("utf-8")
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    )
    return Response(status, b"" if head else body, headers + extra)
