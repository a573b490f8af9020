"""The buyer's side: GET /checkoutnow?token=ID (an HTML page standing for PayPal's approval
page) and POST /checkoutnow?token=ID with {"action": "approve" | "cancel"}, answering
{"order_id", "status", "redirect_url"} (the order's return or cancel URL)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateways.sandbox.paypal.api import find_order, json_body
from gateways.sandbox.paypal.errors import answer, error
from gateways.sandbox.paypal.state import new_id, now, sandbox_of
from gateways.sandbox.paypal.webhooks import emit


async def checkout_page(request: Request) -> Response:
    order = sandbox_of(request).orders.get(request.query_params.get("token", ""))
    if order is None:
        return HTMLResponse("<!doctype html><title>PayPal sandbox</title>Unknown order.", 404)
    unit = order.unit
    html = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>PayPal sandbox checkout</title></head>
<body>
<h1>PayPal sandbox</h1>
<p>Order <code>{order.id}</code>: {unit["amount"]["value"]} {order.currency}
({order.status})</p>
<button id="approve">Pay now</button> <button id="cancel">Cancel</button>
<script>
async function act(action) {{
  const r = await fetch(window.location.href, {{method: "POST",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{action}})}});
  const data = await r.json();
  if (data.redirect_url) window.location.href = data.redirect_url;
  else document.body.insertAdjacentText("beforeend", JSON.stringify(data));
}}
document.getElementById("approve").onclick = () => act("approve");
document.getElementById("cancel").onclick = () => act("cancel");
</script>
</body></html>"""
    return HTMLResponse(html)


async def checkout_action(request: Request) -> Response:
    sandbox = sandbox_of(request)
    order = find_order(sandbox, request.query_params.get("token", ""))
    data = await json_body(request, required=True)
    action = data.get("action")
    if action == "cancel":
        return answer(
            {
                "order_id": order.id,
                "status": order.status,
                "redirect_url": _with_query(order.cancel_url, token=order.id),
            }
        )
    if action != "approve":
        return error(400, "INVALID_PARAMETER_VALUE", field_="/action", value=action)
    if order.status == "APPROVED" and order.payer is not None:
        payer_id = order.payer["payer_id"]
    elif order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
        payer_id = new_id(13)
        order.payer = {
            "payer_id": payer_id,
            "email_address": f"buyer-{payer_id.lower()}@example.com",
            "name": {"given_name": "Sandbox", "surname": "Buyer"},
            "address": {"country_code": "US"},
        }
        order.status = "APPROVED"
        order.update_time = now()
        base = sandbox.base_url(request)
        emit(
            sandbox,
            "CHECKOUT.ORDER.APPROVED",
            "checkout-order",
            sandbox.order_json(order, base),
            "An order has been approved by buyer",
            base,
        )
    else:
        return error(
            422,
            "ORDER_ALREADY_COMPLETED",
            description=f"Order is {order.status} and cannot be approved.",
        )
    return answer(
        {
            "order_id": order.id,
            "status": order.status,
            "redirect_url": _with_query(order.return_url, token=order.id, PayerID=payer_id),
        }
    )


def _with_query(url: str | None, **params: str) -> str | None:
    if url is None:
        return None
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
