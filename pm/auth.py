"""JWT verification -> Principal. PyJWT, one algorithm family bound to the configured key.

The algorithm is never taken from the token: an HS secret accepts only HS256, a public key only
its own RS/ES algorithm, so an RS public key can't be abused as an HS secret. Tokens larger than
``max_token_bytes`` are refused before any cryptography. Every failure is ``Unauthenticated``,
whose message never contains the token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from pm.config import Settings
from pm.errors import Unauthenticated
from pm.tenancy.ids import validate_tenant_id

HS_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
REQUIRED_CLAIMS = ("exp", "sub", "tenant_id")


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    user_id: str
    roles: frozenset[str]
    email: str | None
    name: str | None
    expires_at: int  # Unix seconds


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        settings.refuse_two_signing_keys()
        self._settings = settings
        self._secret = settings.jwt_secret
        self._keys: dict[str | None, Any] = {}
        if settings.jwt_public_key_file is not None:
            self._keys = _load_public_keys(settings.jwt_public_key_file)
        self.algorithms = self._bound_algorithms(settings.jwt_algorithms)

    def _bound_algorithms(self, configured: list[str]) -> list[str]:
        family = HS_ALGORITHMS if self._secret else ASYMMETRIC_ALGORITHMS
        if not configured:
            if self._secret:
                return ["HS256"]
            return sorted({_family_of(key) for key in self._keys.values()})
        wrong = [alg for alg in configured if alg not in family]
        if wrong:
            raise ValueError(f"PM_JWT_ALGORITHMS: {', '.join(wrong)} can't be used with this key")
        return list(configured)

    def verify(self, token: str) -> Principal:
        if not token:
            raise Unauthenticated("a bearer token is required")
        if len(token.encode()) > self._settings.max_token_bytes:
            raise Unauthenticated("the token is too large")
        try:
            key = self._key_for(token)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self.algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the token lacks the {exc.claim} claim") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthenticated("the token is not valid") from None
        return _principal(claims, self._settings.jwt_leeway_seconds)

    def _key_for(self, token: str) -> Any:
        if self._secret:
            return self._secret
        kid = jwt.get_unverified_header(token).get("kid")
        if kid in self._keys:
            return self._keys[kid]
        if None in self._keys and len(self._keys) == 1:
            return self._keys[None]
        raise Unauthenticated("the token's key id is not known")


def _principal(claims: dict[str, Any], leeway: int) -> Principal:
    iat = claims.get("iat")
    if isinstance(iat, int | float) and iat > time.time() + leeway:
        raise Unauthenticated("the token was issued in the future")
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 255:
        raise Unauthenticated("the token's sub claim is not a user id")
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's roles claim must be a list of strings")
    email, name = claims.get("email"), claims.get("name")
    return Principal(
        tenant_id=validate_tenant_id(claims["tenant_id"]),
        user_id=user_id,
        roles=frozenset(roles),
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
        expires_at=int(claims["exp"]),
    )


def _family_of(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    return "ES256" if isinstance(key, ec.EllipticCurvePublicKey) else "RS256"


def _load_public_keys(path: Path) -> dict[str | None, Any]:
    """A PEM public key (one key, no kid) or a JWKS file (keys by kid)."""
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"{"):
        document = json.loads(raw)
        keys: dict[str | None, Any] = {}
        for jwk in document.get("keys", []):
            algorithm = get_default_algorithms()["ES256" if jwk.get("kty") == "EC" else "RS256"]
            keys[jwk.get("kid")] = algorithm.from_jwk(json.dumps(jwk))
        if not keys:
            raise ValueError("PM_JWT_PUBLIC_KEY_FILE: the JWKS has no keys")
        return keys
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return {None: load_pem_public_key(raw)}


def issue_token(
    key: Any,
    *,
    tenant_id: str,
    user_id: str,
    roles: Iterable[str] = (),
    ttl_seconds: int = 3600,
    algorithm: str = "HS256",
    issuer: str | None = None,
    audience: str | None = None,
    email: str | None = None,
    name: str | None = None,
    kid: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Mint a token (for `pm demo`, `pm token` and tests)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "tenant_id": tenant_id,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    for name_, value in (("iss", issuer), ("aud", audience), ("email", email), ("name", name)):
        if value is not None:
            claims[name_] = value
    claims.update(extra or {})
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)
