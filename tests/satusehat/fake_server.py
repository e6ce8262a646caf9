"""A fake SATUSEHAT on 127.0.0.1 (aiohttp test server) that speaks the same protocol and fails loudly.

* ``POST /oauth2/v1/accesstoken?grant_type=client_credentials`` (form client_id, client_secret) -> a token;
  wrong credentials -> 401.
* ``GET /fhir-r4/v1/Patient?identifier=<nik or nik-ibu system>|<NIK>`` -> a searchset of the patients given
  to :meth:`FakeSatusehat.add_patient`.
* ``POST /fhir-r4/v1/{Encounter,Observation,Immunization}`` -> 201 with a new id; ``PUT .../{type}/{id}``
  (the body's id must be the path's) -> 200; ``GET .../{type}?identifier=<system>|<value>`` -> searchset.
  Every body is parsed by the R4B model and checked by satusehat.rules (with the fake's organization): a
  refusal is a 400 OperationOutcome. A second POST of a business identifier already stored is a 400 too
  (SATUSEHAT's duplicate): :attr:`duplicates` counts them, and tests assert there are none.
* Faults on demand: :meth:`fail` (the next N calls of a path answer a status, e.g. 429 or 503),
  :meth:`expire_tokens` (every token given so far answers 401).
* Anything else (another path, method, a missing or unknown token, a bad form) is recorded in
  :attr:`unexpected` and answered 418; the fixture fails the test when it is not empty.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from satusehat.fhir import validated
from satusehat.patient import NIK_IBU_SYSTEM, NIK_SYSTEM
from satusehat.rules import check

CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
RESOURCES = ("Encounter", "Observation", "Immunization")


def outcome(text: str, code: str = "invalid") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


class FakeSatusehat:
    def __init__(self, organization_id: str) -> None:
        self.organization_id = organization_id
        self.tokens: set[str] = set()
        self.expired: set[str] = set()
        self.token_calls = 0
        self.calls: list[tuple[str, str]] = []
        self.unexpected: list[str] = []
        self.stored: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # type -> id -> resource
        self.duplicates = 0
        self.patients: list[dict[str, Any]] = []
        self.faults: list[tuple[str, int, int]] = []  # (path prefix, status, times left)
        self._ids = itertools.count(1)

    # -- set-up by tests
    def add_patient(self, ihs: str, *, nik: str | None = None, mother_nik: str | None = None, birth_date: str = "2025-01-01") -> None:
        identifiers = [{"system": NIK_SYSTEM, "value": nik}] if nik else []
        if mother_nik:
            identifiers.append({"system": NIK_IBU_SYSTEM, "value": mother_nik})
        self.patients.append({"resourceType": "Patient", "id": ihs, "identifier": identifiers, "birthDate": birth_date})

    def fail(self, path_prefix: str, status: int, times: int = 1) -> None:
        self.faults.append((path_prefix, status, times))

    def expire_tokens(self) -> None:
        self.expired |= self.tokens

    # -- the app
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth2/v1/accesstoken", self._token)
        app.router.add_get("/fhir-r4/v1/{type}", self._search)
        app.router.add_post("/fhir-r4/v1/{type}", self._create)
        app.router.add_put("/fhir-r4/v1/{type}/{id}", self._update)
        app.router.add_route("*", "/{tail:.*}", self._other)
        return app

    def _unexpected(self, request: web.Request, why: str) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path_qs}: {why}")
        return web.json_response(outcome(f"unexpected: {why}"), status=418)

    async def _other(self, request: web.Request) -> web.Response:
        return self._unexpected(request, "no such endpoint")

    def _fault(self, request: web.Request) -> web.Response | None:
        for i, (prefix, status, times) in enumerate(self.faults):
            if request.path.startswith(prefix) and times > 0:
                self.faults[i] = (prefix, status, times - 1)
                return web.json_response(outcome("injected fault", "throttled"), status=status,
                                         headers={"Retry-After": "2"} if status == 429 else None)
        return None

    async def _token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        if request.query.get("grant_type") != "client_credentials":
            return self._unexpected(request, "grant_type is not client_credentials")
        fault = self._fault(request)
        if fault is not None:
            return fault
        form = await request.post()
        if set(form) != {"client_id", "client_secret"}:
            return self._unexpected(request, f"form fields {sorted(form)}")
        if (form["client_id"], form["client_secret"]) != (CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"fault": {"faultstring": "Invalid client credentials"}}, status=401)
        token = f"tok-{next(self._ids)}"
        self.tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": "14399", "token_type": "BearerToken",
                                  "organization_name": "fake", "issued_at": "0"})

    def _authorised(self, request: web.Request) -> web.Response | None:
        self.calls.append((request.method, request.path_qs))
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        if not header.startswith("Bearer ") or token not in self.tokens:
            return self._unexpected(request, "no valid token")
        if token in self.expired:
            return web.json_response(outcome("token expired", "login"), status=401)
        return self._fault(request)

    async def _search(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        kind = request.match_info["type"]
        system, _, value = request.query.get("identifier", "").partition("|")
        if set(request.query) != {"identifier"} or not value:
            return self._unexpected(request, "a search other than by identifier")
        if kind == "Patient":
            found = [p for p in self.patients if {"system": system, "value": value} in p["identifier"]]
        elif kind in RESOURCES:
            found = [r for r in self.stored[kind].values()
                     if any(i.get("system") == system and i.get("value") == value for i in r.get("identifier", ()))]
        else:
            return self._unexpected(request, f"search of {kind}")
        return web.json_response({"resourceType": "Bundle", "type": "searchset", "total": len(found),
                                  "entry": [{"resource": r} for r in found]})

    def _invalid(self, kind: str, body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("resourceType") != kind:
            return f"the body is not a {kind}"
        try:
            validated(body)
        except ValidationError as exc:
            return f"invalid FHIR: {str(exc).splitlines()[0]}"
        problems = check(body, self.organization_id)
        if problems:
            return "; ".join(f"{p.code} {p.params}" for p in problems)
        return None

    async def _create(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        kind = request.match_info["type"]
        if kind not in RESOURCES:
            return self._unexpected(request, f"POST of {kind}")
        body = await request.json()
        why = self._invalid(kind, body)
        if why is not None:
            return web.json_response(outcome(why), status=400)
        ident = body["identifier"][0]
        if any(i == ident for r in self.stored[kind].values() for i in r.get("identifier", ())):
            self.duplicates += 1
            return web.json_response(outcome("duplicate: the identifier exists", "duplicate"), status=400)
        rid = f"{kind[:3].lower()}-{next(self._ids)}"
        self.stored[kind][rid] = {**body, "id": rid}
        return web.json_response({**body, "id": rid}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        kind, rid = request.match_info["type"], request.match_info["id"]
        if kind not in RESOURCES or rid not in self.stored[kind]:
            return self._unexpected(request, f"PUT of an unknown {kind}/{rid}")
        body = await request.json()
        if body.get("id") != rid:
            return web.json_response(outcome("the body's id differs from the path's"), status=400)
        why = self._invalid(kind, body)
        if why is not None:
            return web.json_response(outcome(why), status=400)
        self.stored[kind][rid] = body
        return web.json_response(body)
