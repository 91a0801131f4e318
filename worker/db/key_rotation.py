"""``rightswatch rotate-key``: every encrypted value re-encrypted under the current key.

Walks every table the models give encrypted columns, in primary-key order and
in committed batches, so an interrupted rotation is resumed by running it again
and the database reads meanwhile (old keys still decrypt).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, MetaData, Text, column, select, table, tuple_, update

from worker.security.crypto import EncryptedJSON, EncryptedText, Keyring


def encrypted_columns(metadata: MetaData) -> dict[str, list[str]]:
    """Table → its encrypted columns (whatever the models declare)."""
    found: dict[str, list[str]] = {}
    for model_table in metadata.sorted_tables:
        names = [
            c.name for c in model_table.columns if isinstance(c.type, EncryptedText | EncryptedJSON)
        ]
        if names:
            found[model_table.name] = names
    return found


def rotate(engine: Engine, metadata: MetaData, ring: Keyring, batch: int = 500) -> int:
    """Re-encrypt every value not under the current key (and re-index addresses).

    Row by row in batches, each committed: an interrupted rotation is resumed by
    running it again, and a mixed state reads meanwhile (old keys still decrypt).
    Returns how many values were rewritten.
    """
    rewritten = 0
    for table_name, names in encrypted_columns(metadata).items():
        source = metadata.tables[table_name]
        key = [c.name for c in source.primary_key.columns]
        indexed = table_name == "subscribers" and "address_index" in source.columns
        raw = table(
            table_name,
            *(column(n, Text()) for n in names),
            *(column(k) for k in key),
            *([column("address_index", Text())] if indexed else []),
        )
        last: tuple[Any, ...] | None = None
        while True:
            with engine.begin() as connection:
                query = select(*(raw.c[k] for k in key), *(raw.c[n] for n in names))
                if last is not None:
                    query = query.where(tuple_(*(raw.c[k] for k in key)) > tuple_(*last))
                rows_list = connection.execute(
                    query.order_by(*(raw.c[k] for k in key)).limit(batch)
                ).all()
                for row in rows_list:
                    ids, values = tuple(row[: len(key)]), row[len(key) :]
                    changes: dict[str, str | None] = {
                        name: ring.encrypt(ring.decrypt(value))
                        for name, value in zip(names, values, strict=True)
                        if value is not None and not ring.is_current(value)
                    }
                    if indexed:
                        address = values[names.index("address")]
                        changes["address_index"] = (
                            None if address is None else ring.blind_index(ring.decrypt(address))
                        )
                    rewritten += sum(1 for name in changes if name != "address_index")
                    if changes:
                        where = [raw.c[k] == v for k, v in zip(key, ids, strict=True)]
                        connection.execute(update(raw).where(*where).values(**changes))
            if len(rows_list) < batch:
                break
            last = tuple(rows_list[-1][: len(key)])
    return rewritten
