"""A small HTTP client for /api/v1/ on the standard library (http.client, one kept-alive
connection), with the API's error shape turned into one exception that says what to do."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from xenpanel_cli import __version__

API_PREFIX = "/api/v1/"
USER_AGENT = f"xenpanel-cli/{__version__}"
#: Errors of the connection itself (not HTTP statuses): the request may be retried on a new one.
CONNECTION_ERRORS = (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError)


class ApiError(Exception):
    """An answer that is not a success, or no answer at all (status 0)."""

    def __init__(
        self, status: int, detail: str, code: str = "", fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.fields = fields or {}

    def message(self) -> str:
        """What the user reads: the API's detail, and each field's messages for invalid input."""
        if self.status == 401:
            head = f"token invalid or expired (401): {self.detail}"
            head += " Create a new one on the panel's Tokens page."
        elif self.status == 0:
            head = self.detail
        else:
            head = f"{self.detail} ({self.status})"
        lines = [head]
        for name, messages in self.fields.items():
            items = messages if isinstance(messages, list) else [messages]
            for text in items:
                lines.append(f"  {name}: {text}" if name != "__all__" else f"  {text}")
        return "\n".join(lines)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    data: Any = None
    raw: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def error_from(status: int, raw: bytes) -> ApiError:
    """The API's `{"detail","code"[,"fields"]}`, or a plain sentence when the body is not it."""
    try:
        body = json.loads(raw.decode() or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    if isinstance(body, dict) and "detail" in body:
        return ApiError(status, str(body["detail"]), str(body.get("code", "")), body.get("fields"))
    text = raw.decode(errors="replace").strip().splitlines()
    hint = f": {text[0][:200]}" if text and not text[0].lstrip().startswith("<") else ""
    if status >= 500:
        return ApiError(status, f"the panel failed to answer (server error){hint}", "server")
    if status == 404:
        return ApiError(status, f"not found{hint}", "not_found")
    return ApiError(status, f"HTTP {status}{hint}", "http")


class Api:
    """Requests to one panel with one token. Paths are relative to /api/v1/ ("domains/") or
    absolute ("/api/v1/jobs/…/", as `Location` and `next` give them)."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.root = (parts.path.rstrip("/") or "") + API_PREFIX
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    # --- connection ----------------------------------------------------------------------------
    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self.netloc,
                    timeout=timeout or self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self.netloc, timeout=timeout or self.timeout
                )
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def path(self, where: str, query: Mapping[str, Any] | None = None) -> str:
        if where.startswith(("http://", "https://")):
            parts = urlsplit(where)
            where = parts.path + (f"?{parts.query}" if parts.query else "")
        elif not where.startswith("/"):
            where = urljoin(self.root, where)
        if query:
            pairs = {k: v for k, v in query.items() if v is not None and v != ""}
            if pairs:
                where += ("&" if "?" in where else "?") + urlencode(pairs)
        return where

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        headers.update(extra or {})
        return headers

    # --- requests ------------------------------------------------------------------------------
    def send(
        self,
        method: str,
        where: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        retry: bool | None = None,
    ) -> Response:
        """One request; raises ApiError for a status >= 400 or a connection that failed.

        A kept-alive connection the server closed meanwhile fails on first use: idempotent
        requests (and any with `retry=True`) are sent once more on a new connection.
        """
        target = self.path(where, query)
        retry = method in ("GET", "HEAD", "OPTIONS", "DELETE") if retry is None else retry
        for attempt in (1, 2):
            conn = self.connection()
            try:
                conn.request(method, target, body=body, headers=self.headers(headers))
                reply = conn.getresponse()
                raw = reply.read()
            except CONNECTION_ERRORS as exc:
                self.close()
                if retry and attempt == 1:
                    continue
                raise ApiError(
                    0, f"cannot reach the panel at {self.base}: {exc}", "connection"
                ) from None
            except OSError as exc:  # refused, no route, DNS
                self.close()
                raise ApiError(
                    0, f"cannot reach the panel at {self.base}: {exc}", "connection"
                ) from None
            response = Response(
                reply.status, {k.lower(): v for k, v in reply.getheaders()}, raw=raw
            )
            if reply.will_close:
                self.close()
            if reply.status >= 400:
                raise error_from(reply.status, raw)
            content_type = response.header("content-type") or ""
            if raw and "json" in content_type:
                response.data = json.loads(raw.decode())
            return response
        raise AssertionError("unreachable")

    def call(self, method: str, where: str, data: Any = None, **query: Any) -> Response:
        body = None if data is None else json.dumps(data).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        return self.send(method, where, body=body, headers=headers, query=query)

    def get(self, where: str, **query: Any) -> Any:
        return self.call("GET", where, **query).data

    def post(self, where: str, data: Any = None) -> Response:
        return self.call("POST", where, {} if data is None else data)

    def each(
        self, where: str, *, limit: int | None = None, **query: Any
    ) -> Iterator[dict[str, Any]]:
        """Every row of a paginated list (following `next`), up to `limit` rows."""
        query = {"limit": min(limit or 200, 200), **query}
        page: Any = self.get(where, **query)
        count = 0
        while True:
            rows = page.get("results", []) if isinstance(page, dict) else page
            for row in rows:
                yield row
                count += 1
                if limit is not None and count >= limit:
                    return
            following = page.get("next") if isinstance(page, dict) else None
            if not following:
                return
            page = self.get(following)
