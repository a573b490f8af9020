"""What the checkout may offer: method x currency routing, net-banking banks, wallets and EMI
tenures, and the input rules that go with them. Pure data and pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.gateways import MIN_AMOUNT_MINOR
from gateways.base import Gateway, MethodKind
from models.enums import PaymentMethodType

ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
VPA_RE = re.compile(r"^[A-Za-z0-9._-]{2,256}@[A-Za-z0-9]{2,64}$")
NOTES_MAX_LENGTH = 500

# Razorpay takes UPI, net banking, Indian wallets and EMI in INR only; cards in INR (and a few
# international currencies where enabled). PayPal takes the currencies it supports for this
# merchant and never INR. Order = preference; later entries are fallbacks.
ROUTES: dict[PaymentMethodType, tuple[Gateway, ...]] = {
    PaymentMethodType.CARD: (Gateway.RAZORPAY, Gateway.PAYPAL),
    PaymentMethodType.UPI: (Gateway.RAZORPAY,),
    PaymentMethodType.NETBANKING: (Gateway.RAZORPAY,),
    PaymentMethodType.WALLET: (Gateway.RAZORPAY,),
    PaymentMethodType.EMI: (Gateway.RAZORPAY,),
    PaymentMethodType.PAYPAL: (Gateway.PAYPAL,),
}

# 4-letter RBI bank codes (the IFSC prefix), `_R`/`_C` for retail/corporate portals.
NETBANKING_BANKS: dict[str, str] = {
    "HDFC": "HDFC Bank",
    "ICIC": "ICICI Bank",
    "SBIN": "State Bank of India",
    "UTIB": "Axis Bank",
    "KKBK": "Kotak Mahindra Bank",
    "YESB": "Yes Bank",
    "PUNB_R": "Punjab National Bank - Retail",
    "BARB_R": "Bank of Baroda - Retail",
    "CNRB": "Canara Bank",
    "UBIN": "Union Bank of India",
    "IBKL": "IDBI Bank",
    "IDIB": "Indian Bank",
    "IDFB": "IDFC FIRST Bank",
    "INDB": "IndusInd Bank",
    "FDRL": "Federal Bank",
    "RATN": "RBL Bank",
    "AUBL": "AU Small Finance Bank",
    "BKID": "Bank of India",
    "MAHB": "Bank of Maharashtra",
    "CBIN": "Central Bank of India",
    "IOBA": "Indian Overseas Bank",
    "UCBA": "UCO Bank",
    "PSIB": "Punjab & Sind Bank",
    "KVBL": "Karur Vysya Bank",
    "SIBL": "South Indian Bank",
    "TMBL": "Tamilnad Mercantile Bank",
    "DCBL": "DCB Bank",
    "CSBK": "CSB Bank",
    "JAKA": "Jammu & Kashmir Bank",
    "KARB": "Karnataka Bank",
}

# Wallet code (as the gateway's checkout names it) -> display name. Google Pay in India is a UPI
# app and Apple Pay a card wallet: both go through Razorpay's checkout like the others.
WALLETS: dict[str, str] = {
    "googlepay": "Google Pay",
    "applepay": "Apple Pay",
    "phonepe": "PhonePe",
    "paytm": "Paytm",
    "amazonpay": "Amazon Pay",
    "mobikwik": "MobiKwik",
    "freecharge": "Freecharge",
    "airtelmoney": "Airtel Payments Bank",
    "jiomoney": "JioMoney",
}

EMI_TENURES: tuple[int, ...] = (3, 6, 9, 12, 18, 24)
# Card EMI needs an order of at least INR 2,500 (250000 paise) on Razorpay's plans.
EMI_MIN_MINOR = 250_000

GATEWAY_MIN_MINOR = MIN_AMOUNT_MINOR


def method_kind(method: PaymentMethodType) -> MethodKind:
    return MethodKind(method.value)


@dataclass(frozen=True, slots=True)
class MethodOption:
    method: PaymentMethodType
    gateway: Gateway
    emi_tenures: tuple[int, ...] = ()
