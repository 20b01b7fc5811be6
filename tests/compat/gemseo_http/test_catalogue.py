"""Every discipline the server offers works through GEMSEO's client as it is.

Its JSON schemas are accepted by GEMSEO's JSON grammar, its defaults by the client, and its
outputs (and Jacobian, when it has one) at the defaults are those of the server's own OGC
execution route: the two faces are one core.
"""

from __future__ import annotations

import httpx
import pytest
from numpy.testing import assert_allclose

NEEDS_A_FILE = {"CsvColumnStatistics"}
"""Disciplines whose defaults name a workspace file (tested with uploads in test_files.py)."""


def offered(server) -> list[str]:
    """The disciplines listed by ``GET /v1/discipline``."""
    with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
        response = client.get(
            "/v1/discipline", headers={"Authorization": f"Bearer {server.token}"}
        )
    assert response.status_code == 200
    return response.json()


def ogc_execution(server, name: str, linearize: bool) -> dict:
    """The OGC route's answer at the defaults: outputs, and the Jacobian if asked for."""
    body = {"inputs": {}, "linearize": {}} if linearize else {"inputs": {}}
    with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
        headers = {"Authorization": f"Bearer {server.token}"}
        description = client.get(f"/processes/{name}", headers=headers).json()
        if linearize and not description["hasJacobian"]:
            return {}
        response = client.post(f"/processes/{name}/execution", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_catalogue_is_the_expected_one(server):
    """The server of these tests offers the examples the other tests rely on."""
    names = offered(server)
    for name in ("Sellar1", "Sellar2", "SellarSystem", "CsvColumnStatistics", "Rosenbrock"):
        assert name in names


def test_every_discipline_runs_through_the_client_at_its_defaults(server, remote):
    """Outputs and Jacobians through HTTPDiscipline equal the OGC route's, for every discipline."""
    for name in offered(server):
        if name in NEEDS_A_FILE:
            continue
        discipline = remote(name)
        outputs = discipline.execute()
        expected = ogc_execution(server, name, linearize=False)
        for output, value in expected.items():
            assert_allclose(outputs[output], value, rtol=0, atol=0, err_msg=f"{name}.{output}")
        with_jacobian = ogc_execution(server, name, linearize=True)
        if not with_jacobian:
            continue
        jacobian = discipline.linearize(compute_all_jacobians=True)
        for output, blocks in with_jacobian["jacobian"].items():
            for input_, block in blocks.items():
                assert_allclose(
                    jacobian[output][input_], block, rtol=0, atol=0, err_msg=f"{name} d{output}/d{input_}"
                )


@pytest.mark.parametrize("name", ["Rosenbrock"])
def test_names_follow_the_schemas_order(server, remote, name):
    """Input and output names come in the order of the schema's properties, as GEMSEO reads it."""
    with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
        headers = {"Authorization": f"Bearer {server.token}"}
        inputs = client.post(f"/v1/discipline/{name}/input_names", json={}, headers=headers)
        outputs = client.post(f"/v1/discipline/{name}/output_names", json={}, headers=headers)
    discipline = remote(name)
    assert list(discipline.io.input_grammar) == inputs.json()
    assert list(discipline.io.output_grammar) == outputs.json()
