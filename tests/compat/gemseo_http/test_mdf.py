"""The Sellar MDF optimisation through the server reaches GEMSEO's own optimum.

Three HTTPDisciplines (Sellar1, Sellar2, SellarSystem) in an MDF scenario solved with SLSQP,
with the Jacobians computed by the server, synchronously and asynchronously (long polling).
"""

from __future__ import annotations

import pytest
from gemseo import create_discipline
from gemseo import create_scenario
from gemseo.problems.mdo.sellar.sellar_design_space import SellarDesignSpace

SELLAR = ("Sellar1", "Sellar2", "SellarSystem")

REFERENCE_F_OPT = 3.183393962198803
"""The optimum of the reference server and of GEMSEO in-process (protocol document, §11.4)."""


def solve_mdf(disciplines):
    """The optimisation result of the Sellar MDF scenario over these disciplines."""
    scenario = create_scenario(disciplines, "obj", SellarDesignSpace(), formulation_name="MDF")
    scenario.add_constraint("c_1", constraint_type="ineq")
    scenario.add_constraint("c_2", constraint_type="ineq")
    scenario.execute(algo_name="SLSQP", max_iter=100)
    return scenario.optimization_result


@pytest.fixture(scope="module")
def local_f_opt():
    """The optimum reached with GEMSEO's in-process disciplines."""
    return solve_mdf(create_discipline(list(SELLAR))).f_opt


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_mdf_reaches_the_local_optimum(remote, local_f_opt, asynchronous):
    """The remote optimum is the reference one and the local one, to 1e-6."""
    result = solve_mdf([remote(name, asynchronous) for name in SELLAR])
    assert result.f_opt == pytest.approx(REFERENCE_F_OPT, abs=1e-6)
    assert result.f_opt == pytest.approx(local_f_opt, abs=1e-6)
    assert local_f_opt == pytest.approx(REFERENCE_F_OPT, abs=1e-6)
    assert result.x_opt[2] == pytest.approx(1.97763886, abs=1e-5)
