"""``ORDERDESK_*`` variables a platform sets: unknown names warn once, service links are silent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from orderdesk import settings as settings_module
from orderdesk.settings import SettingsError, load_settings, unknown_variables
from tests.servers import free_port

WARNING = "orderdesk: warning: ignoring unknown settings: "

# What Kubernetes sets in every pod of a namespace with a service named "orderdesk" (ports
# "http" 8000/TCP and "metrics" 9100/UDP).
SERVICE_LINKS = {
    "ORDERDESK_SERVICE_HOST": "10.0.0.11",
    "ORDERDESK_SERVICE_PORT": "8000",
    "ORDERDESK_SERVICE_PORT_HTTP": "8000",
    "ORDERDESK_SERVICE_PORT_METRICS_UDP": "9100",
    "ORDERDESK_PORT": "tcp://10.0.0.11:8000",
    "ORDERDESK_PORT_8000_TCP": "tcp://10.0.0.11:8000",
    "ORDERDESK_PORT_8000_TCP_PROTO": "tcp",
    "ORDERDESK_PORT_8000_TCP_PORT": "8000",
    "ORDERDESK_PORT_8000_TCP_ADDR": "10.0.0.11",
    "ORDERDESK_PORT_9100_UDP_ADDR": "10.0.0.11",
    "ORDERDESK_PORT_9100_SCTP": "sctp://10.0.0.11:9100",
}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.pop(settings_module.REPORTED_MARK, None)
    return {**env, **extra}


def test_service_links_are_not_unknown_settings() -> None:
    assert unknown_variables(SERVICE_LINKS) == []


@pytest.mark.parametrize(
    "name",
    [
        "ORDERDESK_DATABASE_ULR",  # a typo of a real setting
        "ORDERDESK_SERVICE_HOSTNAME",
        "ORDERDESK_PORT_HTTP",  # ports are numbered in these names, named only after SERVICE_PORT
        "ORDERDESK_PORT_8000",
        "ORDERDESK_PORT_8000_TCP_HOST",
        "ORDERDESK_PORT_8000_HTTP",
        "ORDERDESK_SERVICE_PORT_",
    ],
)
def test_names_that_only_look_like_service_links_are_unknown(name: str) -> None:
    assert unknown_variables({name: "x", "ORDERDESK_DATABASE_URL": "sqlite://"}) == [name]


def test_unknown_names_are_reported_once_per_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("ORDERDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv(settings_module.REPORTED_MARK, raising=False)
    monkeypatch.setattr(settings_module, "_reported", False)
    monkeypatch.setenv("ORDERDESK_TOKEN_TTL", "30")
    monkeypatch.setenv("ORDERDESK_FEATURE_X", "on")
    for key, value in SERVICE_LINKS.items():
        monkeypatch.setenv(key, value)
    assert load_settings().token_ttl_days == 30
    load_settings()
    assert capsys.readouterr().err == f"{WARNING}ORDERDESK_FEATURE_X, ORDERDESK_TOKEN_TTL\n"


def test_malformed_known_setting_still_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERDESK_TOKEN_TTL_DAYS", "soon")
    monkeypatch.setenv("ORDERDESK_SOMETHING_NEW", "1")
    with pytest.raises(SettingsError, match=r"^ORDERDESK_TOKEN_TTL_DAYS: "):
        load_settings()


def test_command_runs_with_one_warning_line(tmp_path: Path) -> None:
    env = _clean_env(ORDERDESK_NO_SUCH_SETTING="1", **SERVICE_LINKS)
    proc = subprocess.run(
        [sys.executable, "-m", "orderdesk", "migrate", "--database-url", "sqlite:///x.db"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"{WARNING}ORDERDESK_NO_SUCH_SETTING\n"


@pytest.mark.processes
def test_serve_with_workers_warns_once_not_once_per_worker(tmp_path: Path) -> None:
    """The workers inherit the environment the parent already reported on."""
    port = free_port()
    env = _clean_env(ORDERDESK_NO_SUCH_SETTING="1", ORDERDESK_LOG_LEVEL="warning")
    command = [sys.executable, "-m", "orderdesk", "serve", "--workers", "2", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*command, "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            # Both workers are up when requests keep being answered; give each time to start.
            deadline = time.monotonic() + 60
            answered = 0
            while answered < 20 and time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).raise_for_status()
                    answered += 1
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert answered == 20, log.read_text()
            time.sleep(2)  # a worker that would warn has had time to
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    output = log.read_text()
    assert output.count("ignoring unknown settings") == 1, output


def test_variables_read_by_command_options_are_not_unknown() -> None:
    assert unknown_variables({"ORDERDESK_WEBHOOK_SECRET": "s3cret"}) == []
