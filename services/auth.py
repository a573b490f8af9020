"""Bearer-token authentication: JWTs verified with a pinned algorithm.

HS256 with JWT_SECRET or RS256 with JWT_PUBLIC_KEY, never both and never `none`: the algorithm is
chosen by configuration, not by the token header, so a token cannot pick its own verifier.

A verified token is remembered (bounded, least recently used out) with its principal and expiry,
so a client's next request skips the signature check; the expiry is checked again on every use.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from cachetools import LRUCache

from models.enums import Role
from models.errors import Unauthenticated

DEFAULT_TTL_SECONDS = 3600
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    customer_id: str
    roles: frozenset[Role]

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


@dataclass(frozen=True, slots=True)
class TokenConfig:
    algorithm: str  # "HS256" or "RS256"
    verify_key: str
    signing_key: str | None  # None: this process can verify but not mint
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: int = 30


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    expires_at: float  # the token's `exp`


class TokenService:
    def __init__(self, config: TokenConfig, *, cache_size: int = VERIFIED_CACHE_SIZE) -> None:
        if config.algorithm not in ("HS256", "RS256"):
            raise ValueError(f"unsupported JWT algorithm {config.algorithm!r}")
        self._config = config
        self._verified: LRUCache[str, _Verified] = LRUCache(maxsize=cache_size)

    def mint(
        self, customer_id: str, *, admin: bool = False, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> str:
        """A signed token for `customer_id` (development tooling and tests)."""
        if not self._config.signing_key:
            raise RuntimeError("no signing key configured: cannot mint tokens here")
        if not customer_id or len(customer_id) > 128:
            raise ValueError("customer id must be 1-128 characters")
        now = int(time.time())
        roles = [Role.CUSTOMER.value] + ([Role.ADMIN.value] if admin else [])
        claims: dict[str, object] = {
            "sub": customer_id,
            "roles": roles,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_hex(8),
        }
        if self._config.issuer:
            claims["iss"] = self._config.issuer
        if self._config.audience:
            claims["aud"] = self._config.audience
        return jwt.encode(claims, self._config.signing_key, algorithm=self._config.algorithm)

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; `Unauthenticated` saying why otherwise."""
        verified = self._verified.get(token)
        if verified is None:
            verified = self._decode(token)
            self._verified[token] = verified
        # PyJWT's own rule, so a remembered token expires exactly when a fresh one would.
        if verified.expires_at <= time.time() - self._config.leeway_seconds:
            self._verified.pop(token, None)
            raise Unauthenticated("token has expired")
        return verified.principal

    def _decode(self, token: str) -> _Verified:
        """The signature and claims checked by PyJWT; the token's principal and expiry."""
        options = {"require": ["exp", "sub"]}
        try:
            claims = jwt.decode(
                token,
                self._config.verify_key,
                algorithms=[self._config.algorithm],
                issuer=self._config.issuer,
                audience=self._config.audience,
                leeway=self._config.leeway_seconds,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("token audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token issuer is not accepted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the required claim {exc.claim!r}") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("token signature is invalid") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("token is malformed or not acceptable") from None
        subject = claims.get("sub")
        raw_roles = claims.get("roles", [])
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("token has no subject")
        if not isinstance(raw_roles, list):
            raise Unauthenticated("token roles must be a list")
        roles = frozenset(Role(role) for role in raw_roles if role in Role._value2member_map_)
        if not roles:
            raise Unauthenticated("token grants no known role")
        principal = Principal(customer_id=subject, roles=roles)
        return _Verified(principal=principal, expires_at=float(claims["exp"]))

    def from_authorization_header(self, header: str | None) -> Principal:
        if not header:
            raise Unauthenticated("missing Authorization header")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return self.verify(token.strip())
