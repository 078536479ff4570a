"""One JSON error shape for every failure, and the handlers that produce it."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.settings import get_settings
from core.storage import StorageError

log = logging.getLogger("hotline")


class ApiError(Exception):
    """A failure the caller can act on: HTTP status, machine code, human message, details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found(kind: str, key: object) -> ApiError:
    """The standard 404 for an unknown id."""
    return ApiError(404, "not_found", f"No {kind} with id {key!r}.")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


class ErrorInfo(BaseModel):
    """What went wrong: a machine code, a human message and, for some codes, details."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The JSON body of every error response."""

    error: ErrorInfo


_WHY = {
    400: "The request body is not valid JSON (`invalid_json`).",
    401: "No API token, or an unknown or revoked one.",
    403: "The token's role may not do this.",
    404: "No such record.",
    409: "The record's state or version forbids this, or it already exists.",
    410: "The link has expired.",
    413: "The upload or request is too large.",
    415: "The upload's type is not accepted.",
    422: "A value is missing, malformed or out of range.",
    429: "Too many requests; retry later.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries describing the error envelope for each status."""
    return {s: {"model": ErrorEnvelope, "description": _WHY[s]} for s in statuses}


# What every token-guarded API route can answer before its handler runs.
GUARDED = (400, 401, 403, 422)


def _describe_validation(exc: RequestValidationError) -> tuple[str, str, list[dict[str, Any]]]:
    errors = exc.errors()
    details = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
            "problem": e.get("msg"),
        }
        for e in errors
    ]
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "The request body is not valid JSON.", details
    parts = "; ".join(f"{d['field'] or 'body'}: {d['problem']}" for d in details)
    return "invalid_request", f"The request is not valid: {parts}", details


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception to the JSON error shape; never leak a traceback."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message, details = _describe_validation(exc)
        status = 400 if code == "invalid_json" else 422
        return JSONResponse(error_body(code, message, details), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            error_body("conflict", "The record was changed concurrently; reload it and retry."),
            status_code=409,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeoutError)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is down, restarting, unreachable, locked or out of connections: the
        # request wrote nothing (its transaction rolled back) and the same request can be
        # sent again, so this is a 503 with Retry-After, not a 500.
        retry = str(get_settings().retry_after_s)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        if isinstance(exc, PoolTimeoutError) or "locked" in str(exc).lower():
            code, message = "busy", "The database is busy; retry shortly."
        else:
            code, message = "database_unavailable", "The database cannot be reached; retry shortly."
        return JSONResponse(
            error_body(code, message), status_code=503, headers={"Retry-After": retry}
        )

    @app.exception_handler(StorageError)
    async def _storage_unavailable(request: Request, exc: StorageError) -> JSONResponse:
        # The object store holding uploads is unreachable: an outage, and the same request
        # can be sent again (an upload written before the failure is never referenced).
        log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body("storage_unavailable", "File storage cannot be reached; retry shortly."),
            status_code=503,
            headers={"Retry-After": str(get_settings().retry_after_s)},
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A number past 64 bits (SQLite raises OverflowError, PostgreSQL a DataError) or a
        # value the column cannot hold: the client's input, not our outage.
        log.info("value out of range on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body(
                "value_out_of_range",
                "A value in the request is out of range for its field (e.g. a number of 2^63 "
                "or more): send a smaller one.",
            ),
            status_code=422,
        )

    @app.exception_handler(UnicodeError)
    async def _bad_text(request: Request, exc: Exception) -> JSONResponse:
        log.info("undecodable text on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body(
                "invalid_text",
                "The request holds text that is not valid Unicode (e.g. a lone surrogate "
                "\\ud800): send UTF-8 text.",
            ),
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side; it has been logged."),
            status_code=500,
        )
