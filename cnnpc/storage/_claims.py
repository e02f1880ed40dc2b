"""Claims: a row under a unique key that lets one of several workers do a piece of shared work.

Inserting is the atomic test-and-set every SQL database offers (SQLite and PostgreSQL alike): the
worker whose insert commits holds the claim, the others see a conflict and wait for the result.
The holder renews the claim's heartbeat while it works; a claim whose heartbeat is older than the
caller's grace period is deleted and re-taken in the same transaction. Heartbeats are written and
aged by the database's own clock, so workers on hosts whose clocks disagree still agree on who
is late.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cnnpc.storage._models import ClaimModel, utcnow


@dataclass(frozen=True)
class Claim:
    name: str
    owner: str
    created_at: datetime
    heartbeat_age_s: float
    """Seconds since the holder last renewed it, by the database's clock."""


def claim_digest(name: str) -> str:
    """Claims are stored by a fixed-width digest: names (configuration keys) can be long."""
    return hashlib.sha256(name.encode()).hexdigest()


def db_now(session: Session) -> datetime:
    """The database server's current time as naive UTC (microseconds where it keeps them)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        value = session.execute(select(func.timezone("UTC", func.clock_timestamp()))).scalar_one()
        assert isinstance(value, datetime)
        return value.replace(tzinfo=None)
    if dialect == "sqlite":
        text = session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
        return datetime.fromisoformat(str(text))
    return utcnow().replace(tzinfo=None)  # pragma: no cover - other servers: this host's clock


def insert_claim(session: Session, name: str, owner: str, take_over_after_s: float | None) -> None:
    """Insert the claim (a conflict if it is held), first removing it if its heartbeat is
    older than `take_over_after_s`."""
    now = db_now(session)
    digest = claim_digest(name)
    if take_over_after_s is not None:
        cutoff = now - timedelta(seconds=take_over_after_s)
        session.execute(
            delete(ClaimModel).where(ClaimModel.name == digest, ClaimModel.heartbeat_at < cutoff)
        )
    session.add(ClaimModel(name=digest, owner=owner, created_at=utcnow(), heartbeat_at=now))
    session.flush()


def read_claim(session: Session, name: str) -> Claim | None:
    row = session.scalars(select(ClaimModel).where(ClaimModel.name == claim_digest(name))).first()
    if row is None:
        return None
    age = db_now(session) - row.heartbeat_at.replace(tzinfo=None)
    return Claim(
        name=name, owner=row.owner, created_at=row.created_at, heartbeat_age_s=age.total_seconds()
    )


def renew_claims(session: Session, owner: str) -> int:
    """Set the heartbeat of every claim `owner` holds to now; return how many it holds."""
    result = session.execute(
        update(ClaimModel).where(ClaimModel.owner == owner).values(heartbeat_at=db_now(session))
    )
    return int(getattr(result, "rowcount", 0))


def delete_claim(session: Session, name: str, owner: str) -> bool:
    """Drop the claim if `owner` still holds it (a newer holder's claim is left alone)."""
    result = session.execute(
        delete(ClaimModel).where(ClaimModel.name == claim_digest(name), ClaimModel.owner == owner)
    )
    return bool(getattr(result, "rowcount", 0))
