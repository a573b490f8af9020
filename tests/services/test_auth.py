"""Bearer tokens: pinned algorithms, issuer and audience, refusal reasons."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from models.enums import Role
from models.errors import Unauthenticated
from services.auth import TokenConfig, TokenService

SECRET = "s" * 40


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(**overrides) -> TokenService:
    return TokenService(
        TokenConfig(algorithm="HS256", verify_key=SECRET, signing_key=SECRET, **overrides)
    )


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class TestMintAndVerify:
    def test_round_trip_customer(self):
        principal = hs256().verify(hs256().mint("cust-1"))
        assert principal.customer_id == "cust-1"
        assert principal.roles == frozenset({Role.CUSTOMER})
        assert not principal.is_admin

    def test_round_trip_admin(self):
        assert hs256().verify(hs256().mint("ops", admin=True)).is_admin

    def test_rs256_round_trip(self, rsa_pair):
        private, public = rsa_pair
        service = TokenService(
            TokenConfig(algorithm="RS256", verify_key=public, signing_key=private)
        )
        assert service.verify(service.mint("cust-9")).customer_id == "cust-9"

    def test_verify_only_service_cannot_mint(self, rsa_pair):
        _, public = rsa_pair
        service = TokenService(TokenConfig(algorithm="RS256", verify_key=public, signing_key=None))
        with pytest.raises(RuntimeError):
            service.mint("x")

    def test_empty_customer_id_is_refused(self):
        with pytest.raises(ValueError, match="customer id"):
            hs256().mint("")


class TestRefusals:
    def test_expired(self):
        with pytest.raises(Unauthenticated, match="expired"):
            hs256().verify(hs256().mint("c", ttl_seconds=-120))

    def test_wrong_secret(self):
        other = TokenService(
            TokenConfig(algorithm="HS256", verify_key="o" * 40, signing_key="o" * 40)
        )
        with pytest.raises(Unauthenticated, match="signature"):
            hs256().verify(other.mint("c"))

    def test_alg_none(self):
        token = jwt.encode(
            {"sub": "c", "roles": ["admin"], "exp": int(time.time()) + 60}, None, algorithm="none"
        )
        with pytest.raises(Unauthenticated):
            hs256().verify(token)

    def test_algorithm_confusion_public_key_as_hmac_secret(self, rsa_pair):
        """An RS256 verifier must not accept an HS256 token keyed with its own public key."""
        _, public = rsa_pair
        service = TokenService(TokenConfig(algorithm="RS256", verify_key=public, signing_key=None))
        claims = {"sub": "attacker", "roles": ["admin"], "exp": int(time.time()) + 60}
        signing_input = (
            _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            + "."
            + _b64(json.dumps(claims).encode())
        )
        signature = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(Unauthenticated):
            service.verify(signing_input + "." + _b64(signature))

    def test_issuer_and_audience_are_checked_when_set(self):
        strict = hs256(issuer="paygraph", audience="checkout")
        assert strict.verify(strict.mint("c")).customer_id == "c"
        with pytest.raises(Unauthenticated, match=r"issuer|audience|claim"):
            strict.verify(hs256().mint("c"))

    def test_wrong_audience(self):
        minted = hs256(issuer="paygraph", audience="other").mint("c")
        with pytest.raises(Unauthenticated, match="audience"):
            hs256(issuer="paygraph", audience="checkout").verify(minted)

    def test_unknown_roles_only(self):
        token = jwt.encode(
            {"sub": "c", "roles": ["root"], "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
        )
        with pytest.raises(Unauthenticated, match="role"):
            hs256().verify(token)

    def test_no_subject(self):
        token = jwt.encode(
            {"roles": ["customer"], "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
        )
        with pytest.raises(Unauthenticated):
            hs256().verify(token)

    @pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token"])
    def test_bad_authorization_headers(self, header):
        with pytest.raises(Unauthenticated):
            hs256().from_authorization_header(header)


class TestVerifiedCache:
    @pytest.fixture
    def decodes(self, monkeypatch) -> list[str]:
        """Every token TokenService's signature check (`_decode`) is asked about."""
        seen: list[str] = []
        original = TokenService._decode

        def spy(self: TokenService, token: str):
            seen.append(token)
            return original(self, token)

        monkeypatch.setattr(TokenService, "_decode", spy)
        return seen

    def test_a_verified_token_is_served_from_the_cache(self, decodes):
        service = hs256()
        token = service.mint("cust-1", admin=True)
        first = service.verify(token)
        again = service.verify(token)
        assert decodes == [token]
        assert again == first
        assert again.customer_id == "cust-1"
        assert again.roles == frozenset({Role.CUSTOMER, Role.ADMIN})

    def test_a_cached_token_past_its_expiry_is_refused_as_an_uncached_one(
        self, decodes, monkeypatch
    ):
        expired = hs256().mint("cust-1", ttl_seconds=-120)
        with pytest.raises(Unauthenticated) as uncached:
            hs256().verify(expired)
        service = hs256(leeway_seconds=0)
        token = service.mint("cust-1", ttl_seconds=60)
        service.verify(token)
        later = time.time() + 61
        monkeypatch.setattr(time, "time", lambda: later)
        with pytest.raises(Unauthenticated) as cached:
            service.verify(token)
        assert decodes == [expired, token]
        assert cached.value.message == uncached.value.message == "token has expired"
        assert cached.value.code == uncached.value.code

    def test_a_refused_token_is_not_remembered(self, decodes):
        service = hs256()
        forged = jwt.encode(
            {"sub": "cust-1", "roles": ["customer"], "exp": int(time.time()) + 60},
            "another-secret-of-sufficient-length-000000",
            algorithm="HS256",
        )
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                service.verify(forged)
        assert decodes == [forged, forged]

    def test_the_cache_is_bounded(self, decodes):
        service = TokenService(
            TokenConfig(algorithm="HS256", verify_key=SECRET, signing_key=SECRET), cache_size=2
        )
        first, second, third = (service.mint(f"cust-{n}") for n in range(3))
        for token in (first, second, third):
            service.verify(token)
        service.verify(third)
        service.verify(first)  # evicted by the third: checked again
        assert decodes == [first, second, third, first]
