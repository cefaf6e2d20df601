"""Future-dated terminations: the ledger of what falls due, and ``run-due`` that applies it.

A write that sets a termination in the future leaves one row here per
relationship; changing or removing the date replaces or removes it. ``run-due``
claims due rows one at a time — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
single writer lock on SQLite — applies the termination in the same
transaction and deletes the row, so several workers or hosts running it at
once apply each item exactly once. Applying checks the user's stored state
too, so an item is harmless even if it were seen twice.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from scim_server.actor import acting_as
from scim_server.db import Base, UTCDateTime, insert_ignoring_duplicates
from scim_server.tokens import SYSTEM

log = logging.getLogger(__name__)


class DueRow(Base):
    __tablename__ = "lifecycle_due"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    relationship: Mapped[str] = mapped_column(String(256), primary_key=True)
    due: Mapped[datetime.datetime] = mapped_column(UTCDateTime, index=True)


def schedule(session: Session, user_id: str, items: Mapping[str, datetime.datetime]) -> None:
    """Make the user's pending terminations exactly these (relationship → when), replacing what was there."""
    current = {row.relationship: row.due for row in session.scalars(select(DueRow).where(DueRow.user_id == user_id))}
    stale = [value for value, when in current.items() if items.get(value) != when]
    if stale:
        session.execute(delete(DueRow).where(DueRow.user_id == user_id, DueRow.relationship.in_(stale)))
    fresh = [{"user_id": user_id, "relationship": v, "due": w} for v, w in items.items() if current.get(v) != w]
    if fresh:
        session.execute(insert_ignoring_duplicates(session.get_bind(), DueRow.__table__), fresh)


def forget(session: Session, user_id: str) -> None:
    session.execute(delete(DueRow).where(DueRow.user_id == user_id))


def pending(session: Session) -> list[DueRow]:
    return list(session.scalars(select(DueRow).order_by(DueRow.due, DueRow.user_id)))


def _claim(session: Session, now: datetime.datetime) -> DueRow | None:
    query = select(DueRow).where(DueRow.due <= now).order_by(DueRow.due).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def run_due(storage: Any, now: datetime.datetime | None = None, *, limit: int | None = None) -> int:
    """Apply the terminations that have fallen due; returns how many items were processed."""
    from .engine import Lifecycle

    processed = 0
    moment = now or storage.clock()
    with acting_as(SYSTEM):
        while limit is None or processed < limit:
            with storage.writing(), storage.operation(), storage.session() as session:
                row = _claim(session, moment)
                if row is None:
                    break
                user_id = row.user_id
                session.delete(row)
                session.flush()
                Lifecycle(storage.context(session, now=moment)).apply_due(user_id)
            processed += 1
    return processed


class Scheduler(threading.Thread):
    """Runs ``run_due`` every ``interval`` seconds in the background (``SCIM_SCHEDULER_INTERVAL``)."""

    def __init__(self, storage: Any, interval: float) -> None:
        super().__init__(name="lifecycle-scheduler", daemon=True)
        self.storage = storage
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                run_due(self.storage)
            except Exception:
                log.exception("run-due failed; retrying in %s s", self.interval)

    def stop(self) -> None:
        self.stopped.set()
