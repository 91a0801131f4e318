"""docker-compose.yml and .env.example as a deployer reads them (no container engine needed)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT

APP = ("migrate", "worker", "beat", "api")


def services() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return dict(data["services"])


def test_one_service_builds_the_image_every_app_service_runs() -> None:
    found = services()
    assert [name for name, s in found.items() if "build" in s] == ["migrate"]
    images = {found[name]["image"] for name in APP}
    assert images == {"${RIGHTSWATCH_IMAGE:-localhost/rightswatch:latest}"}


def test_the_api_is_published_on_loopback_by_default() -> None:
    assert services()["api"]["ports"] == ["${RIGHTSWATCH_API_PORT:-127.0.0.1:8000}:8000"]


def test_every_service_has_rotated_logs_and_limits() -> None:
    for name, service in services().items():
        assert service["logging"]["options"]["max-size"], name
        assert service["mem_limit"] and service["cpus"], name


def test_app_services_read_an_optional_env_file_and_mount_the_config() -> None:
    for name in APP:
        service = services()[name]
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        assert "./config:/app/config:ro" in service["volumes"], name


def test_each_service_gets_only_the_secrets_it_needs() -> None:
    env = {name: services()[name]["environment"] for name in APP}
    assert "RIGHTSWATCH_API_TOKEN" in env["api"]
    assert all("RIGHTSWATCH_API_TOKEN" not in env[n] for n in ("migrate", "worker", "beat"))
    # every service that touches encrypted columns has the key: the API (subscribers'
    # addresses), beat and migrate (they mirror the YAML's names at start), the workers
    assert all("RIGHTSWATCH_ENCRYPTION_KEY" in env[n] for n in APP)
    # beat sends nothing and serves nothing
    assert not [k for k in env["beat"] if k.endswith(("SECRET_KEY", "TOKEN", "SMTP_URL"))]


def test_the_configuration_is_not_baked_into_the_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^COPY\b.*\bconfig\b", dockerfile, re.M)
    assert "config" in (ROOT / ".dockerignore").read_text().split()
    assert "apprise" in dockerfile


def test_env_example_lists_every_setting_the_readme_lists() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Environment settings", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(RIGHTSWATCH_[A-Z_]+)`", table))
    example = (ROOT / ".env.example").read_text()
    missing = sorted(name for name in listed if name not in example)
    assert listed and not missing, missing
