"""The server's Sellar disciplines answer as GEMSEO's own, through the gemseo-http client.

For each discipline and each point (the defaults, points given in part, a negative radicand of
Sellar1's square root, a negative y_1 for Sellar2's absolute value), the outputs and the
Jacobians computed by the server equal those of GEMSEO's in-process discipline: bit for bit for
Sellar1 and Sellar2, to 1e-12 for SellarSystem (the wasm guest's exponential comes from Rust's
libm, not from the C library numpy calls, and may differ in the last bit).
"""

from __future__ import annotations

import pytest
from gemseo import create_discipline
from gemseo.core.discipline import Discipline
from numpy import array
from numpy.testing import assert_allclose

TOLERANCE = {"rtol": 0.0, "atol": 1e-12}
"""The issue's bound: 1e-12."""

BIT_FOR_BIT = {"Sellar1", "Sellar2"}
"""Disciplines whose arithmetic is GEMSEO's, operation for operation."""


def tolerance(name):
    """How close ``name``'s answers must be to GEMSEO's."""
    return {"rtol": 0.0, "atol": 0.0} if name in BIT_FOR_BIT else TOLERANCE


POINTS = {
    "Sellar1": [
        {},
        {"x_1": [2.0]},
        {"x_1": [0.3], "x_shared": [2.0, 1.5], "y_2": [0.7], "gamma": [0.2]},
        {"x_1": [0.0], "x_shared": [0.5, 0.1], "y_2": [10.0], "gamma": [0.2]},
        {"x_1": [5.0], "x_shared": [-3.0, 7.0], "y_2": [-2.5], "gamma": [0.9]},
    ],
    "Sellar2": [
        {},
        {"y_1": [4.2]},
        {"x_2": [0.4], "x_shared": [2.0, 1.5], "y_1": [3.1]},
        {"x_2": [1.0], "x_shared": [-1.0, 0.3], "y_1": [-2.0]},
    ],
    "SellarSystem": [
        {},
        {"y_2": [0.5], "alpha": [1.0]},
        {
            "x_shared": [2.0, 1.5],
            "x_1": [0.3],
            "x_2": [0.4],
            "y_1": [3.1],
            "y_2": [0.7],
            "alpha": [3.16],
            "beta": [24.0],
        },
        {
            "x_shared": [-1.0, 4.0],
            "x_1": [7.0],
            "x_2": [2.0],
            "y_1": [-1.5],
            "y_2": [30.0],
            "alpha": [1.0],
            "beta": [5.0],
        },
    ],
}
"""Points per discipline; missing inputs take the defaults (n = 1)."""

DIFFERENTIATED = {
    "Sellar1": (["x_1", "y_2"], ["y_1"]),
    "Sellar2": (["x_shared", "y_1"], ["y_2"]),
    "SellarSystem": (["x_1", "x_shared", "y_2"], ["obj", "c_2"]),
}
"""A subset of (inputs, outputs) per discipline, for the Jacobian restricted to them."""


def as_arrays(point):
    """The point as GEMSEO wants it: float arrays."""
    return {name: array(value, dtype=float) for name, value in point.items()}


def local(name):
    """GEMSEO's own in-process discipline, without cache."""
    discipline = create_discipline(name)
    discipline.set_cache(Discipline.CacheType.NONE)
    return discipline


def dense(block):
    """A Jacobian block as a dense array (GEMSEO's own blocks may be sparse)."""
    return block.toarray() if hasattr(block, "toarray") else block


def snapshot(data, names):
    """Copies of the named values, safe from later executions."""
    return {name: array(data[name]) for name in names}


