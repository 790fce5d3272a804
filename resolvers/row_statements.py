"""The statements behind the loaders' row reads, built once per shape.

Each read a request makes by key (rows by id, lines of reservations, ...) is one
of a few shapes: which columns, which optional conditions, arrays (PostgreSQL)
or IN lists (SQLite). Each shape is built once and marked ``reusable``; the
tenant, the keys and the bounds arrive as parameters, so a request neither builds
nor hashes a statement to read rows. Every statement here is scoped by the
``tenant_id`` parameter.

The columns come from the client's selection, so the shapes are kept in bounded
LRUs (``db/caches.py``): a client's queries use a few dozen, a stranger choosing
columns at random would otherwise add a statement (~22 kB compiled) per request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, func, select
from sqlmodel import col

from db.caches import bounded
from db.compiled_reads import reusable
from db.scoped import in_tenant, one_of_param, records, same_tenant, scoped_records
from db.tables import Attachment, EquipmentUnit, Reservation, ReservationLine, Tenant
from resolvers.list_caps import MAX_EQUIPMENT_RESERVATIONS
from resolvers.visibility import owned_by

TENANT = "tenant_id"
KEYS = "keys"
STARTS = "starts"
ENDS = "ends"
CUSTOMER = "customer_id"

# Shapes kept per kind of read; rows by id serve every table, so they keep more.
SHAPES_KEPT = 64
SHAPES_BY_ID_KEPT = 2 * SHAPES_KEPT

Columns = tuple[str, ...] | None
"""Columns to read (``None``: all of them); a tuple, so that shapes can be cached."""


@bounded(SHAPES_BY_ID_KEPT)
def by_id(model: type[Any], columns: Columns, array: bool) -> Select[Any]:
    """Rows of ``model`` whose id is one of ``keys``."""
    scoped = scoped_records(model, bindparam(TENANT), columns)
    return reusable(scoped.where(one_of_param(col(model.id), KEYS, array=array)))


@bounded(SHAPES_KEPT)
def tenants_by_id(columns: Columns, array: bool) -> Select[Any]:
    return reusable(records(Tenant, columns).where(one_of_param(col(Tenant.id), KEYS, array=array)))


@bounded(SHAPES_KEPT)
def units_of_equipment(columns: Columns, array: bool) -> Select[Any]:
    """Units of the equipment in ``keys``, by serial number."""
    return reusable(
        scoped_records(EquipmentUnit, bindparam(TENANT), columns)
        .where(one_of_param(col(EquipmentUnit.equipment_id), KEYS, array=array))
        .order_by(col(EquipmentUnit.serial_number))
    )


@bounded(SHAPES_KEPT)
def attachments_of(kind: str, columns: Columns, array: bool) -> Select[Any]:
    """Attachments of the owners of one kind in ``keys``, by position, then age."""
    return reusable(
        scoped_records(Attachment, bindparam(TENANT), columns)
        .where(col(Attachment.owner_kind) == kind, one_of_param(col(Attachment.owner_id), KEYS, array=array))
        .order_by(
            col(Attachment.owner_id), col(Attachment.position), col(Attachment.created_at), col(Attachment.id)
        )
    )


@bounded(SHAPES_KEPT)
def lines_of_reservations(columns: Columns, array: bool) -> Select[Any]:
    """Lines of the reservations in ``keys``, in their order on each reservation."""
    return reusable(
        scoped_records(ReservationLine, bindparam(TENANT), columns)
        .where(one_of_param(col(ReservationLine.reservation_id), KEYS, array=array))
        .order_by(col(ReservationLine.reservation_id), col(ReservationLine.position))
    )


@bounded(SHAPES_KEPT)
def reservations_of_equipment(
    columns: Columns, array: bool, *, starts: bool, ends: bool, own_only: bool
) -> Select[Any]:
    """Reservations with a line of an equipment in ``keys``, one row per (equipment, line):
    for each equipment the earliest ``MAX_EQUIPMENT_RESERVATIONS``, by start, in order.

    ``starts``/``ends``: bounded by the ``starts``/``ends`` parameters (overlap);
    ``own_only``: only the reservations the ``customer_id`` parameter owns (the visibility
    policy's condition, ``resolvers/visibility.py``).
    """
    tenant: BindParameter[Any] = bindparam(TENANT)
    statement = (
        scoped_records(Reservation, tenant, columns)
        .add_columns(col(ReservationLine.equipment_id).label("line_equipment_id"))
        .join(
            Reservation,
            and_(
                same_tenant(Reservation, ReservationLine),
                col(Reservation.id) == col(ReservationLine.reservation_id),
            ),
        )
        .where(
            in_tenant(ReservationLine, tenant),
            one_of_param(col(ReservationLine.equipment_id), KEYS, array=array),
        )
    )
    if own_only:
        statement = statement.where(owned_by(Reservation, bindparam(CUSTOMER)))
    if starts:
        statement = statement.where(col(Reservation.ends_at) > bindparam(STARTS))
    if ends:
        statement = statement.where(col(Reservation.starts_at) < bindparam(ENDS))
    # The list's cap, in SQL: rows past it are never sent. Two lines of one reservation
    # and equipment share a rank, so the cap counts reservations.
    rank = (
        func.dense_rank()
        .over(
            partition_by=col(ReservationLine.equipment_id),
            order_by=(col(Reservation.starts_at), col(Reservation.id)),
        )
        .label("rank_in_list")
    )
    ranked = statement.add_columns(rank).subquery()
    kept = [column for column in ranked.c if column.name != "rank_in_list"]
    capped = (
        select(*kept)
        .where(ranked.c.rank_in_list <= MAX_EQUIPMENT_RESERVATIONS)
        .order_by(ranked.c.rank_in_list)
    )
    return reusable(capped)
