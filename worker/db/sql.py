"""The SQL pieces every storage module shares: dialect checks, insert-if-new, IN lists.

Inserts of entries, matches and deliveries use ``ON CONFLICT DO NOTHING …
RETURNING`` so that only rows this call really created come back: that is what
fans out to notification, and why a repeated poll or a crashed worker cannot
create a second alert.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session


def on_postgresql(session: Session) -> bool:
    """PostgreSQL gets arrays, advisory locks and prepared statements; SQLite the plain forms."""
    return session.get_bind().dialect.name == "postgresql"


def _insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"unsupported database {dialect}")


def insert_new(
    session: Session, model: type[Any], rows: Sequence[dict[str, Any]], *columns: Any
) -> list[Any]:
    """Insert rows, skipping those that already exist; return ``columns`` of the new ones.

    On PostgreSQL the rows go as one array per column into a single ``INSERT …
    SELECT FROM unnest(…)``: the statement text is the same for any number of
    rows, so psycopg caches its conversion and the server prepares it once per
    connection, where a multi-row VALUES list is a new, long query text each
    time (its parsing cost more than the insert). Elsewhere, one executemany.
    Every row must have the same keys.
    """
    if not rows:
        return []
    result: Result[Any]
    if on_postgresql(session):
        columns_of = {k: [row[k] for row in rows] for k in rows[0]}
        # A column with one value for every row (the poll's time, the feed) is sent once:
        # an array of a poll's hundreds of equal timestamps costs more to bind than its rows.
        same = tuple(k for k, v in columns_of.items() if len(rows) > 1 and _one_value(v))
        varying = tuple(k for k in columns_of if k not in same) or same[:1]
        once = tuple(k for k in same if k not in varying)
        statement = _unnest_insert(model.__table__, varying, once, tuple(c.key for c in columns))
        connection = session.connection()  # a Core statement: no ORM bulk-insert handling
        result = connection.execute(
            statement,
            {**{k: columns_of[k] for k in varying}, **{k: columns_of[k][0] for k in once}},
        )
    else:
        statement = _insert(session, model).on_conflict_do_nothing().returning(*columns)
        result = session.execute(statement, list(rows))
    return list(result.scalars()) if len(columns) == 1 else [tuple(r) for r in result]


def insert_ignore(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, skipping those that already exist, when nothing needs to come back.

    On SQLite one ``executemany`` of the driver (no RETURNING to fetch row by row) on
    tuples whose values went through their column types once: the many small rows of
    an index such as a story's band keys, where SQLAlchemy's per-row parameter handling
    cost more than the inserts, and a poll's one timestamp was converted for every row.
    Every row names the same columns, those with a default included.
    """
    if not rows:
        return
    if on_postgresql(session):
        insert_new(session, model, rows, *model.__table__.primary_key.columns)
        return
    connection = session.connection()
    sql, keys = _sqlite_insert(model.__table__, tuple(rows[0]), connection.dialect)
    columns = []
    for k in keys:
        values = [row[k] for row in rows]
        kind = model.__table__.c[k].type.dialect_impl(connection.dialect)
        convert = kind.bind_processor(connection.dialect)
        if convert is not None:
            once = _one_value(values)
            values = [convert(values[0])] * len(values) if once else list(map(convert, values))
        columns.append(values)
    connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def _one_value(column: list[Any]) -> bool:
    """Whether every row has the same value in this column (bound or converted once)."""
    return column.count(column[0]) == len(column)


@cache
def _sqlite_insert(table: Table, keys: tuple[str, ...], dialect: Any) -> tuple[str, list[str]]:
    """INSERT … ON CONFLICT DO NOTHING of ``keys`` with positional parameters, and their order."""
    compiled = (
        sqlite.insert(table)
        .on_conflict_do_nothing()
        .compile(dialect=dialect, column_keys=list(keys))
    )
    return str(compiled), list(compiled.positiontup or ())


@cache
def _unnest_insert(
    table: Table, keys: tuple[str, ...], once: tuple[str, ...], returning: tuple[str, ...]
) -> Any:
    """``keys`` as arrays, one value a row; ``once``: one value for all rows."""
    arrays = [bindparam(k, type_=postgresql.ARRAY(table.c[k].type, dimensions=1)) for k in keys]
    rows = func.unnest(*arrays).table_valued(*keys).render_derived()
    scalars = [cast(bindparam(k, type_=table.c[k].type), table.c[k].type) for k in once]
    return (
        postgresql.insert(table)
        .from_select(keys + once, select(*rows.c, *scalars))
        .on_conflict_do_nothing()
        .returning(*(table.c[name] for name in returning))
    )


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL as ``= ANY(array)``: one parameter whatever the
    number of values, so the statement text stays the same and is prepared once, where
    an expanding IN makes a new statement for every count (a poll's 50 identity keys,
    its hundreds of band keys)."""
    if on_postgresql(session):
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]
