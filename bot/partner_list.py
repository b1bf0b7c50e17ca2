"""The effect the bot adds to a flow step: the organisations found for a need and province."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.partners import Partner


@dataclass(frozen=True)
class PartnerList:
    partners: tuple[Partner, ...]
