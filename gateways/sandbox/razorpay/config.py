"""The sandbox's configuration, and what the Razorpay account it plays offers: currencies,
methods, net-banking banks, wallets and EMI tenures (as GET /v1/methods lists them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RazorpaySandboxConfig:
    """`clock` stamps created_at (unix seconds); `speed` divides webhook retry waits."""

    key_id: str
    key_secret: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    account_id: str = "acc_Sandbox0Paygrph"
    clock: Callable[[], float] = time.time
    speed: float = 1.0
    webhook_timeout: float = 5.0
    auto_capture: bool = True  # Razorpay accounts capture automatically unless told not to

    def __post_init__(self) -> None:
        if not self.key_id or not self.key_secret:
            raise ValueError("the sandbox needs a key_id and key_secret")
        if self.speed <= 0:
            raise ValueError("speed must be positive")


CURRENCIES = frozenset(
    {"INR", "USD", "EUR", "GBP", "SGD", "AED", "AUD", "CAD", "JPY", "KWD", "BHD", "OMR"}
)
THREE_DECIMAL = frozenset({"KWD", "BHD", "OMR"})
METHODS = frozenset({"card", "upi", "netbanking", "wallet", "emi"})
# Net-banking banks as GET /v1/methods lists them: RBI bank code (the IFSC prefix), with
# _R/_C for banks with separate retail and corporate portals.
BANK_NAMES: dict[str, str] = {
    "AIRP": "Airtel Payments Bank",
    "ALLA": "Allahabad Bank",
    "ANDB_C": "Andhra Bank - Corporate",
    "AUBL": "AU Small Finance Bank",
    "BARB_C": "Bank of Baroda - Corporate",
    "BARB_R": "Bank of Baroda - Retail",
    "BDBL": "Bandhan Bank",
    "BKDN": "Dena Bank",
    "BKID": "Bank of India",
    "CBIN": "Central Bank of India",
    "CIUB": "City Union Bank",
    "CNRB": "Canara Bank",
    "COSB": "Cosmos Co-operative Bank",
    "CSBK": "CSB Bank",
    "DBSS": "DBS Bank",
    "DCBL": "DCB Bank",
    "DEUT": "Deutsche Bank",
    "DLXB": "Dhanlaxmi Bank",
    "DLXB_C": "Dhanlaxmi Bank - Corporate",
    "ESFB": "Equitas Small Finance Bank",
    "FDRL": "Federal Bank",
    "HDFC": "HDFC Bank",
    "HSBC": "HSBC",
    "IBKL": "IDBI Bank",
    "ICIC": "ICICI Bank",
    "IDFB": "IDFC FIRST Bank",
    "IDIB": "Indian Bank",
    "INDB": "IndusInd Bank",
    "IOBA": "Indian Overseas Bank",
    "JAKA": "Jammu and Kashmir Bank",
    "JSBP": "Janata Sahakari Bank",
    "KARB": "Karnataka Bank",
    "KKBK": "Kotak Mahindra Bank",
    "KVBL": "Karur Vysya Bank",
    "LAVB_C": "Lakshmi Vilas Bank - Corporate",
    "LAVB_R": "Lakshmi Vilas Bank - Retail",
    "MAHB": "Bank of Maharashtra",
    "NKGS": "NKGSB Co-operative Bank",
    "ORBC": "Oriental Bank of Commerce",
    "PSIB": "Punjab & Sind Bank",
    "PUNB_C": "Punjab National Bank - Corporate",
    "PUNB_R": "Punjab National Bank - Retail",
    "RATN": "RBL Bank",
    "SBIN": "State Bank of India",
    "SCBL": "Standard Chartered Bank",
    "SIBL": "South Indian Bank",
    "SRCB": "Saraswat Co-operative Bank",
    "SVCB": "SVC Co-operative Bank",
    "SYNB": "Syndicate Bank",
    "TMBL": "Tamilnad Mercantile Bank",
    "TNSC": "Tamil Nadu State Co-operative Bank",
    "UBIN": "Union Bank of India",
    "UCBA": "UCO Bank",
    "UTIB": "Axis Bank",
    "VIJB": "Vijaya Bank",
    "YESB": "Yes Bank",
}
BANKS = frozenset(BANK_NAMES)
WALLETS = frozenset(
    {
        "paytm",
        "phonepe",
        "amazonpay",
        "mobikwik",
        "freecharge",
        "airtelmoney",
        "jiomoney",
        "olamoney",
        "googlepay",
        "applepay",
    }
)
EMI_DURATIONS = frozenset({3, 6, 9, 12, 18, 24})
