"""scim2-server's storage contract, run against SqlStorage on the test database.

Every filter of the suite is checked against scim2-models' in-memory
evaluator on the same resources, so the SQL translation cannot drift from the
RFC semantics the library implements.
"""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import ScimProvider
from scim2_server.testing import ScimStorageContract

from scim_server import ScimServerState
from scim_server.storage.sql import SqlStorage


class TestSqlStorageContract(ScimStorageContract):
    @pytest.fixture
    def provider(self, state: ScimServerState) -> ScimProvider:
        return state.storage.provider

    @pytest.fixture
    def storage(self, state: ScimServerState) -> SqlStorage:
        return state.storage

    def search_users(self) -> list[dict[str, Any]]:
        return super().search_users()
