"""The attribute catalogue: a small integer id for every attribute URN.

``scim_value`` rows carry the id instead of a 70-character URN, which keeps
its indexes small. Ids are assigned by the database on first sight of a URN,
so every process agrees on them; each process keeps the map in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Engine, select

from ..db import insert_ignoring_duplicates
from .tables import AttributeRow


class Catalogue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def ids(self, urns: Iterable[str]) -> dict[str, int]:
        """The ids of these URNs, registering the ones never seen before."""
        urns = set(urns)
        missing = urns - self._ids.keys()
        if missing:
            with self._lock:
                self._register(missing - self._ids.keys())
        return {urn: self._ids[urn] for urn in urns}

    def _register(self, urns: set[str]) -> None:
        # A connection of its own: the catalogue must survive the rollback of
        # the request that first needed it.
        with self.engine.begin() as connection:
            if urns:
                connection.execute(
                    insert_ignoring_duplicates(self.engine, AttributeRow.__table__), [{"urn": u} for u in sorted(urns)]
                )
            rows = connection.execute(select(AttributeRow.urn, AttributeRow.id))
            self._ids.update({urn: id_ for urn, id_ in rows})
