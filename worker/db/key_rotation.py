"""``rightswatch rotate-key``: every encrypted value re-encrypted under the current key,
every look-up hash of entry content remade under its content key, every delivery's
receiver key remade under its index key.

Walks every table the models give encrypted columns, in primary-key order and
in committed batches, so an interrupted rotation is resumed by running it again
and the database reads meanwhile (old keys still decrypt).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Engine,
    MetaData,
    Text,
    column,
    delete,
    func,
    select,
    table,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from worker.core import dedup
from worker.core.progress import Progress, silent
from worker.db import config_sync, outbox
from worker.db.models import Entry, Feed, Meta, StoryBand, StorySignature, StorySketch
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


def rotate(
    engine: Engine,
    metadata: MetaData,
    ring: Keyring,
    batch: int = 500,
    progress: Progress = silent,
) -> int:
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
        with engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(raw)) or 0
        done = 0
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
            done += len(rows_list)
            progress(f"Re-encrypting {table_name}", done, total)
            if len(rows_list) < batch:
                break
            last = tuple(rows_list[-1][: len(key)])
    return rewritten


def rekey_lookups(
    engine: Engine, ring: Keyring, batch: int = 500, progress: Progress = silent
) -> int:
    """Remake every look-up hash of entry content under the ring's content key.

    Link, identity and content keys from the entries' (decrypted) identity, link and
    text; story signatures and bands from the stories' text; the unkeyed sketches of
    earlier versions, the config version and the feeds' body hashes are dropped (the
    next start and poll remake them). An entry retention emptied keeps a link key only
    if its identity is its link, and its content hash becomes
    :data:`~worker.core.dedup.UNKNOWN_TEXT` (its text is gone): no hash of the old key
    stays, and the entry is still known by its identity. Batches are committed and every
    value is recomputed from its source, so an interrupted run is finished by running it
    again; the meta row naming the key is written last (polling is refused until then),
    and a run under the key it names leaves emptied entries as they are. Returns how
    many entries were re-keyed.
    """
    key = ring.content_key
    with Session(engine) as session:
        stored = session.get(Meta, config_sync.LOOKUP_KEY)
        rekey_forgotten = stored is None or stored.value != ring.content_key_id
    done = 0
    last = 0
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Entry)) or 0
    while True:
        with Session(engine) as session, session.begin():
            rows = session.scalars(
                select(Entry).where(Entry.id > last).order_by(Entry.id).limit(batch)
            ).all()
            signed = set(
                session.scalars(
                    select(StorySignature.story_id).where(
                        StorySignature.story_id.in_([e.id for e in rows])
                    )
                )
            )
            for entry in rows:
                identity = entry.identity or _identity_of(entry)
                entry.identity = identity
                entry.identity_key = dedup.identity_key(identity, key)
                text = (entry.title, entry.summary, entry.content)
                if entry.forgotten_at is None or any(text):
                    if entry.link_key is not None and entry.link:
                        entry.link_key = dedup.link_key(entry.link, key)
                    entry.content_hash = ring.lookup_hash(dedup.content_hash(*text))
                elif rekey_forgotten:
                    _rekey_forgotten(entry, identity, key)
                if ring.enabled and entry.published_at is not None:
                    entry.published = entry.published_at.isoformat()
                    entry.published_at = None
                if entry.id in signed:
                    _resign(session, entry, key)
            done += len(rows)
        progress("Re-keying entries", done, total)
        if len(rows) < batch:
            break
        last = rows[-1].id
    with Session(engine) as session, session.begin():
        session.execute(delete(StorySketch))
        session.execute(update(Feed).values(body_hash=None))
        session.execute(delete(Meta).where(Meta.key == config_sync.CONFIG_VERSION_KEY))
        session.merge(Meta(key=config_sync.LOOKUP_KEY, value=ring.content_key_id))
    return done


def _rekey_forgotten(entry: Entry, identity: str, key: bytes | None) -> None:
    """An emptied entry's link key (from its identity, when that is its link) and
    content hash (unknown: the text is gone) under ``key``."""
    if entry.link_key is not None:
        link = identity.removeprefix("link:") if identity.startswith("link:") else None
        entry.link_key = dedup.link_key(link, key)
    entry.content_hash = dedup.UNKNOWN_TEXT


def _identity_of(entry: Entry) -> str:
    """The identity of an entry stored before identities were kept (GUID, link, text)."""
    text_hash = dedup.content_hash(entry.title, entry.summary, entry.content)
    return dedup.entry_identity(entry.guid, entry.link, text_hash)


def _resign(session: Session, entry: Entry, key: bytes | None) -> None:
    """The story's signature and bands remade under ``key`` (dropped if its text is gone)."""
    session.execute(delete(StoryBand).where(StoryBand.story_id == entry.id))
    signature = dedup.signature(
        dedup.shingles(dedup.story_text(entry.title, entry.summary, entry.content)), key
    )
    if not signature:
        session.execute(delete(StorySignature).where(StorySignature.story_id == entry.id))
        return
    session.execute(
        update(StorySignature)
        .where(StorySignature.story_id == entry.id)
        .values(signature=dedup.pack_signature(signature))
    )
    created = session.scalar(
        select(StorySignature.created_at).where(StorySignature.story_id == entry.id)
    )
    session.add_all(
        StoryBand(key=band, story_id=entry.id, created_at=created)
        for band in dict.fromkeys(dedup.bands(signature))
    )


def rekey_destinations(engine: Engine, ring: Keyring, batch: int = 500) -> int:
    """Remake every delivery's receiver key from its subscriber's (decrypted) address
    under the ring's blind index: keys made under an old key, and the plain
    ``webhook:http://host:port`` of rows written before receivers were keyed, alike (so
    old and new rows to one receiver still share the per-destination limit).

    Committed in batches and recomputed from the source: running it again finishes an
    interrupted run. Returns how many rows changed.
    """
    deliveries = table(
        "deliveries",
        column("id", Text()),
        column("subscriber_id", Text()),
        column("destination", Text()),
    )
    subscribers = table(
        "subscribers", column("id", Text()), column("channel", Text()), column("address", Text())
    )
    changed = 0
    last = ""
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.destination,
                    subscribers.c.channel,
                    subscribers.c.address,
                )
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                .where(deliveries.c.id > last)
                .order_by(deliveries.c.id)
                .limit(batch)
            ).all()
            for delivery_id, destination, channel, address in rows:
                fresh = outbox.destination_key(channel, ring.decrypt(address), ring.blind_index)
                if fresh != destination:
                    connection.execute(
                        update(deliveries)
                        .where(deliveries.c.id == delivery_id)
                        .values(destination=fresh)
                    )
                    changed += 1
        if len(rows) < batch:
            break
        last = rows[-1][0]
    return changed
