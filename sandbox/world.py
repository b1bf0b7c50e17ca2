"""The sandbox's staff side: a staff forum group, a coordinators' chat, a partner's chat,
sample counsellors and a coordinator, and the community member the newcomer plays.

Everything here is made up: the names are aliases a training session can use, and nothing
is ever sent outside this computer. The bot is configured from :class:`World` (the runner
turns it into the bot's staff settings), so hand-off, claim, reply, note, refer and close work
exactly as they do with a real group.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sandbox.state import TelegramState

COUNSELLOR = "counsellor"
COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Member:
    user_id: int
    alias: str
    role: str  # "counsellor" or "coordinator" (the bot's role names)


@dataclass(frozen=True)
class World:
    person_id: int
    staff_group_id: int
    coordinator_chat_id: int
    partner_id: str
    partner_chat_id: int
    partner_user_id: int
    members: tuple[Member, ...]

    def member(self, name: str) -> Member | None:
        """A staff member by alias (any case)."""
        for member in self.members:
            if member.alias.lower() == name.strip().lower():
                return member
        return None

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data["members"] = [asdict(m) for m in self.members]
        return data


SAMPLE_STAFF: tuple[tuple[str, str], ...] = (
    ("Dara", COUNSELLOR),
    ("Visal", COUNSELLOR),
    ("Sophea", COORDINATOR),
)


def populate(state: TelegramState, *, partner_id: str = "rock") -> World:
    """Create the people and chats of a training session in the emulator."""
    person = state.add_user("Community member", language_code="km")
    members = []
    for alias, role in SAMPLE_STAFF:
        user = state.add_user(alias, "(sandbox)", language_code="en")
        members.append(Member(user.id, alias, role))
    staff_ids = [m.user_id for m in members]
    coordinators = [m.user_id for m in members if m.role == COORDINATOR]
    group = state.add_forum_group("Staff (sandbox)", staff_ids, coordinators)
    coordinator_chat = state.add_forum_group(
        "Coordinators (sandbox)", coordinators, coordinators, forum=False
    )
    partner = state.add_user("Partner", "(sandbox)", language_code="en")
    partner_chat = state.add_forum_group(
        f"Partner: {partner_id} (sandbox)", [partner.id], [], forum=False
    )
    world = World(
        person_id=person.id,
        staff_group_id=group.id,
        coordinator_chat_id=coordinator_chat.id,
        partner_id=partner_id,
        partner_chat_id=partner_chat.id,
        partner_user_id=partner.id,
        members=tuple(members),
    )
    state.world = world.to_api()
    return world
