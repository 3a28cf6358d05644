"""Enrolling people from a coordinator's list: CSV import, one-off adds, invite codes.

A CSV is validated row by row and imported in one transaction, so a file with one bad
row imports nothing and the coordinator gets every problem as ``file:line: message``.
Phone numbers are normalised to E.164 with ``phonenumbers``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from bot.config import Config
from bot.errors import ImportRowError, Problem
from bot.ids import IdSource
from bot.phone_check import check_valid
from bot.store.people import PersonRows
from bot.store.records import Address, Channel, Invite, Participant

COLUMNS = ("name", "phone", "telegram_id", "whatsapp", "locale", "timezone", "cohort", "tags")
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0)


def normalise_phone(raw: str, region: str) -> str:
    """E.164 (``+447700900123``) or ValueError saying what is wrong."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone '{raw}' is not a phone number ({exc})") from exc
    # "possible" (right length for the country) rather than "valid": Ofcom's drama and
    # test ranges are not "valid" yet are what teams use for trials; a number the
    # provider cannot reach comes back as 21211 and the address is marked unreachable.
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"phone '{raw}' is not a possible number for region {region}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def mask_phone(address: str) -> str:
    """``tel:+447700900123`` → ``tel:+44•••••••123``: enough to tell people apart."""
    prefix = next((p for p in ("tel:", "whatsapp:") if address.startswith(p)), None)
    if prefix is None:
        return address
    digits = address[len(prefix):]
    return f"{prefix}{digits[:3]}{'•' * max(len(digits) - 6, 0)}{digits[-3:]}"


@dataclass
class PersonSpec:
    name: str = ""
    phone: str = ""
    telegram_id: str = ""
    whatsapp: str = ""
    locale: str = ""
    timezone: str = ""
    cohort: str = ""
    tags: list[str] = field(default_factory=list)


def check_person(spec: PersonSpec, config: Config) -> tuple[list[str], list[Address], str]:
    """Problems, the addresses to create and the locale, for one person."""
    problems: list[str] = []
    addresses: list[Address] = []
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if not spec.phone and not spec.telegram_id and not spec.whatsapp:
        problems.append("needs a phone, a telegram_id or a whatsapp number")
    numbers: tuple[tuple[str, Channel, str, str], ...] = (
        (spec.phone, "sms", "tel", ""), (spec.whatsapp, "whatsapp", "whatsapp", "whatsapp: "))
    for raw, channel, prefix, label in numbers:
        if raw:  # the same number may be both a phone and a WhatsApp address
            number = raw.removeprefix("whatsapp:")
            try:
                e164 = normalise_phone(number, config.sms.default_region)
                check_valid(number, e164, config.sms.default_region)
                addresses.append(Address(f"{prefix}:{e164}", "", channel, epoch))
            except ValueError as exc:
                problems.append(f"{label}{exc}")
    if spec.telegram_id:
        if not spec.telegram_id.lstrip("-").isdigit():
            problems.append(f"telegram_id '{spec.telegram_id}' must be a number (the chat id)")
        else:
            addresses.append(Address(f"telegram:{int(spec.telegram_id)}", "", "telegram", epoch))
    locale = spec.locale or config.project.locales[0]
    if locale not in config.project.locales:
        problems.append(f"locale '{locale}' is not enabled (enabled: "
                        f"{', '.join(config.project.locales)})")
    if spec.timezone:
        try:
            ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone '{spec.timezone}' is unknown (e.g. Europe/London)")
    return problems, addresses, locale


def build_people(specs: Iterable[tuple[int, PersonSpec]], config: Config, ids: IdSource,
                 now: dt.datetime, file: str) -> PersonRows:
    """Participants and addresses for every spec, or ImportRowError with every problem."""
    problems: list[Problem] = []
    people: PersonRows = []
    seen: dict[str, int] = {}
    for line, spec in specs:
        found, addresses, locale = check_person(spec, config)
        for address in addresses:
            if address.address in seen:
                kind = address.address.split(":")[0]
                found.append(f"{kind} {address.address} also on line {seen[address.address]}")
            seen.setdefault(address.address, line)
        if found:
            problems.extend(Problem(file, line, msg) for msg in found)
            continue
        participant = Participant(
            id=ids.new("p"), created_at=now, locale=locale, timezone=spec.timezone or None,
            cohort=spec.cohort or None, tags=tuple(spec.tags), name=spec.name or None,
            imported=True, preferred_channel=_only_channel(addresses))
        for address in addresses:
            address.participant_id, address.created_at = participant.id, now
        people.append((participant, addresses))
    if problems:
        raise ImportRowError(problems)
    return people


def _only_channel(addresses: list[Address]) -> Channel | None:
    """A person reachable on one channel only prefers it; with several, nobody guesses."""
    channels = {a.channel for a in addresses}
    return channels.pop() if len(channels) == 1 else None


def read_csv(text: str, file: str) -> list[tuple[int, PersonSpec]]:
    """Rows of an import CSV with their line numbers; header must name known columns."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c.strip() not in COLUMNS]
    if not header or unknown or not ({"phone", "telegram_id", "whatsapp"} & set(header)):
        raise ImportRowError([Problem(file, 1, f"header must be {','.join(COLUMNS)} "
                                      f"(unknown: {', '.join(unknown) or 'none'})")])
    rows = []
    for row in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            raise ImportRowError([Problem(file, line, "more values than columns")])
        tags = [t.strip() for t in values.get("tags", "").split(";") if t.strip()]
        rows.append((line, PersonSpec(
            name=values.get("name", ""), phone=values.get("phone", ""),
            telegram_id=values.get("telegram_id", ""), whatsapp=values.get("whatsapp", ""),
            locale=values.get("locale", ""),
            timezone=values.get("timezone", ""), cohort=values.get("cohort", ""), tags=tags)))
    return rows


def new_invites(count: int, now: dt.datetime, cohort: str | None = None,
                participant_id: str | None = None, max_uses: int = 1) -> list[Invite]:
    return [Invite(code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(10)),
                   created_at=now, cohort=cohort, participant_id=participant_id,
                   max_uses=max_uses) for _ in range(count)]


def invite_link(bot_username: str | None, code: str) -> str:
    if bot_username:
        return f"https://t.me/{bot_username}?start={code}"
    return f"(Telegram bot not connected yet) code {code}"
