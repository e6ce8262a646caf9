"""``python bot.py fhir export --puskesmas ID --from D --to D --out DIR``: the period's FHIR Bundles, one
JSON file per day (``<puskesmas code>-<YYYY-MM-DD>.json``), and on standard output what was written, who
waits for a NIK and what was held back with its reason (in ``--lang``; NIKs never printed). Audited.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from care.rules_file import apply_overrides
from config import Settings, zone_of
from content.i18n import use_locale
from db.models import AuditLog, Puskesmas
from satusehat.export import build, read_period
from satusehat.facts import Site
from satusehat.problems import message
from satusehat.rules import Problem


async def export_command(db, settings: Settings, *, puskesmas: str, start: date, end: date, out: Path, lang: str = "id",
                         now: datetime | None = None) -> int:
    """Writes the bundles; 0 when done (even with resources held back), 1 for an unknown puskesmas, 2 for a
    period or a missing organization id that cannot be exported."""
    if end < start:
        print(f"fhir export: --to ({end}) is before --from ({start})")
        return 2
    if not settings.satusehat.organization_id:
        print("fhir export: set satusehat.organization_id (the organization the data belongs to) first")
        return 2
    now = now or datetime.now(UTC)
    async with db.read() as session:
        text = puskesmas.strip()
        place = await session.scalar(select(Puskesmas).where(Puskesmas.code == text))
        if place is None and text.isdigit():
            place = await session.get(Puskesmas, int(text))
        if place is None:
            print(f"no puskesmas {puskesmas!r} (give its id or code)")
            return 1
        zone = zone_of(settings, place.code, place.timezone)
        facts = await read_period(session, place.id, start, end, zone)
    schedule = apply_overrides({"je": settings.care.je, **settings.care.overrides}).immunization
    site = Site(settings.satusehat.organization_id, dict(settings.satusehat.locations))
    result = build(facts, site, schedule, now)
    out.mkdir(parents=True, exist_ok=True)
    for day, bundle in result.bundles.items():
        path = out / f"{facts.puskesmas_code}-{day.isoformat()}.json"
        path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{path}: {len(bundle.get('entry', ()))} resources")
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
    print(f"{place.name} {start} .. {end}: {counts} in {len(result.bundles)} files")
    with use_locale(lang):
        if result.waiting:
            print(f"waiting for a NIK ({len(result.waiting)} persons, not exported):")
            for pid, (code, held) in sorted(result.waiting.items()):
                person = facts.persons.get(pid)
                name = person.name if person else "?"
                print(f"  {name} (family {facts.family_codes.get(pid, '?')}, person {pid}), {held} resources: "
                      f"{message_of(code)}")
        if result.problems:
            print(f"held back ({len(result.problems)}):")
            for problem in result.problems:
                print(f"  {problem.resource} {problem.where}: {message(problem)}")
    async with db.write() as session:
        session.add(AuditLog(at=now, actor_id=None, action="fhir.exported", target_type="puskesmas", target_id=place.id,
                             detail={"by": "command line", "from": start.isoformat(), "to": end.isoformat(),
                                     **result.counts, "waiting": len(result.waiting), "held": len(result.problems)}))
    return 0


def message_of(code: str) -> str:
    """The sentence of a person's NIK problem."""
    return message(Problem(code, "Patient", ""))


async def status_command(db, *, lang: str = "id") -> int:
    """``satusehat status``: the queue's counts by resource and state, then what waits, is held or refused."""
    from satusehat.queue import reasons, status

    async with db.read() as session:
        rows = await status(session)
        why = await reasons(session)
    print(f"{'resource':<14}{'state':<10}{'count':>8}")
    for kind, state, count in rows:
        print(f"{kind:<14}{state:<10}{count:>8}")
    if not rows:
        print("(nothing queued for SATUSEHAT)")
    with use_locale(lang):
        for key, _kind, state, problem, reason in why:
            words = message(Problem(problem, "", key)) if problem and problem != "refused" else ""
            detail = reason if reason and reason != words else ""
            print(f"  {key} {state}: {'; '.join(part for part in (words, detail) if part)}")
    return 0


async def sync_command(db, settings: Settings, *, days: int = 30, now: datetime | None = None, http=None) -> int:
    """``satusehat sync``: queues what every puskesmas recorded in the last ``days`` days, then one pass
    (:func:`satusehat.jobs.run_pass`, which the bot also runs every ``satusehat.every_minutes``)."""
    import aiohttp

    from satusehat.jobs import client_of, run_pass

    if not settings.satusehat.enabled:
        print("satusehat sync: SATUSEHAT is not enabled (satusehat.enabled)")
        return 2
    now = now or datetime.now(UTC)
    own = http is None
    http = http or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    try:
        client = client_of(http, settings)
        queued, done = await run_pass(db, client, settings, now, since=now - timedelta(days=days))
    finally:
        if own:
            await http.close()
    print(f"queued: {queued['new']} new, {queued['changed']} changed")
    print("sent {sent}, waiting {waiting}, held {held}, refused {refused}".format(**done.outcomes)
          + f"; {client.requests} requests" + (f"; stopped: {done.stopped}" if done.stopped else ""))
    return 0 if done.stopped is None or done.stopped.startswith("busy") else 1


async def retry_command(db, states: list[str], *, now: datetime | None = None) -> int:
    """``satusehat retry --state refused``: those items go again at the next pass (audited)."""
    from satusehat.queue import retry

    now = now or datetime.now(UTC)
    async with db.write() as session:
        count = await retry(session, states, now)
        session.add(AuditLog(at=now, actor_id=None, action="satusehat.retry", target_type=None, target_id=None,
                             detail={"by": "command line", "states": sorted(states), "items": count}))
    print(f"{count} items will be sent again at the next pass")
    return 0
