"""The deployment files agree with the program they deploy, without a container engine.

A Dockerfile, a compose file and an operator's guide are read by people and tools that never
run the test suite; a renamed setting or a dropped ``serve`` option would break them silently.
These tests read them as text and YAML and check them against the settings and the command line
of this very checkout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.core import TyperGroup

from orderdesk.cli import cli
from orderdesk.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

SETTING_NAME = re.compile(r"\bORDERDESK_[A-Z0-9]+(?:_[A-Z0-9]+)*")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def known_settings() -> set[str]:
    return {f"ORDERDESK_{name.upper()}" for name in Settings.model_fields}


def unknown_settings(text: str) -> set[str]:
    """``ORDERDESK_*`` names in ``text`` that no setting answers to (the program refuses them)."""
    return set(SETTING_NAME.findall(text)) - known_settings()


def interpolate(value: str) -> str:
    """What compose makes of ``value`` with no variables set: defaults used, required ones
    given a placeholder (compose itself refuses to start without them)."""

    def one(match: re.Match[str]) -> str:
        op, arg = match["op"], match["arg"]
        if op in (":-", "-"):
            return arg
        return "required-value" if op in (":?", "?") else ""

    return INTERPOLATION.sub(one, value)


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[tuple[str, str]]] = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, arguments.strip()))
    return stages


def instructions(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


def command_options(name: str) -> set[str]:
    """Every option string the ``orderdesk <name>`` command accepts."""
    group = typer.main.get_command(cli)
    assert isinstance(group, TyperGroup)
    command = group.commands[name]
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def check_arguments(argv: list[str]) -> None:
    """``argv`` (after ``orderdesk``) names a real command, and only options that command has."""
    group = typer.main.get_command(cli)
    assert isinstance(group, TyperGroup)
    assert argv and argv[0] in group.commands, f"unknown command in {argv}"
    options = {arg for arg in argv[1:] if arg.startswith("--")}
    assert options <= command_options(argv[0]), (argv, options - command_options(argv[0]))


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_builds_in_a_stage_of_its_own_and_runs_from_slim_python_311() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a build stage and a runtime stage"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.MULTILINE)
    froms = [stage[0][1] for stage in stages]
    assert froms[0].endswith("AS build"), froms
    assert froms[-1].startswith("${PYTHON_IMAGE}"), froms
    build_steps = " ".join(instructions(stages[0], "RUN"))
    assert "pip wheel" in build_steps or "pip install" in build_steps
    copies = instructions(stages[-1], "COPY")
    assert copies, "the runtime stage takes the installed environment from the build stage"
    assert all(copy.startswith("--from=build ") for copy in copies), "no source in the runtime"


def test_runtime_stage_runs_unprivileged() -> None:
    runtime = dockerfile_stages()[-1]
    users = instructions(runtime, "USER")
    assert users, "the runtime stage must name a user"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_healthcheck_asks_health_without_curl() -> None:
    runtime = dockerfile_stages()[-1]
    (healthcheck,) = instructions(runtime, "HEALTHCHECK")
    (port,) = instructions(runtime, "EXPOSE")
    assert re.search(rf"http://127\.0\.0\.1:{port}/health['\"]", healthcheck), healthcheck
    assert "python" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck


def test_entrypoint_and_default_command_are_real_cli_options() -> None:
    runtime = dockerfile_stages()[-1]
    (entrypoint,) = instructions(runtime, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["orderdesk"]
    (command,) = instructions(runtime, "CMD")
    argv = json.loads(command)
    # The container's network namespace is the boundary, so the server listens on every address.
    assert argv[:3] == ["serve", "--host", "0.0.0.0"], argv  # noqa: S104
    check_arguments(argv)


def test_media_directory_is_a_volume() -> None:
    runtime = dockerfile_stages()[-1]
    env = " ".join(instructions(runtime, "ENV"))
    match = re.search(r"ORDERDESK_MEDIA_DIR=(\S+)", env)
    assert match, "the image says where media go"
    volumes = " ".join(instructions(runtime, "VOLUME"))
    assert match[1] in volumes


def test_dockerignore_sends_only_what_the_build_reads() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "everything is excluded first"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        part.rstrip("/")
        for copy in instructions(dockerfile_stages()[0], "COPY")
        for part in copy.split()[:-1]
        if not part.startswith("--")
    }
    assert copied <= included, copied - included


# --- compose.yaml ----------------------------------------------------------------------------


def test_compose_names_its_services_with_healthchecks() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "orderdesk"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15"
    for name in ("postgres", "redis", "orderdesk"):
        assert services[name]["healthcheck"]["test"], name
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_compose_migrates_once_before_serving() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    depends = services["orderdesk"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_are_real_cli_options() -> None:
    services = compose()["services"]
    for name in ("migrate", "orderdesk"):
        check_arguments([interpolate(arg) for arg in services[name]["command"]])
    serve = [interpolate(arg) for arg in services["orderdesk"]["command"]]
    workers = int(serve[serve.index("--workers") + 1])
    assert workers > 1, "several workers share the container"


def test_compose_shares_request_budgets_through_redis_and_outlives_graceful_shutdown() -> None:
    orderdesk = compose()["services"]["orderdesk"]
    assert orderdesk["environment"]["ORDERDESK_RATE_LIMIT_STORAGE"].startswith("redis://redis:")
    assert orderdesk["depends_on"]["redis"]["condition"] == "service_healthy"
    grace = re.fullmatch(r"(\d+)s", orderdesk["stop_grace_period"])
    assert grace and int(grace[1]) > 30, "serve finishes requests for 30 s after SIGTERM"


def test_compose_environments_are_valid_settings() -> None:
    """Each service's ``ORDERDESK_*`` values, as compose would pass them, are accepted."""
    for name, service in compose()["services"].items():
        environment = service.get("environment") or {}
        values = {
            key.removeprefix("ORDERDESK_").lower(): interpolate(str(value))
            for key, value in environment.items()
            if key.startswith("ORDERDESK_")
        }
        assert not unknown_settings(" ".join(environment)), name
        Settings.model_validate(values)


# --- settings named anywhere -----------------------------------------------------------------


@pytest.mark.parametrize("path", [DOCKERFILE, COMPOSE, DEPLOY_DOC], ids=lambda p: p.name)
def test_every_orderdesk_variable_named_is_a_real_setting(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not unknown_settings(text), f"{path.name} names settings that do not exist"


def test_an_unknown_variable_is_caught() -> None:
    assert unknown_settings("ORDERDESK_DB_POOL_SIZE=5 ORDERDESK_DB_POOL_MAX=9") == {
        "ORDERDESK_DB_POOL_MAX"
    }
    assert unknown_settings("every `ORDERDESK_*` variable") == set()


def test_deploy_doc_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/deploy.md" in readme
