"""PayPal's error envelope (name, message, debug_id, details[], links[]) with a
Paypal-Debug-Id header on every answer, OAuth's own error shape, and `Reply`: raised anywhere
in a handler to answer early with a prepared response."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateways.sandbox.common.faults import Fault
from gateways.sandbox.common.http import Json

_MESSAGES = {
    "INVALID_REQUEST": "Request is not well-formed, syntactically incorrect, or violates schema.",
    "AUTHENTICATION_FAILURE": "Authentication failed due to invalid authentication "
    "credentials or a missing Authorization header.",
    "NOT_AUTHORIZED": "Authorization failed due to insufficient permissions.",
    "RESOURCE_NOT_FOUND": "The specified resource does not exist.",
    "RESOURCE_CONFLICT": "The server has detected a conflict while processing this request.",
    "UNSUPPORTED_MEDIA_TYPE": "The server does not support the request payload's media type.",
    "UNPROCESSABLE_ENTITY": "The requested action could not be performed, semantically "
    "incorrect, or failed business validation.",
    "RATE_LIMIT_REACHED": "Too many requests. Blocked due to rate limiting.",
    "INTERNAL_SERVER_ERROR": "An internal server error has occurred.",
    "SERVICE_UNAVAILABLE": "Service Unavailable.",
    "VALIDATION_ERROR": "Invalid request - see details",
}
_NAME_BY_STATUS = {
    400: "INVALID_REQUEST",
    401: "AUTHENTICATION_FAILURE",
    403: "NOT_AUTHORIZED",
    404: "RESOURCE_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMIT_REACHED",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
_ISSUES_400 = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "MISSING_REQUIRED_PARAMETER",
        "INVALID_STRING_LENGTH",
        "INVALID_PARAMETER_SYNTAX",
        "MALFORMED_REQUEST_JSON",
        "INVALID_ARRAY_MAX_ITEMS",
        "INVALID_ARRAY_MIN_ITEMS",
        "INVALID_COUNTRY_CODE",
        "NOT_SUPPORTED",
        "PAYPAL_REQUEST_ID_REQUIRED",
    }
)
_DESCRIPTIONS = {
    "ORDER_NOT_APPROVED": "Payer has not yet approved the Order for payment. Please redirect "
    "the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the "
    "Create Order call or provide a valid payment_source in the request.",
    "ORDER_ALREADY_CAPTURED": "Order already captured. If 'intent=CAPTURE' only one capture "
    "per order is allowed.",
    "INVALID_CURRENCY_CODE": "Currency code is invalid or is not currently supported.",
    "DECIMAL_PRECISION": "If the currency supports decimals, only two decimal place precision "
    "is supported.",
    "CANNOT_BE_ZERO_OR_NEGATIVE": "Must be greater than zero.",
    "DUPLICATE_INVOICE_ID": "Duplicate Invoice ID detected. To avoid a potential duplicate "
    "transaction your account setting requires that Invoice Id be unique for each transaction.",
    "REFUND_AMOUNT_EXCEEDED": "The refund amount must be less than or equal to the capture "
    "amount that has not yet been refunded.",
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded.",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "Refund must be in the same currency as the capture.",
    "PENDING_CAPTURE": "Cannot initiate a refund as the capture is pending.",
    "REFUND_NOT_ALLOWED": "Full refund refused - partial refund has already been done on this "
    "payment. You cannot refund this capture.",
    "INSTRUMENT_DECLINED": "The instrument presented was either declined by the processor or "
    "bank, or it can't be used for this payment.",
    "INVALID_RESOURCE_ID": "Specified resource ID does not exist. Please check the resource "
    "ID and try again.",
    "PREVIOUS_REQUEST_IN_PROGRESS": "A previous request on this resource is currently in "
    "progress. Please wait for some time and try again.",
    "MALFORMED_REQUEST_JSON": "The request JSON is not well formed.",
}


class Reply(Exception):
    """Raised inside a handler to answer early with a prepared response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def reply(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Reply)
    return exc.response


def _debug_id() -> str:
    return secrets.token_hex(7)[:13]


def error(
    status: int,
    issue: str | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    field_: str | None = None,
    value: object = None,
    location: str = "body",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    name = name or _NAME_BY_STATUS.get(status, "INTERNAL_SERVER_ERROR")
    debug_id = _debug_id()
    body: Json = {"name": name, "message": _MESSAGES.get(name, name), "debug_id": debug_id}
    if issue is not None:
        detail: Json = {
            "issue": issue,
            "description": description or _DESCRIPTIONS.get(issue, issue),
        }
        if field_ is not None:
            detail = {
                "field": field_,
                **({"value": value} if value is not None else {}),
                "location": location,
                **detail,
            }
        body["details"] = [detail]
    body["links"] = [
        {
            "href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue or name}",
            "rel": "information_link",
            "method": "GET",
        }
    ]
    return JSONResponse(body, status, headers={"Paypal-Debug-Id": debug_id, **(headers or {})})


def oauth_error(status: int, error_: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error_, "error_description": description},
        status,
        headers={"Paypal-Debug-Id": _debug_id()},
    )


def answer(body: Json, status: int = 200) -> JSONResponse:
    """A successful answer (PayPal sends a debug id on those too)."""
    return JSONResponse(body, status, headers={"Paypal-Debug-Id": _debug_id()})


def mock_status(code: str) -> int:
    """The status PayPal-Mock-Response's `mock_application_codes` answers with."""
    if code in _ISSUES_400:
        return 400
    if code in {"INVALID_RESOURCE_ID", "RESOURCE_NOT_FOUND"}:
        return 404
    return {
        "PREVIOUS_REQUEST_IN_PROGRESS": 409,
        "RATE_LIMIT_REACHED": 429,
        "INTERNAL_SERVER_ERROR": 500,
        "SERVICE_UNAVAILABLE": 503,
    }.get(code, 422)


def fault_response(fault: Fault) -> Response:
    assert fault.status is not None
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
    return error(fault.status, headers=headers)
