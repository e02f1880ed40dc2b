"""Storage errors: one-line messages the CLI prints (exit 2), never a driver traceback."""

from __future__ import annotations

from cnnpc.errors import CnnpcError


class StorageError(CnnpcError):
    """The database cannot be opened, read or written, or a record does not exist."""


class StorageConflictError(StorageError):
    """A unique key was taken by a concurrent writer; re-reading the row resolves it."""


class StorageBusyError(StorageError):
    """The database stayed locked (SQLite) or the transaction lost a race (deadlock); retry."""


class NoDatabaseError(StorageError):
    """The SQLite file does not exist and the caller asked not to create it."""
