"""Failures reach the gemseo-http client with the server's own message.

The client raises: ``RuntimeError`` with the HTTP status and the ``detail`` of a failed schema
call (unknown discipline, bad token); ``RuntimeError`` with the job's ``traceback`` for a failed
execution (inputs refused by the server, guest failure), synchronously and asynchronously;
``ConnectionError`` when ``POST /token`` refuses the user and password.
"""

from __future__ import annotations

import httpx
import pytest
from gemseo import create_discipline
from numpy import array
from numpy.testing import assert_allclose

MODES = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


def server_detail(server, path: str) -> str:
    """The ``detail`` the server answers to ``POST path`` with the test user's token."""
    with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
        response = client.post(
            path,
            json={"discipline_options": {}},
            headers={"Authorization": f"Bearer {server.token}"},
        )
    assert response.status_code == 404
    return response.json()["detail"]


def test_unknown_discipline_fails_at_construction_with_404(remote, server):
    """The schema call answers 404 and the client shows the server's detail."""
    detail = server_detail(server, "/v1/discipline/NoSuchDiscipline/inputs_schema")
    assert detail
    with pytest.raises(RuntimeError, match="failed with error code 404") as error:
        remote("NoSuchDiscipline")
    assert detail in str(error.value)


def test_invalid_token_fails_at_construction_with_401(remote):
    """A token the server does not know: 401 at the first schema call."""
    with pytest.raises(RuntimeError, match="failed with error code 401"):
        remote("Sellar1", token="not-a-token")


@MODES
def test_inputs_refused_by_the_server(remote, asynchronous):
    """With the client's own validation off, the server's validation message comes back."""
    discipline = remote("Sellar1", asynchronous)
    discipline.validate_input_data = False
    with pytest.raises(RuntimeError) as error:
        discipline.execute({"x_1": "abc"})
    message = str(error.value)
    assert '"abc"' in message
    assert "array" in message


@MODES
def test_guest_failure(remote, asynchronous):
    """Sellar1 refuses an x_1 of two components when n = 1 (GEMSEO's would broadcast)."""
    discipline = remote("Sellar1", asynchronous)
    with pytest.raises(RuntimeError, match=r"'x_1' must have 1 component\(s\), not 2"):
        discipline.execute({"x_1": array([1.0, 2.0])})


@MODES
def test_discipline_still_works_after_a_failure(remote, asynchronous):
    """A failed execution leaves the client and the server usable."""
    discipline = remote("Sellar1", asynchronous)
    with pytest.raises(RuntimeError):
        discipline.execute({"x_1": array([1.0, 2.0])})
    expected = create_discipline("Sellar1").execute({"x_1": array([1.5])})["y_1"]
    assert_allclose(discipline.execute({"x_1": array([1.5])})["y_1"], expected, rtol=0, atol=1e-12)


def test_token_obtained_from_user_and_password(remote, server):
    """Without a token the client logs in with ``POST /token`` and uses the token it gets."""
    discipline = remote("Sellar1", token="", user=server.user, password=server.password)
    expected = create_discipline("Sellar1").execute()["y_1"]
    assert_allclose(discipline.execute()["y_1"], expected, rtol=0, atol=1e-12)


def test_wrong_password_is_a_connection_error(remote, server):
    """``POST /token`` refuses a wrong password with 401."""
    with pytest.raises(ConnectionError, match="Request ended with 401"):
        remote("Sellar1", token="", user=server.user, password=server.password + "-wrong")
