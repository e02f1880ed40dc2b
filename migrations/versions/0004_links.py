"""A search's links in one typed column, `cnnpc_searches.links`.

The release before stored the two rates as columns and the link latencies (when not zero) in
`extra`, beside the conventions that name the unit; the unit and the per-message costs were
looked up again whenever a search was priced (the profile's unit under CNNPC's conventions, the
host's calibration). The column holds `LinkSetting`'s one JSON form, resolved once: for a
search stored before, the way that release priced it on this host; a search whose profile is
gone keeps the SI unit and no per-message costs (a warning names it). The downgrade puts rates
and latencies back where they were; the unit and per-message costs are looked up again then.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LATENCIES = ("uplink_latency_ms", "latency_ms")
_log = logging.getLogger(__name__)


def _searches(*columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(
        "cnnpc_searches",
        sa.column("id", sa.Integer()),
        sa.column("model", sa.String()),
        sa.column("device", sa.String()),
        sa.column("extra", sa.JSON()),
        *columns,
    )


def _links(model: str, device: str, rates: tuple[float, float], extra: dict[str, Any]) -> Any:
    """The links the release before priced this search with (see the module's docstring)."""
    from cnnpc.errors import InputError
    from cnnpc.latency import find_calibration
    from cnnpc.planner import LinkOptions
    from cnnpc.profiles import load_profile
    from cnnpc.records import LinkSetting

    options = LinkOptions(
        uplink_mbps=rates[0],
        conventions=str(extra.get("conventions", "si")),
        **{name: float(extra.get(name, 0.0)) for name in _LATENCIES},
    )
    try:
        profile = load_profile(model, device)
        calibration = find_calibration(model, device)
    except (InputError, OSError, ValueError) as exc:
        _log.warning("search of %s on %s: SI unit, no per-message costs (%s)", model, device, exc)
        return LinkSetting(
            uplink_mbps=rates[0],
            bandwidth_mbps=rates[1],
            uplink_latency_ms=options.uplink_latency_ms,
            latency_ms=options.latency_ms,
        )
    return options.links(profile, rates[1], calibration)


def upgrade() -> None:
    with op.batch_alter_table("cnnpc_searches") as batch:
        batch.add_column(sa.Column("links", sa.JSON(), nullable=True))
    searches = _searches(
        sa.column("uplink_mbps", sa.Float()),
        sa.column("bandwidth_mbps", sa.Float()),
        sa.column("links", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            searches.c.id,
            searches.c.model,
            searches.c.device,
            searches.c.uplink_mbps,
            searches.c.bandwidth_mbps,
            searches.c.extra,
        )
    ).all()
    for search_id, model, device, uplink, bandwidth, extra in rows:
        extra = dict(extra or {})
        links = _links(str(model), str(device), (float(uplink), float(bandwidth)), extra)
        rest = {k: v for k, v in extra.items() if k not in _LATENCIES}
        connection.execute(
            searches.update()
            .where(searches.c.id == search_id)
            .values(links=links.as_dict(), extra=dict(sorted(rest.items())))
        )
    with op.batch_alter_table("cnnpc_searches") as batch:
        batch.alter_column("links", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("uplink_mbps")
        batch.drop_column("bandwidth_mbps")


def downgrade() -> None:
    with op.batch_alter_table("cnnpc_searches") as batch:
        batch.add_column(sa.Column("uplink_mbps", sa.Float(), nullable=True))
        batch.add_column(sa.Column("bandwidth_mbps", sa.Float(), nullable=True))
    searches = _searches(
        sa.column("uplink_mbps", sa.Float()),
        sa.column("bandwidth_mbps", sa.Float()),
        sa.column("links", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(searches.c.id, searches.c.links, searches.c.extra)).all()
    for search_id, links, extra in rows:
        extra = dict(extra or {})
        extra.update({name: float(links[name]) for name in _LATENCIES if links.get(name)})
        connection.execute(
            searches.update()
            .where(searches.c.id == search_id)
            .values(
                uplink_mbps=float(links["uplink_mbps"]),
                bandwidth_mbps=float(links["bandwidth_mbps"]),
                extra=dict(sorted(extra.items())),
            )
        )
    with op.batch_alter_table("cnnpc_searches") as batch:
        batch.alter_column("uplink_mbps", existing_type=sa.Float(), nullable=False)
        batch.alter_column("bandwidth_mbps", existing_type=sa.Float(), nullable=False)
        batch.drop_column("links")
