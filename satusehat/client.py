"""The SATUSEHAT HTTP client (aiohttp): OAuth2 client credentials, the FHIR calls, the pace.

* Token: a form POST of ``client_id`` and ``client_secret`` to ``{auth_url}/accesstoken?grant_type=
  client_credentials``; kept until shortly before ``expires_in``; a 401 of a FHIR call renews it once and
  repeats the call. A token the server refuses raises :class:`AuthRefused` (nothing can be sent).
* 429 and 5xx (and a connection that fails) raise :class:`Busy` with the wait the server asked for
  (``Retry-After``) or the client's: the caller stops its pass and tries again later.
* An OperationOutcome answer (4xx) raises :class:`Refused` with its diagnostics: the resource is kept
  with that reason.
* Pace: at most ``per_minute`` requests a minute (SATUSEHAT holds clients to a few hundred).

The secret and the token are never logged or put in an error.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

TOKEN_MARGIN_S = 60.0
DEFAULT_BUSY_S = 60.0


class AuthRefused(Exception):
    """The token endpoint refused the credentials (status only: the secret stays out of it)."""


class Busy(Exception):
    """The server is limiting or failing (429, 5xx, no connection): wait ``retry_after`` seconds."""

    def __init__(self, status: int, retry_after: float) -> None:
        super().__init__(f"SATUSEHAT busy ({status}), retry after {retry_after:g} s")
        self.status = status
        self.retry_after = retry_after


class Refused(Exception):
    """SATUSEHAT refused a resource: its OperationOutcome's words."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def outcome_reason(body: Any) -> str:
    """The readable part of an OperationOutcome: each issue's diagnostics (or details text, or code)."""
    if not isinstance(body, dict):
        return str(body)[:500]
    parts = []
    for issue in body.get("issue") or ():
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or issue.get("code") or ""
        if text:
            parts.append(str(text))
    return ("; ".join(parts) or body.get("resourceType", "") or "refused")[:500]


def _retry_after(response: aiohttp.ClientResponse) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", DEFAULT_BUSY_S)))
    except ValueError:
        return DEFAULT_BUSY_S


class Client:
    """One SATUSEHAT organization's connection (see the module docstring)."""

    def __init__(self, http: aiohttp.ClientSession, *, auth_url: str, base_url: str, client_id: str,
                 client_secret: str, per_minute: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._http = http
        self._auth_url = auth_url.rstrip("/")
        self._base_url = base_url.rstrip("/")
        self._credentials = {"client_id": client_id, "client_secret": client_secret}
        self._interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._token: str | None = None
        self._token_until = 0.0
        self._next_at = 0.0
        self.requests = 0  # every HTTP request made (token calls included)

    def __repr__(self) -> str:
        return f"Client({self._base_url!r})"

    async def _pace(self) -> None:
        now = self._clock()
        if now < self._next_at:
            await self._sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + self._interval
        self.requests += 1

    async def token(self) -> str:
        """The access token, renewed when it is (nearly) expired."""
        if self._token is not None and self._clock() < self._token_until:
            return self._token
        await self._pace()
        try:
            async with self._http.post(f"{self._auth_url}/accesstoken", params={"grant_type": "client_credentials"},
                                       data=self._credentials) as response:
                if response.status == 429 or response.status >= 500:
                    raise Busy(response.status, _retry_after(response))
                if response.status != 200:
                    raise AuthRefused(f"the token endpoint answered {response.status}")
                body = await response.json(content_type=None)
        except aiohttp.ClientError:
            raise Busy(0, DEFAULT_BUSY_S) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise AuthRefused("the token endpoint answered without an access token")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token, self._token_until = token, self._clock() + max(lifetime - TOKEN_MARGIN_S, 1.0)
        return token

    async def fhir(self, method: str, path: str, *, params: dict[str, str] | None = None,
                   body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A FHIR call (``path`` below the base, e.g. ``Encounter`` or ``Patient``): the answer's JSON."""
        for renewed in (False, True):
            token = await self.token()
            await self._pace()
            try:
                async with self._http.request(method, f"{self._base_url}/{path}", params=params, json=body,
                                              headers={"Authorization": f"Bearer {token}"}) as response:
                    if response.status == 401 and not renewed:
                        self._token = None
                        continue
                    if response.status == 429 or response.status >= 500:
                        raise Busy(response.status, _retry_after(response))
                    try:
                        answer = await response.json(content_type=None)
                    except ValueError:
                        answer = {"issue": [{"diagnostics": f"not JSON ({response.status})"}]}
                    if response.status == 401:
                        raise AuthRefused("the token was refused twice")
                    if response.status >= 400:
                        raise Refused(response.status, outcome_reason(answer))
                    return answer if isinstance(answer, dict) else {}
            except aiohttp.ClientError:
                raise Busy(0, DEFAULT_BUSY_S) from None
        raise AuthRefused("the token was refused twice")  # pragma: no cover (the loop returns or raises)
