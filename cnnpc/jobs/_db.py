"""`cnnpc db upgrade|current` as library calls: a results database's schema revision."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this release's newest revision."""

    storage: str
    revision: str | None
    head: str
    state: str
    """empty, current or outdated"""

    def as_dict(self) -> dict[str, str | None]:
        return {
            "storage": self.storage,
            "revision": self.revision,
            "head": self.head,
            "state": self.state,
        }

    def text(self) -> str:
        note = {
            "empty": "no cnnpc tables yet; 'cnnpc db upgrade' or the first search creates them",
            "current": "newest schema",
        }.get(self.state, f"run 'cnnpc db upgrade' to reach {self.head}")
        return f"{self.storage}: revision {self.revision or '-'} ({note})"


def schema_state(storage_url: str | None) -> SchemaState:
    """The revision of the database (which must exist); a newer one than ours is an error."""
    from cnnpc.storage import Storage, StorageError, resolve_url

    with Storage(resolve_url(storage_url), create=False, ensure_schema=False) as storage:
        current = storage.current_revision()
        head = storage.head_revision()
        where = storage.display_url
    if current is not None and current not in Storage.known_revisions():
        raise StorageError(f"database schema {current} is newer than this cnnpc; upgrade cnnpc")
    state = "empty" if current is None else ("current" if current == head else "outdated")
    return SchemaState(where, current, head, state)


def upgrade_schema(storage_url: str | None) -> str:
    """Upgrade the database to the newest revision (creating it if needed); what was done."""
    from cnnpc.storage import Storage, resolve_url

    with Storage(resolve_url(storage_url), ensure_schema=False) as storage:
        before, head = storage.upgrade()
        where = storage.display_url
    if before == head:
        return f"{where}: already at revision {head} (newest)"
    return f"{where}: upgraded from {before or 'empty'} to revision {head} (newest)"
