"""The partner directory: services, provinces, languages, and the public channels through which
a person can reach each organisation.

Every channel carries the source that gives it and that source's date, exactly as the fact
dossiers give it ("date not shown" stays so). Channels the dossiers mark UNVERIFIED are not in
the directory at all. A channel is shown with its source; once a coordinator has confirmed it
with the organisation, ``confirmed`` records by whom (an organisation or role, never a person)
and on which day, and the person sees that date instead.

A coordinator marks a channel confirmed without editing YAML by hand::

    clgbt partners confirm rock website --by "CLGBT coordinators" [--on 2026-12-02]
    clgbt partners list

(``python -m knowledge.partners`` takes the same arguments.)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from knowledge.marks import by_and_date
from knowledge.yaml_loading import load_yaml

PARTNERS_FILE = Path(__file__).parent / "partners.yaml"
ALL_PROVINCES = "all"
CONTACT_KINDS = ("website", "phone", "office")
PHNOM_PENH = timedelta(hours=7)


class PartnerError(ValueError):
    pass


@dataclass(frozen=True)
class Confirmation:
    by: str
    on: date


@dataclass(frozen=True)
class Contact:
    kind: str
    value: str
    source: str = ""
    value_km: str = ""
    source_date: str = ""
    confirmed: Confirmation | None = None

    def text(self, language: str) -> str:
        """The channel as shown: an office's description has a Khmer wording; a web address
        or a phone number is the same in every language."""
        return self.value_km if language == "km" and self.value_km else self.value

    @property
    def sourced(self) -> bool:
        return bool(self.source.strip() and self.source_date.strip())


@dataclass(frozen=True)
class Partner:
    id: str
    names: dict[str, str]
    services: tuple[str, ...]
    provinces: tuple[str, ...]
    languages: tuple[str, ...]
    descriptions: dict[str, str]
    contacts: tuple[Contact, ...]
    telegram_chat_id: int | None = None

    def serves(self, service: str | None, province: str | None) -> bool:
        if service and service not in self.services:
            return False
        return (
            not province
            or province == "none"
            or ALL_PROVINCES in self.provinces
            or province in self.provinces
        )

    @property
    def published_contacts(self) -> tuple[Contact, ...]:
        """The channels a person may see: each with a source and its date."""
        return tuple(c for c in self.contacts if c.sourced)


def _confirmation(value: object, where: str) -> Confirmation | None:
    try:
        mark = by_and_date(value)
    except ValueError:
        raise PartnerError(f"{where}: confirmed needs 'by' (who confirmed) and 'date'") from None
    return None if mark is None else Confirmation(*mark)


def load_partners(path: Path = PARTNERS_FILE) -> tuple[Partner, ...]:
    document = load_yaml(path.read_text(encoding="utf-8"))
    entries = document.get("partners") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise PartnerError(f"{path}: expected a 'partners' list")
    partners: list[Partner] = []
    for entry in entries:
        where = f"{path}: partner {entry.get('id', '?')}"
        try:
            description = entry["description"]
            contacts = []
            for c in entry.get("contacts") or []:
                contacts.append(
                    Contact(
                        kind=str(c["kind"]),
                        value=str(c["value"]),
                        source=str(c.get("source") or ""),
                        source_date=str(c.get("source_date") or ""),
                        value_km=str(c.get("value_km") or ""),
                        confirmed=_confirmation(c.get("confirmed"), where),
                    )
                )
            partners.append(
                Partner(
                    id=str(entry["id"]),
                    names={"en": str(entry["name"]), "km": str(entry["name_km"])},
                    services=tuple(entry["services"]),
                    provinces=tuple(str(p) for p in entry["provinces"]),
                    languages=tuple(entry["languages"]),
                    descriptions={"en": str(description["en"]), "km": str(description["km"])},
                    contacts=tuple(contacts),
                    telegram_chat_id=entry.get("telegram_chat_id"),
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise PartnerError(f"{where}: missing or malformed field {exc}") from None
    return tuple(partners)


def find_partners(
    partners: tuple[Partner, ...], service: str | None, province: str | None
) -> list[Partner]:
    return [p for p in partners if p.serves(service, province)]


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def phnom_penh_today() -> date:
    return (datetime.now(UTC) + PHNOM_PENH).date()


def confirm_contact(
    partner_id: str,
    kind: str,
    by: str,
    on: date,
    path: Path = PARTNERS_FILE,
    *,
    today: date | None = None,
) -> Contact:
    """Record that a coordinator confirmed a partner's channel with the organisation.

    Rewrites only the ``confirmed:`` line of that channel, so comments and layout stay.
    Channels are written in partners.yaml as one block per channel (``- kind: ...`` followed
    by its keys), which this relies on and checks. With ``today``, a day after it is refused.
    Nothing is written unless every check passes."""
    if not by.strip():
        raise PartnerError("say who confirmed it (--by), an organisation or role, not a person")
    if today is not None and on > today:
        raise PartnerError(
            f"{on.isoformat()} has not come yet (today is {today.isoformat()}); "
            "give the day the channel was confirmed"
        )
    if kind not in CONTACT_KINDS:
        raise PartnerError(f"unknown kind {kind!r}; one of: {', '.join(CONTACT_KINDS)}")
    partners = {p.id: p for p in load_partners(path)}
    partner = partners.get(partner_id)
    if partner is None:
        raise PartnerError(f"unknown partner {partner_id!r}; one of: {', '.join(partners)}")
    if not any(c.kind == kind and c.sourced for c in partner.contacts):
        raise PartnerError(f"{partner_id} has no sourced {kind} channel to confirm")
    lines = path.read_text(encoding="utf-8").split("\n")
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if re.fullmatch(rf"\s*- id: {re.escape(partner_id)}", line)
        ),
        None,
    )
    if start is None:
        raise PartnerError(f"{path}: cannot find the entry of {partner_id}")
    end = next(
        (i for i in range(start + 1, len(lines)) if re.fullmatch(r"\s*- id: .*", lines[i])),
        len(lines),
    )
    channel = next(
        (
            i
            for i in range(start, end)
            if re.fullmatch(rf"\s*- kind: {re.escape(kind)}\s*", lines[i])
        ),
        None,
    )
    if channel is None:
        raise PartnerError(f"{path}: {partner_id}: cannot find '- kind: {kind}'")
    line = next(
        (
            i
            for i in range(channel + 1, end)
            if re.fullmatch(r"\s*confirmed:.*", lines[i])
            and not re.fullmatch(r"\s*- .*", lines[i])
        ),
        None,
    )
    if line is None:
        raise PartnerError(f"{path}: {partner_id} {kind}: no 'confirmed:' line to update")
    indent = lines[line][: len(lines[line]) - len(lines[line].lstrip())]
    lines[line] = f"{indent}confirmed: {{by: {_yaml_text(by.strip())}, date: {on.isoformat()}}}"
    path.write_text("\n".join(lines), encoding="utf-8")
    updated = {p.id: p for p in load_partners(path)}[partner_id]
    return next(c for c in updated.contacts if c.kind == kind)


def contact_lines(path: Path = PARTNERS_FILE) -> list[str]:
    """Every channel, tab-separated: partner, kind, value, source date, confirmation."""
    lines = []
    for partner in load_partners(path):
        for c in partner.contacts:
            state = (
                f"confirmed {c.confirmed.on.isoformat()} by {c.confirmed.by}"
                if c.confirmed
                else "not confirmed"
            )
            lines.append(f"{partner.id}\t{c.kind}\t{c.value}\t{c.source_date}\t{state}")
    return lines


def confirmed_line(partner_id: str, contact: Contact) -> str:
    state = (
        f"confirmed {contact.confirmed.on.isoformat()} by {contact.confirmed.by}"
        if contact.confirmed
        else "not confirmed"
    )
    return f"{partner_id} {contact.kind} {contact.value}: {state}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge.partners",
        description="List partner channels, or mark one confirmed with the organisation.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser(
        "list", help="every channel, its source and whether it is confirmed"
    )
    listing.add_argument("--file", type=Path, default=PARTNERS_FILE)
    confirm = commands.add_parser("confirm", help="mark a channel confirmed today (or --on)")
    confirm.add_argument("partner")
    confirm.add_argument("kind", choices=CONTACT_KINDS)
    confirm.add_argument("--by", required=True, help="who confirmed it: an organisation or role")
    confirm.add_argument("--on", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD")
    confirm.add_argument("--file", type=Path, default=PARTNERS_FILE)
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for line in contact_lines(args.file):
                print(line)  # noqa: T201
            return 0
        today = phnom_penh_today()
        contact = confirm_contact(
            args.partner, args.kind, args.by, args.on or today, args.file, today=today
        )
    except PartnerError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 2
    print(confirmed_line(args.partner, contact))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
