"""Razorpay's error envelope: `{"error": {code, description, source, step, reason, metadata,
field?}}` with "NA" defaults, raised anywhere in a handler and answered by the app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateways.sandbox.common.faults import Fault
from gateways.sandbox.common.http import Json


class ApiError(Exception):
    """Razorpay's error envelope, raised anywhere in a handler."""

    def __init__(
        self,
        description: str,
        *,
        status: int = 400,
        code: str = "BAD_REQUEST_ERROR",
        field: str | None = None,
        reason: str = "NA",
        source: str = "NA",
        step: str = "NA",
        metadata: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.headers = headers
        self.body: Json = {
            "code": code,
            "description": description,
            "source": source,
            "step": step,
            "reason": reason,
            "metadata": metadata or {},
        }
        if field is not None:
            self.body["field"] = field

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.body}, status_code=self.status, headers=self.headers)


def invalid(description: str, field: str | None = None) -> ApiError:
    return ApiError(
        description,
        field=field,
        reason="input_validation_failed",
        source="business",
        step="payment_initiation",
    )


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def not_found(request: Request, exc: Exception) -> Response:
    # Razorpay answers unknown routes (and wrong methods) 400, in its envelope.
    return ApiError("The requested URL was not found on the server.").response()


_FAULT_TEXT = {
    429: ("BAD_REQUEST_ERROR", "Request failed. Please try after sometime."),
    500: ("SERVER_ERROR", "The server encountered an error. The incident has been reported."),
    502: ("GATEWAY_ERROR", "The gateway encountered an error."),
    504: ("GATEWAY_ERROR", "The gateway request timed out."),
}


def fault_response(fault: Fault) -> Response:
    assert fault.status is not None
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
    if fault.html:
        return Response(
            f"<html><body><h1>{fault.status}</h1></body></html>",
            status_code=fault.status,
            media_type="text/html",
            headers=headers,
        )
    code, description = _FAULT_TEXT.get(
        fault.status,
        ("SERVER_ERROR" if fault.status >= 500 else "BAD_REQUEST_ERROR", "Injected failure."),
    )
    return ApiError(description, status=fault.status, code=code, headers=headers).response()
