"""A Python client generated from the application's OpenAPI document, as an integrator makes one.

``openapi-python-client`` is run on the document exactly as ``/openapi.json`` serves it; what it
prints is kept for ``test_generator.py`` and the package it writes is imported under the name
``orderdesk_client``, so that flows can be driven through generated code only: a field the
document misnames or a schema it gets wrong shows up as a generated call that cannot be made.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from fastapi import FastAPI

from orderdesk.app import create_app
from orderdesk.settings import Settings
from tests.openapi.validation import response_hooks

PACKAGE = "orderdesk_client"
BASE_URL = "http://testserver"
# The generator's post-hooks run `ruff` from PATH; the project's own comes first.
VENV_BIN = Path(sys.executable).parent
# Lines a clean run prints; anything else is the generator complaining about the document.
QUIET_OUTPUT = re.compile(r"^(Generating .*|)$")
COMPLAINT = re.compile(r"warning|unable to|failure|error|cannot|could not", re.IGNORECASE)
ENDPOINT = re.compile(r'"method":\s*"(\w+)",\s*"url":\s*"([^"]*)"')


@dataclass(frozen=True)
class Generation:
    """One run of the generator: where it wrote, its exit status and everything it printed."""

    document_path: Path
    package_dir: Path
    returncode: int
    output: str

    def complaints(self) -> list[str]:
        """What the generator said beyond "Generating <dir>", paragraph by paragraph: warnings,
        unparsable schemas, unresolvable references, endpoints left out, and the JSON of each."""
        paragraphs = re.split(r"\n\s*\n", self.output.strip())
        return [p.strip() for p in paragraphs if p.strip() and not QUIET_OUTPUT.match(p.strip())]

    def headlines(self) -> list[str]:
        """Each distinct line naming a problem, for a failure message that fits on a screen."""
        lines = [line.strip() for line in self.output.splitlines()]
        named = [line for line in lines if COMPLAINT.search(line)]
        if not named:
            named = [c.splitlines()[0] for c in self.complaints()]
        return list(dict.fromkeys(named))


def application_document(directory: Path) -> dict[str, Any]:
    """The document ``/openapi.json`` serves; building it opens no database."""
    settings = Settings(
        database_url=f"sqlite:///{directory / 'unused.db'}",
        media_dir=directory / "media",
    )
    document: dict[str, Any] = create_app(settings, background=False).openapi()
    return document


# What the README tells integrators to give the generator (one content-type mapping).
GENERATOR_CONFIG = Path(__file__).with_name("openapi-python-client.yaml")


def generate(document: dict[str, Any], directory: Path) -> Generation:
    """Runs ``openapi-python-client generate`` on the document; never raises on its complaints."""
    document_path = directory / "openapi.json"
    document_path.write_text(json.dumps(document, indent=2))
    package_dir = directory / PACKAGE
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["NO_COLOR"] = "1"
    completed = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(document_path),
            "--output-path",
            str(package_dir),
            "--meta",
            "none",
            "--config",
            str(GENERATOR_CONFIG),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=directory,
        timeout=600,
        check=False,
    )
    return Generation(
        document_path, package_dir, completed.returncode, completed.stdout + completed.stderr
    )


def import_package(generation: Generation) -> ModuleType:
    """Imports the generated package (and every module of it, so that a generated module that
    does not even import fails here, with the generator's output to explain it)."""
    if generation.returncode != 0 or not (generation.package_dir / "__init__.py").exists():
        raise RuntimeError(
            f"openapi-python-client exited with {generation.returncode} and no package:\n"
            f"{generation.output}"
        )
    parent = str(generation.package_dir.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}."):
        importlib.import_module(module.name)
    return package


def forget_package(generation: Generation) -> None:
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]
    parent = str(generation.package_dir.parent)
    if parent in sys.path:
        sys.path.remove(parent)


def endpoints(package: ModuleType) -> dict[tuple[str, str], ModuleType]:
    """The generated endpoint modules by ``("POST", "/partner/order/create")``, read from the
    request each one builds, so that no naming rule of the generator is assumed."""
    api = importlib.import_module(f"{package.__name__}.api")
    found: dict[tuple[str, str], ModuleType] = {}
    for info in pkgutil.walk_packages(api.__path__, prefix=f"{api.__name__}."):
        module = importlib.import_module(info.name)
        source = Path(module.__file__ or "").read_text() if module.__file__ else ""
        match = ENDPOINT.search(source)
        if match and hasattr(module, "asyncio_detailed"):
            found[(match.group(1).upper(), match.group(2))] = module
    return found


class GeneratedClients:
    """Generated ``Client`` and ``AuthenticatedClient`` objects talking to one in-process app.

    Every answer they receive is checked against the document like the shared ``client``
    fixture's (tests/openapi/validation.py); ``aclose`` closes every client made.
    """

    def __init__(self, package: ModuleType, app: FastAPI) -> None:
        self.package = package
        self.app = app
        self._made: list[Any] = []
        self._endpoints: dict[tuple[str, str], ModuleType] | None = None

    def _httpx_args(self) -> dict[str, Any]:
        return {
            "transport": httpx.ASGITransport(app=self.app),
            "event_hooks": response_hooks(self.app.openapi),
        }

    def anonymous(self, *, headers: dict[str, str] | None = None) -> Any:
        """A ``Client``: for operations without credentials, or with them as explicit headers."""
        client = self.package.Client(
            base_url=BASE_URL, headers=headers or {}, httpx_args=self._httpx_args()
        )
        self._made.append(client)
        return client

    def authenticated(
        self,
        token: str,
        *,
        header: str = "Authorization",
        prefix: str = "Bearer",
        headers: dict[str, str] | None = None,
    ) -> Any:
        """An ``AuthenticatedClient`` sending ``token`` in ``header`` after ``prefix`` (an empty
        prefix sends the bare token, as the partner ``token`` and ``X-Api-Key`` headers want)."""
        client = self.package.AuthenticatedClient(
            base_url=BASE_URL,
            token=token,
            prefix=prefix,
            auth_header_name=header,
            headers=headers or {},
            httpx_args=self._httpx_args(),
        )
        self._made.append(client)
        return client

    def endpoint(self, method: str, path: str) -> ModuleType:
        """The generated module of one operation, by its method and path template."""
        if self._endpoints is None:
            self._endpoints = endpoints(self.package)
        key = (method.upper(), path)
        if key not in self._endpoints:
            known = "\n  ".join(f"{m} {p}" for m, p in sorted(self._endpoints))
            raise LookupError(
                f"the generated client has no {method.upper()} {path} (the generator left it "
                f"out: see test_generator.py); it has:\n  {known}"
            )
        return self._endpoints[key]

    @staticmethod
    def body_model(endpoint: ModuleType) -> Any:
        """The generated model class an operation takes as ``body``, whatever the generator
        named it (it names models after the schemas' titles, not their component keys)."""
        hints = typing.get_type_hints(endpoint.asyncio_detailed)
        for candidate in typing.get_args(hints["body"]) or (hints["body"],):
            if hasattr(candidate, "from_dict"):
                return candidate
        raise LookupError(f"{endpoint.__name__} takes no model as its body: {hints['body']}")

    async def aclose(self) -> None:
        for client in self._made:
            await client.get_async_httpx_client().aclose()
        self._made.clear()
