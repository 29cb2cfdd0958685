"""FastAPI app factory: health, readiness, metrics, OpenAPI docs, JSON errors and a server span per request."""

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import propagate, trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from shortlist.runtime.metrics import HTTP_REQUESTS, HTTP_SECONDS

tracer = trace.get_tracer("shortlist.runtime.http")

Readiness = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else the reason it is not."""


class ApiError(Exception):
    """An error a client can act on, answered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "The request cannot be read",
    401: "No API key, or one that is not known",
    403: "The API key lacks the route's scope",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Too large",
    415: "Unsupported media type",
    422: "The request is not valid",
    500: "The server failed; the request can be retried",
    503: "A dependency is unavailable; try again",
}
#: What any route may answer besides its success; routes declare the others they answer (409, 413, 415).
COMMON_ERRORS = (400, 401, 403, 404, 422, 500, 503)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers, so clients and schema checks know their body."""
    return {status: {"model": ErrorBody, "description": _ERROR_DESCRIPTIONS[status]} for status in statuses}


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def create_app(service: str, readiness: Readiness, routers: Sequence[APIRouter] = (), **kwargs: Any) -> FastAPI:
    # FastAPI's own telemetry is off: the span below names requests by route, and its logs would carry
    # request values (CV text, candidate details) into telemetry.
    kwargs.setdefault("telemetry", {"tracing": False, "metrics": False, "logs": False})
    app = FastAPI(title=f"Shortlist {service}", version="1", **kwargs)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses=error_responses(503))
    async def readyz() -> Response:
        reason = await readiness()
        if reason is not None:
            return error_response(503, "not_ready", reason)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        return error_response(422, "invalid_request", problems or "the request is not valid")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.middleware("http")
    async def server_span(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path in ("/healthz", "/readyz", "/metrics"):
            return await call_next(request)
        started = time.perf_counter()
        response = await _traced(request, call_next)
        # The route template, never the raw path: ids in paths would make one series per application.
        route = request.scope.get("route")
        template = route.path if route is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(service, method, template, str(response.status_code)).inc()
        HTTP_SECONDS.labels(service, method, template).observe(time.perf_counter() - started)
        return response

    async def _traced(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        context = propagate.extract(dict(request.headers))
        with tracer.start_as_current_span(
            f"{request.method} {request.url.path}", context=context, kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", request.method)
            try:
                response = await call_next(request)
            except Exception:
                span.set_attribute("http.response.status_code", 500)
                return error_response(500, "internal_error", "the server failed; the request can be retried")
            route = request.scope.get("route")
            if route is not None:
                span.update_name(f"{request.method} {route.path}")
                span.set_attribute("http.route", route.path)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    for router in routers:
        app.include_router(router, responses=error_responses(*COMMON_ERRORS))
    return app
