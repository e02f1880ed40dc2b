"""Claims: a row under a unique key that lets one of several workers do a piece of shared work.

Inserting is the atomic test-and-set every SQL database offers (SQLite and PostgreSQL alike): the
worker whose insert commits holds the claim, the others see a conflict and wait for the result.
Whether a holder is still alive is the caller's question (see cnnpc/search/_workers.py); the
storage layer only records who holds what since when.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cnnpc.storage._models import ClaimModel, utcnow


@dataclass(frozen=True)
class Claim:
    name: str
    owner: str
    created_at: datetime


def claim_digest(name: str) -> str:
    """Claims are stored by a fixed-width digest: names (configuration keys) can be long."""
    return hashlib.sha256(name.encode()).hexdigest()


def insert_claim(session: Session, name: str, owner: str) -> None:
    session.add(ClaimModel(name=claim_digest(name), owner=owner, created_at=utcnow()))
    session.flush()


def read_claim(session: Session, name: str) -> Claim | None:
    row = session.scalars(select(ClaimModel).where(ClaimModel.name == claim_digest(name))).first()
    if row is None:
        return None
    return Claim(name=name, owner=row.owner, created_at=row.created_at)


def delete_claim(session: Session, name: str, owner: str) -> bool:
    """Drop the claim if `owner` still holds it (a newer holder's claim is left alone)."""
    result = session.execute(
        delete(ClaimModel).where(ClaimModel.name == claim_digest(name), ClaimModel.owner == owner)
    )
    return bool(getattr(result, "rowcount", 0))
