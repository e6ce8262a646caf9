"""The client against the fake SATUSEHAT: token, renewal on 401, 429 and 5xx, refusals with their reason."""
import aiohttp
import pytest

from satusehat.client import AuthRefused, Busy, Client, Refused, outcome_reason
from satusehat.encounter import encounter
from satusehat.patient import search_params
from tests.satusehat.common import SITE, SUBJECT, VISIT
from tests.satusehat.fake_server import CLIENT_ID

ENCOUNTER = encounter(VISIT, SUBJECT, SITE)


async def test_a_token_is_asked_once_and_used(client, fake):
    fake.add_patient("P100", nik="5108014506230001")
    for _ in range(3):
        found = await client.fhir("GET", "Patient", params=search_params("5108014506230001"))
        assert found["entry"][0]["resource"]["id"] == "P100"
    assert fake.token_calls == 1


async def test_an_expired_token_is_renewed_once_and_the_call_repeated(client, fake):
    await client.fhir("POST", "Encounter", body=ENCOUNTER)
    fake.expire_tokens()
    found = await client.fhir("GET", "Encounter", params={"identifier": f"{ENCOUNTER['identifier'][0]['system']}|ilpbot-visit-12"})
    assert found["total"] == 1 and fake.token_calls == 2


async def test_wrong_credentials_are_refused_without_the_secret_in_the_error(fake, time_):
    async with aiohttp.ClientSession() as http:
        bad = Client(http, auth_url=f"{fake.url}/oauth2/v1", base_url=f"{fake.url}/fhir-r4/v1", client_id=CLIENT_ID,
                     client_secret="wrong-secret", clock=time_.clock, sleep=time_.sleep)
        with pytest.raises(AuthRefused) as refused:
            await bad.fhir("GET", "Patient", params=search_params("5108014506230001"))
    assert "wrong-secret" not in str(refused.value) and "wrong-secret" not in repr(bad)


@pytest.mark.parametrize(("status", "wait"), [(429, 2.0), (503, 60.0), (500, 60.0)])
async def test_429_and_5xx_say_how_long_to_wait(client, fake, status, wait):
    fake.fail("/fhir-r4/v1/Encounter", status)
    with pytest.raises(Busy) as busy:
        await client.fhir("POST", "Encounter", body=ENCOUNTER)
    assert (busy.value.status, busy.value.retry_after) == (status, wait)
    await client.fhir("POST", "Encounter", body=ENCOUNTER)  # the next try goes through
    assert len(fake.stored["Encounter"]) == 1


async def test_a_refusal_keeps_the_operation_outcomes_words(client, fake):
    bad = {**ENCOUNTER, "identifier": [{"system": "http://sys-ids.kemkes.go.id/encounter/999", "value": "x"}]}
    with pytest.raises(Refused) as refused:
        await client.fhir("POST", "Encounter", body=bad)
    assert refused.value.status == 400 and "identifier_system" in refused.value.reason


async def test_the_pace_holds_the_rate(client, fake, time_):
    fake.add_patient("P100", nik="5108014506230001")
    for _ in range(5):
        await client.fhir("GET", "Patient", params=search_params("5108014506230001"))
    assert client.requests == 6  # the token and five searches
    assert sum(time_.slept) == pytest.approx(5 * 60 / 300)


def test_outcome_reason():
    assert outcome_reason({"resourceType": "OperationOutcome", "issue": [
        {"diagnostics": "RuleNumber 10117"}, {"details": {"text": "organization mismatch"}}]}) == "RuleNumber 10117; organization mismatch"
    assert outcome_reason("oops") == "oops"
