"""Fixtures driving GEMSEO's own gemseo-http client against a running disciplines server.

The server is started by the Rust integration test, which passes it to pytest through the
environment:

- ``DISCIPLINES_PORT``: the port on 127.0.0.1;
- ``DISCIPLINES_TOKEN``: a bearer token of a user;
- ``DISCIPLINES_USER``, ``DISCIPLINES_PASSWORD``: that user's name and password.

Without ``DISCIPLINES_PORT`` every test is skipped, so that running pytest by hand without a
server says so instead of failing on connection errors.

The client is used the way its quirks require (docs/gemseo-http-protocol.md §11.2): an httpx
client with ``base_url`` set and a timeout longer than the long polls, and the discipline cache
off so that the server's Jacobians are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
import pytest
from gemseo.core.discipline import Discipline
from gemseo_http.http_discipline import HTTPDiscipline

URL = "http://127.0.0.1"
"""The server's scheme and host; the client adds ``:{port}`` itself."""

POLLING_WAIT_TIME = 10.0
"""The long-polling timeout the client sends in asynchronous mode, in seconds."""

HTTP_TIMEOUT = 60.0
"""The httpx timeout: longer than a long poll and than any synchronous execution."""


@dataclass(frozen=True)
class Server:
    """The server under test and the user the tests act as."""

    port: int
    token: str
    user: str
    password: str

    @property
    def base_url(self) -> str:
        """The URL the httpx client needs as ``base_url``."""
        return f"{URL}:{self.port}"


def pytest_collection_modifyitems(config, items):
    """Skips every test when no server was given."""
    if os.environ.get("DISCIPLINES_PORT"):
        return
    skip = pytest.mark.skip(
        reason="no server: DISCIPLINES_PORT is not set (these tests are run by the Rust "
        "integration test, which starts a server and sets DISCIPLINES_PORT, "
        "DISCIPLINES_TOKEN, DISCIPLINES_USER and DISCIPLINES_PASSWORD)"
    )
    for item in items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def server() -> Server:
    """The server given by the environment."""
    return Server(
        port=int(os.environ["DISCIPLINES_PORT"]),
        token=os.environ.get("DISCIPLINES_TOKEN", ""),
        user=os.environ.get("DISCIPLINES_USER", ""),
        password=os.environ.get("DISCIPLINES_PASSWORD", ""),
    )


@pytest.fixture
def remote(server):
    """A factory of ``HTTPDiscipline`` bound to the server, closing its httpx clients afterwards.

    ``remote(class_name, asynchronous=False, **options)``: ``options`` go to ``HTTPDiscipline``
    and may replace the defaults (e.g. ``token=""`` with ``user`` and ``password``).
    """
    clients = []

    def make(class_name: str, asynchronous: bool = False, **options) -> HTTPDiscipline:
        client = httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT)
        clients.append(client)
        arguments = {
            "name": class_name,
            "class_name": class_name,
            "url": URL,
            "port": server.port,
            "token": server.token,
            "is_asynchronous": asynchronous,
            "polling_wait_time": POLLING_WAIT_TIME,
            "http_client": client,
        }
        arguments.update(options)
        discipline = HTTPDiscipline(**arguments)
        discipline.set_cache(Discipline.CacheType.NONE)
        return discipline

    yield make
    for client in clients:
        client.close()
