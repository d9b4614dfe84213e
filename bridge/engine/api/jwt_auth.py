"""JWT bearer tokens checked against an OIDC issuer's keys, as ``assay serve --auth-issuer`` does.

The issuer's key set is found through its discovery document
(``{issuer}/.well-known/openid-configuration`` -> ``jwks_uri``) and kept for
:data:`JWKS_TTL_S`. A token names its key with ``kid``; a ``kid`` that the kept set lacks
triggers one refetch (the issuer may have rotated its keys), but at most one such refetch per
``refetch_interval_s``: assay refetches for every unknown ``kid``, so a stream of forged tokens
becomes a stream of requests to the issuer. A token without ``kid`` is checked with the first
usable key of the set.

Validation follows assay's library defaults: the token's own ``alg`` (which must suit the key),
``exp`` required with 60 s leeway, ``iss`` equal to the configured issuer, ``aud`` only when an
audience is configured, ``nbf`` and ``iat`` not checked. Failures carry assay's texts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import jwt
import requests

logger = logging.getLogger(__name__)

#: How long a fetched key set is used before it is fetched again.
JWKS_TTL_S = 300.0
#: The least time between two refetches caused by an unknown ``kid``.
DEFAULT_REFETCH_INTERVAL_S = 30.0
#: Timeout of each request to the issuer.
FETCH_TIMEOUT_S = 10.0
#: Leeway for ``exp``, as assay's JWT library.
LEEWAY_S = 60

#: Algorithms a token may name (``none`` is never among them).
ALGORITHMS = frozenset({"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                        "PS512", "ES256", "ES384", "EdDSA"})

MISSING_MESSAGE = "Missing Authorization: Bearer <jwt>"
INVALID_MESSAGE = "Invalid JWT"
KEY_NOT_FOUND = "JWT validation failed: key not found"
NO_SUITABLE_KEY = "JWT validation failed: no suitable key"

#: PyJWT's errors as assay's JWT library names them in its messages.
_ERROR_NAMES: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "ExpiredSignature"),
    (jwt.InvalidAudienceError, "InvalidAudience"),
    (jwt.InvalidIssuerError, "InvalidIssuer"),
    (jwt.InvalidSignatureError, "InvalidSignature"),
    (jwt.InvalidAlgorithmError, "InvalidAlgorithm"),
)


class JwtRejected(Exception):
    """A token that does not authenticate; ``str()`` is the 401 message."""


class IssuerUnavailable(Exception):
    """The issuer's discovery document or key set could not be fetched."""


@dataclass
class JwtVerifier:
    """Checks bearer JWTs against ``issuer``'s published keys.

    Args:
        issuer: the issuer URL; tokens' ``iss`` must equal it exactly.
        audience: when set, tokens' ``aud`` must contain it.
        refetch_interval_s: the least time between two refetches for unknown ``kid`` values.
    """

    issuer: str
    audience: str | None = None
    refetch_interval_s: float = DEFAULT_REFETCH_INTERVAL_S
    fetches: int = 0
    _keys: list[jwt.PyJWK] = field(default_factory=list, repr=False)
    _fetched_at: float | None = field(default=None, repr=False)
    _refetched_at: float | None = field(default=None, repr=False)
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or :class:`JwtRejected` with assay's message."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            logger.info("rejected a JWT with a bad header: %s", exc)
            raise JwtRejected(INVALID_MESSAGE) from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise JwtRejected("JWT validation failed: InvalidAlgorithm")
        kid = header.get("kid")
        key = await (self._key_for(kid) if isinstance(kid, str) else self._any_key())
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[alg], issuer=self.issuer, audience=self.audience,
                leeway=LEEWAY_S,
                options={"require": ["exp"], "verify_aud": self.audience is not None,
                         "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWTError as exc:
            raise JwtRejected(f"JWT validation failed: {_name(exc)}") from None
        return claims

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        keys = await self._current_keys()
        found = _find(keys, kid)
        if found is None and self._may_refetch():
            logger.info("JWT key %r is not in the issuer's key set; fetching it again", kid)
            self._refetched_at = time.monotonic()
            keys = await self._fetch()
            found = _find(keys, kid)
        if found is None:
            raise JwtRejected(KEY_NOT_FOUND)
        return found

    async def _any_key(self) -> jwt.PyJWK:
        keys = await self._current_keys()
        if not keys:
            raise JwtRejected(NO_SUITABLE_KEY)
        return keys[0]

    def _may_refetch(self) -> bool:
        return (self._refetched_at is None
                or time.monotonic() - self._refetched_at >= self.refetch_interval_s)

    async def _current_keys(self) -> list[jwt.PyJWK]:
        if self._fetched_at is not None and time.monotonic() - self._fetched_at < JWKS_TTL_S:
            return self._keys
        return await self._fetch()

    async def _fetch(self) -> list[jwt.PyJWK]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        started = time.monotonic()
        async with self._lock:
            if self._fetched_at is not None and self._fetched_at >= started:
                return self._keys  # another request fetched while this one waited
            try:
                keys = await anyio.to_thread.run_sync(self._download)
            except IssuerUnavailable as exc:
                logger.warning("cannot fetch the JWT keys of %s: %s", self.issuer, exc)
                raise JwtRejected(KEY_NOT_FOUND) from None
            self._keys, self._fetched_at = keys, time.monotonic()
            return keys

    def _download(self) -> list[jwt.PyJWK]:
        self.fetches += 1
        discovery = _get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(uri, str):
            raise IssuerUnavailable("OIDC discovery response missing jwks_uri")
        document = _get_json(uri)
        entries = document.get("keys") if isinstance(document, dict) else None
        keys = []
        for entry in entries if isinstance(entries, list) else []:
            try:
                keys.append(jwt.PyJWK(entry))
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue  # a key this library cannot use (unknown kty, bad fields)
        logger.debug("fetched %d keys of %s", len(keys), self.issuer)
        return keys


def _get_json(url: str) -> Any:
    try:
        resp = requests.get(url, timeout=FETCH_TIMEOUT_S)
        resp.raise_for_status()
        return resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise IssuerUnavailable(f"GET {url}: {exc}") from None


def _find(keys: list[jwt.PyJWK], kid: str) -> jwt.PyJWK | None:
    return next((k for k in keys if k.key_id == kid), None)


def _name(exc: Exception) -> str:
    for kind, name in _ERROR_NAMES:
        if isinstance(exc, kind):
            return name
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"Missing required claim: {exc.claim}"
    return "InvalidToken"
