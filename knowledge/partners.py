"""The partner directory: services, provinces, languages, public contacts and the date each
contact was last verified with the organisation (unverified contacts are never shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

PARTNERS_FILE = Path(__file__).parent / "partners.yaml"
ALL_PROVINCES = "all"


class PartnerError(ValueError):
    pass


@dataclass(frozen=True)
class Contact:
    kind: str
    value: str


@dataclass(frozen=True)
class Partner:
    id: str
    names: dict[str, str]
    services: tuple[str, ...]
    provinces: tuple[str, ...]
    languages: tuple[str, ...]
    descriptions: dict[str, str]
    contacts: tuple[Contact, ...]
    verified: date | None
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
        return self.contacts if self.verified is not None else ()


def load_partners(path: Path = PARTNERS_FILE) -> tuple[Partner, ...]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = document.get("partners") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise PartnerError(f"{path}: expected a 'partners' list")
    partners: list[Partner] = []
    for entry in entries:
        where = f"{path}: partner {entry.get('id', '?')}"
        try:
            description = entry["description"]
            verified = entry.get("verified")
            if verified is not None and not isinstance(verified, date):
                raise PartnerError(f"{where}: verified must be a date or null")
            partners.append(
                Partner(
                    id=str(entry["id"]),
                    names={"en": str(entry["name"]), "km": str(entry["name_km"])},
                    services=tuple(entry["services"]),
                    provinces=tuple(str(p) for p in entry["provinces"]),
                    languages=tuple(entry["languages"]),
                    descriptions={"en": str(description["en"]), "km": str(description["km"])},
                    contacts=tuple(
                        Contact(str(c["kind"]), str(c["value"]))
                        for c in entry.get("contacts") or []
                    ),
                    verified=verified,
                    telegram_chat_id=entry.get("telegram_chat_id"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise PartnerError(f"{where}: missing or malformed field {exc}") from None
    return tuple(partners)


def find_partners(
    partners: tuple[Partner, ...], service: str | None, province: str | None
) -> list[Partner]:
    return [p for p in partners if p.serves(service, province)]
