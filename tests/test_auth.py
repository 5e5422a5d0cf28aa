from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pm.auth import TokenVerifier, issue_token
from pm.config import Settings, load_settings
from pm.errors import Unauthenticated

from .conftest import TEST_SECRET


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: Any) -> bytes:
    pem: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def _rs_settings(tmp_path: Path, key: Any, **kw: Any) -> Settings:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(key))
    return load_settings(jwt_public_key_file=path, **kw)


def _hs(**kw: Any) -> Settings:
    return load_settings(jwt_secret=TEST_SECRET, **kw)


def test_valid_hs256_token_gives_principal() -> None:
    token = issue_token(
        TEST_SECRET, tenant_id="acme", user_id="alice", roles=["admin"], email="a@x.io", name="A"
    )
    principal = TokenVerifier(_hs()).verify(token)
    assert (principal.tenant_id, principal.user_id) == ("acme", "alice")
    assert principal.roles == frozenset({"admin"})
    assert (principal.email, principal.name) == ("a@x.io", "A")


def test_valid_rs256_token(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    token = issue_token(rsa_key, tenant_id="acme", user_id="bob", algorithm="RS256")
    assert TokenVerifier(_rs_settings(tmp_path, rsa_key)).verify(token).user_id == "bob"


def test_es256_key_from_jwks_by_kid(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k1"
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    token = issue_token(key, tenant_id="acme", user_id="eve", algorithm="ES256", kid="k1")
    verifier = TokenVerifier(load_settings(jwt_public_key_file=path))
    assert verifier.verify(token).user_id == "eve"
    unknown = issue_token(key, tenant_id="acme", user_id="eve", algorithm="ES256", kid="../k1")
    with pytest.raises(Unauthenticated, match="key id"):
        verifier.verify(unknown)


def _refused(settings: Settings, token: str, match: str | None = None) -> None:
    with pytest.raises(Unauthenticated, match=match) as caught:
        TokenVerifier(settings).verify(token)
    assert not token or token not in caught.value.message


def test_missing_token_refused() -> None:
    _refused(_hs(), "", "required")


def test_garbage_token_refused() -> None:
    _refused(_hs(), "not.a.jwt", "not valid")


def test_expired_token_refused() -> None:
    _refused(
        _hs(), issue_token(TEST_SECRET, tenant_id="a", user_id="u", ttl_seconds=-120), "expired"
    )


def test_wrong_key_refused() -> None:
    _refused(
        _hs(),
        issue_token("another-secret-of-sufficient-length-0123456789", tenant_id="a", user_id="u"),
    )


def test_alg_none_refused() -> None:
    token = jwt.encode(
        {"sub": "u", "tenant_id": "a", "exp": int(time.time()) + 60},
        None,  # type: ignore[arg-type]  # PyJWT's stubs leave out the key of alg "none"
        algorithm="none",
    )
    _refused(_hs(), token)


def test_hs_token_against_rs_key_refused(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    """The classic confusion: the public key's PEM used as an HS256 secret."""
    pem = _pem(rsa_key).decode()
    forged = jwt.api_jws.PyJWS().encode(
        json.dumps({"sub": "u", "tenant_id": "a", "exp": int(time.time()) + 60}).encode(),
        key="x" * 32,
        algorithm="HS256",
    )
    settings = _rs_settings(tmp_path, rsa_key)
    _refused(settings, forged)
    assert pem not in TokenVerifier(settings).algorithms


def test_hs_and_rs_algorithms_never_mix() -> None:
    with pytest.raises(ValueError):
        TokenVerifier(_hs(jwt_algorithms=["HS256", "RS256"]))


def test_wrong_audience_and_issuer_refused() -> None:
    settings = _hs(jwt_audience="pm", jwt_issuer="https://id.example")
    good = issue_token(
        TEST_SECRET, tenant_id="a", user_id="u", audience="pm", issuer="https://id.example"
    )
    assert TokenVerifier(settings).verify(good).user_id == "u"
    _refused(
        settings,
        issue_token(
            TEST_SECRET, tenant_id="a", user_id="u", audience="other", issuer="https://id.example"
        ),
        "audience",
    )
    _refused(
        settings,
        issue_token(
            TEST_SECRET, tenant_id="a", user_id="u", audience="pm", issuer="https://evil.example"
        ),
        "issuer",
    )
    _refused(settings, issue_token(TEST_SECRET, tenant_id="a", user_id="u"))


def test_oversized_token_refused_before_crypto() -> None:
    token = issue_token(TEST_SECRET, tenant_id="a", user_id="u", extra={"pad": "x" * 9000})
    _refused(_hs(), token, "too large")


@pytest.mark.parametrize("tenant_id", ["../x", "ACME", "a/b", "", "a" * 64, "\u0430cme"])
def test_hostile_tenant_claims_refused(tenant_id: str) -> None:
    _refused(_hs(), issue_token(TEST_SECRET, tenant_id=tenant_id, user_id="u"), "tenant_id")


def test_future_nbf_and_iat_refused() -> None:
    future = int(time.time()) + 600
    _refused(
        _hs(),
        issue_token(TEST_SECRET, tenant_id="a", user_id="u", extra={"nbf": future}),
        "not valid yet",
    )
    _refused(
        _hs(),
        issue_token(TEST_SECRET, tenant_id="a", user_id="u", extra={"iat": future}),
        "not valid yet|future",
    )


def test_missing_claims_refused() -> None:
    token = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, TEST_SECRET, algorithm="HS256")
    _refused(_hs(), token, "tenant_id")
    token = jwt.encode({"sub": "u", "tenant_id": "a"}, TEST_SECRET, algorithm="HS256")
    _refused(_hs(), token, "exp")