def assert_jacobians_equal(got, expected, output_names, input_names, name):
    """Every block ``d output / d input`` of the names is present in both and equal."""
    for output in output_names:
        for input_ in input_names:
            assert_allclose(
                dense(got[output][input_]),
                dense(expected[output][input_]),
                **tolerance(name),
                err_msg=f"d{output}/d{input_}",
            )


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", sorted(POINTS))
def test_outputs_equal_gemseo(remote, name, asynchronous):
    """The outputs equal GEMSEO's at every point."""
    expected_discipline, discipline = local(name), remote(name, asynchronous)
    output_names = list(expected_discipline.io.output_grammar)
    assert list(discipline.io.output_grammar) == output_names
    assert list(discipline.io.input_grammar) == list(expected_discipline.io.input_grammar)
    for point in POINTS[name]:
        expected = snapshot(expected_discipline.execute(as_arrays(point)), output_names)
        got = snapshot(discipline.execute(as_arrays(point)), output_names)
        for output in output_names:
            message = f"{output} at {point}"
            assert_allclose(got[output], expected[output], **tolerance(name), err_msg=message)


@pytest.mark.parametrize("name", sorted(POINTS))
def test_defaults_equal_gemseo(remote, name):
    """The default inputs the server announces are GEMSEO's."""
    expected = local(name).io.input_grammar.defaults
    got = remote(name).io.input_grammar.defaults
    assert sorted(got) == sorted(expected)
    for input_ in expected:
        assert_allclose(got[input_], expected[input_], **TOLERANCE, err_msg=input_)


@pytest.mark.parametrize("name", sorted(POINTS))
def test_complete_jacobians_equal_gemseo(remote, name):
    """``linearize(compute_all_jacobians=True)``: every output by every input equals GEMSEO's."""
    expected_discipline, discipline = local(name), remote(name)
    output_names = list(expected_discipline.io.output_grammar)
    input_names = list(expected_discipline.io.input_grammar)
    for point in POINTS[name]:
        expected = expected_discipline.linearize(as_arrays(point), compute_all_jacobians=True)
        got = discipline.linearize(as_arrays(point), compute_all_jacobians=True)
        assert_jacobians_equal(got, expected, output_names, input_names, name)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", sorted(POINTS))
def test_selected_jacobians_equal_gemseo(remote, name, asynchronous):
    """``linearize()`` after ``add_differentiated_*``: the requested blocks, equal to GEMSEO's."""
    expected_discipline, discipline = local(name), remote(name, asynchronous)
    inputs, outputs = DIFFERENTIATED[name]
    for differentiable in (expected_discipline, discipline):
        differentiable.add_differentiated_inputs(inputs)
        differentiable.add_differentiated_outputs(outputs)
    for point in POINTS[name]:
        expected = expected_discipline.linearize(as_arrays(point))
        got = discipline.linearize(as_arrays(point))
        assert sorted(got) == sorted(outputs)
        assert all(sorted(got[output]) == sorted(inputs) for output in outputs)
        assert_jacobians_equal(got, expected, outputs, inputs, name)


@pytest.mark.parametrize("name", ["Sellar1", "Sellar2"])
def test_discipline_options_change_the_grammars_as_in_gemseo(remote, name):
    """``discipline_options`` reach the discipline: n=2 and k=2 size and scale it as GEMSEO's."""
    options = {"n": 2, "k": 2.0}
    expected_discipline = create_discipline(name, **options)
    expected_discipline.set_cache(Discipline.CacheType.NONE)
    discipline = remote(name, discipline_options=options)
    defaults = expected_discipline.io.input_grammar.defaults
    for input_ in defaults:
        assert_allclose(discipline.io.input_grammar.defaults[input_], defaults[input_], atol=0)
    output_names = list(expected_discipline.io.output_grammar)
    point = {input_: value * 1.5 for input_, value in defaults.items()}
    expected = snapshot(expected_discipline.execute(as_arrays(point)), output_names)
    got = snapshot(discipline.execute(as_arrays(point)), output_names)
    for output in output_names:
        assert got[output].shape == (2,)
        assert_allclose(got[output], expected[output], **tolerance(name), err_msg=output)
    input_names = list(expected_discipline.io.input_grammar)
    expected = expected_discipline.linearize(as_arrays(point), compute_all_jacobians=True)
    got = discipline.linearize(as_arrays(point), compute_all_jacobians=True)
    assert_jacobians_equal(got, expected, output_names, input_names, name)
