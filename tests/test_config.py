"""Settings are validated once, at start-up, and a bad one names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scim_server.config import ConfigurationError, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///instance/scim.db"
    assert settings.bulk_max_operations == 1000


def test_environment_overrides_file_and_unrelated_variables_are_ignored(tmp_path: Path) -> None:
    config = tmp_path / "scim.toml"
    config.write_text("SCIM_MAX_RESULTS = 50\nSCIM_DEFAULT_PAGE_SIZE = 10\n")
    settings = load_settings(environ={"SCIM_CONFIG_FILE": str(config), "SCIM_MAX_RESULTS": "70", "SCIM_TEST_X": "1"})
    assert (settings.max_results, settings.default_page_size) == (70, 10)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"SCIM_MAX_RESULTS": "lots"}, "SCIM_MAX_RESULTS"),
        ({"SCIM_BASE_URL": "not a url"}, "SCIM_BASE_URL"),
        ({"SCIM_LOG_LEVEL": "LOUD"}, "SCIM_LOG_LEVEL"),
        ({"SCIM_SECRET_KEY": "short"}, "SCIM_SECRET_KEY"),
    ],
)
def test_invalid_settings_name_their_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        load_settings(environ=environ)


def test_unknown_key_in_the_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "scim.toml"
    config.write_text("SCIM_MAX_RESULT = 50\n")
    with pytest.raises(ConfigurationError, match="SCIM_MAX_RESULT"):
        load_settings(environ={"SCIM_CONFIG_FILE": str(config)})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no file"):
        load_settings(environ={"SCIM_CONFIG_FILE": str(tmp_path / "absent.toml")})
