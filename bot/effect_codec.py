"""Effects as JSON, for the outbox: casework's effects and the flow engine's, exactly as they
were decided, so that a row kept by one process is carried out the same way by the next.

Only the types named here are written or read back; anything else is refused, so a row can
never name a class to build. Partners found for a person are written by id and read back from
the partners the bot has loaded."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

from bot.partner_list import PartnerList
from casework import effects as case_effects
from flows import events as flow_events
from flows.model import ActionKind
from knowledge.partners import Partner

_DATACLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        case_effects.ToPerson,
        case_effects.ToTopic,
        case_effects.ToCoordinators,
        case_effects.ReplyToStaff,
        case_effects.StaffDocument,
        case_effects.OpenTopic,
        case_effects.CloseTopic,
        case_effects.CopyToPerson,
        case_effects.CopyToTopic,
        case_effects.MirrorEdit,
        case_effects.ShowFlow,
        case_effects.ProposeReferral,
        case_effects.AnswerReferral,
        case_effects.AskReferralConsent,
        case_effects.SendReferral,
        case_effects.ToStaffChat,
        flow_events.Button,
        flow_events.Screen,
        flow_events.Say,
        flow_events.Notice,
        flow_events.Perform,
        flow_events.RunEnded,
    )
}
_ENUMS: dict[str, type[Enum]] = {e.__name__: e for e in (case_effects.Keyboard, ActionKind)}


class EffectCodecError(ValueError):
    """A kept row names something that is not an effect."""


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _DATACLASSES.values()
}
_PLAIN = (str, int, float, bool, type(None))


def encode(value: Any) -> Any:
    """Dispatched on the exact type first (a step keeps a screen of nested buttons on every
    update, so this runs often); anything unexpected goes through the careful checks."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is not None:
        return {"$type": kind.__name__, "fields": {n: encode(getattr(value, n)) for n in names}}
    if kind is tuple or kind is list:
        return [encode(v) for v in value]
    if kind is dict:
        return {"$map": {str(k): encode(v) for k, v in value.items()}}
    return _encode_other(value)


def _encode_other(value: Any) -> Any:
    if isinstance(value, PartnerList):
        return {"$partners": [p.id for p in value.partners]}
    if isinstance(value, Enum):
        name = type(value).__name__
        if name not in _ENUMS:
            raise EffectCodecError(f"not an effect enum: {name}")
        return {"$enum": name, "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise EffectCodecError(f"not an effect: {type(value).__name__}")
    if isinstance(value, Mapping):
        return {"$map": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise EffectCodecError(f"cannot keep a {type(value).__name__}")


def decode(value: Any, partners: Mapping[str, Partner]) -> Any:
    if isinstance(value, list):
        return tuple(decode(v, partners) for v in value)
    if not isinstance(value, dict):
        return value
    if "$partners" in value:
        return PartnerList(tuple(partners[p] for p in value["$partners"] if p in partners))
    if "$enum" in value:
        enum = _ENUMS.get(str(value["$enum"]))
        if enum is None:
            raise EffectCodecError("unknown enum")
        return enum(value["value"])
    if "$type" in value:
        cls = _DATACLASSES.get(str(value["$type"]))
        if cls is None:
            raise EffectCodecError("unknown effect")
        fields = value.get("fields")
        if not isinstance(fields, dict):
            raise EffectCodecError("an effect without fields")
        return cls(**{k: decode(v, partners) for k, v in fields.items()})
    if "$map" in value:
        return {k: decode(v, partners) for k, v in value["$map"].items()}
    raise EffectCodecError("not a kept value")
