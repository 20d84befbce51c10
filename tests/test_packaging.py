"""Packaging for users: the conda environment matches pyproject, and docker-compose.yml (parsed,
as no Docker engine runs here) has the properties a server deployment needs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRET_VARS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "WORKBENCH_SECRET_KEY", "JUPYTER_TOKEN")


def requirement(spec: str) -> tuple[str, str]:
    """('celery', '>=5.4') from 'celery[redis]>=5.4', names normalised as pip does."""
    match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", spec.strip())
    assert match, spec
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(3).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    return dict(requirement(s) for s in specs)


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    return dict(requirement(s) for s in pip if not s.startswith("-e"))


def test_environment_yml_lists_the_same_dependencies() -> None:
    assert conda_requirements() == pyproject_requirements()


def test_requirement_parser_sees_differences() -> None:
    assert requirement("Pydantic_Settings >= 2.2") == ("pydantic-settings", ">=2.2")
    assert {**pyproject_requirements(), "extra-package": ""} != conda_requirements()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_postgres_15_private_with_health_check(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert pg["image"].startswith("postgres:15")
    assert "ports" not in pg
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    volume = pg["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_redis_7_password_and_append_only(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    command = " ".join(redis["command"])
    assert "--requirepass" in command and "--appendonly yes" in command
    assert "ports" not in redis
    assert "healthcheck" in redis


@pytest.mark.parametrize("name", ["jupyterlab", "scheduler"])
def test_app_services_migrate_first_and_wait_for_healthy_services(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    command = " ".join(service["command"])
    assert command.startswith("workbench db upgrade && ")
    assert service["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert service["build"] == "."
    assert service["environment"]["WORKBENCH_ENV"] == "production"


def test_worker_service_runs_celery(compose: dict[str, Any]) -> None:
    assert compose["services"]["worker"]["command"] == ["worker"]


def test_every_service_is_hardened(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert "backend" in service["networks"], name


def test_only_jupyterlab_publishes_and_only_on_loopback(compose: dict[str, Any]) -> None:
    assert compose["networks"]["backend"]["internal"] is True
    published = {n: s["ports"] for n, s in compose["services"].items() if "ports" in s}
    assert published == {"jupyterlab": ["127.0.0.1:8888:8888"]}


def test_no_literal_secrets_and_env_example_defines_them(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert set(SECRET_VARS) <= referenced
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "TOKEN")):
                assert str(value).startswith("${"), key
    example = (ROOT / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, flags=re.M))
    assert referenced <= defined


def test_dockerfile_does_not_run_as_root() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
