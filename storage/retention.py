"""Retention: what is kept how long, and the purge that enforces it (``clgbt purge`` and the
bot's daily job)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from storage.archiving import SealedCases, count_expired, seal_expired
from storage.sealing import MAX_BATCH, CoordinatorPublicKey
from storage.store import Store


@dataclass(frozen=True)
class RetentionPolicy:
    idle_flow_run_days: int = 30
    closed_case_days: int = 90
    audit_days: int = 365


@dataclass(frozen=True)
class PurgeReport:
    flow_runs: int = 0
    cases_sealed: int = 0
    cases_awaiting_key: int = 0
    cases_not_sealable: int = 0
    audit_entries: int = 0
    scheduled_actions: int = 0
    people: int = 0
    sealed_topic_ids: tuple[int, ...] = ()

    def lines(self) -> list[str]:
        lines = [
            f"idle conversations deleted: {self.flow_runs}",
            f"closed cases sealed for coordinators: {self.cases_sealed}",
            f"audit entries deleted: {self.audit_entries}",
            f"finished scheduled actions deleted: {self.scheduled_actions}",
            f"inactive people with nothing left deleted: {self.people}",
        ]
        if self.cases_not_sealable:
            lines.append(
                f"closed cases that could NOT be sealed: {self.cases_not_sealable} (left as "
                "they are; the next purge tries again)"
            )
        if self.cases_awaiting_key:
            lines.append(
                f"closed cases past retention NOT sealed: {self.cases_awaiting_key} (set "
                "paths.coordinator_public_key; until then they stay, encrypted)"
            )
        return lines


async def purge(
    store: Store,
    policy: RetentionPolicy,
    today: date,
    public_key: CoordinatorPublicKey | None,
    *,
    batch_size: int = MAX_BATCH,
) -> PurgeReport:
    """Remove what the policy says has expired on ``today``, and nothing else:

    - conversations (flow runs) not touched for ``idle_flow_run_days``;
    - closed cases closed more than ``closed_case_days`` ago: sealed to the coordinators'
      key, then the readable copy erased, ``batch_size`` cases a transaction with one key
      encapsulation each (``storage.archiving``; without a key they stay, and are reported);
    - audit entries older than ``audit_days``;
    - finished scheduled actions older than ``idle_flow_run_days``;
    - people not seen for ``idle_flow_run_days`` who have no case (open, or closed and not
      yet sealed), conversation or pending action, even if sealed archives of theirs exist
      (archives keep no link to them): their rows go and their data keys are destroyed;
    - person keys left without a person (a crash between an erasure and its key's
      destruction, or a person whose creation was rolled back);
    - batch headers left without archives (their people erased them).
    """
    idle_cutoff = (today - timedelta(days=policy.idle_flow_run_days)).isoformat()
    closed_cutoff = (today - timedelta(days=policy.closed_case_days)).isoformat()
    audit_cutoff = (today - timedelta(days=policy.audit_days)).isoformat()  # audit days

    sealed, awaiting_key = SealedCases(), 0
    if public_key is None:
        awaiting_key = await count_expired(store, closed_cutoff)
    else:
        sealed = await seal_expired(store, closed_cutoff, public_key, batch_size)
    async with store.db.transaction() as tx:
        flow_runs = await tx.execute("DELETE FROM flow_runs WHERE updated_on < ?", (idle_cutoff,))
        audit = await tx.execute("DELETE FROM audit_log WHERE at < ?", (audit_cutoff,))
        actions = await tx.execute(
            "DELETE FROM scheduled_actions WHERE done_at IS NOT NULL AND done_at < ?",
            (idle_cutoff,),
        )
        people = await tx.execute(
            "DELETE FROM people WHERE last_seen_on < ? "
            "AND NOT EXISTS (SELECT 1 FROM cases WHERE cases.person_id = people.id) "
            "AND NOT EXISTS (SELECT 1 FROM flow_runs f WHERE f.person_id = people.id) "
            "AND NOT EXISTS (SELECT 1 FROM scheduled_actions s WHERE s.person_id = people.id "
            "AND s.done_at IS NULL)",
            (idle_cutoff,),
        )
        cursor = await tx.execute("SELECT id FROM people")
        living = {row[0] for row in await cursor.fetchall()}
        await cursor.close()
        # Read under the write lock: a person being created holds it from their key's making
        # to their row's commit, so no new person's key is taken for an orphan.
        orphans = store.person_keys.person_ids() - living
        await store.archives.delete_empty_batches(tx)
        report = PurgeReport(
            flow_runs=flow_runs.rowcount,
            cases_sealed=sealed.count,
            cases_awaiting_key=awaiting_key,
            cases_not_sealable=sealed.failed,
            audit_entries=audit.rowcount,
            scheduled_actions=actions.rowcount,
            people=people.rowcount,
            sealed_topic_ids=sealed.topic_ids,
        )
    await store.db.checkpoint()
    # After the rows are gone (durably): a key whose person no longer exists is destroyed.
    store.person_keys.destroy(*orphans)
    return report
