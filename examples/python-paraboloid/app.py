"""A discipline written in Python: f = sum((x - c)**2), with its gradient."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.discipline import (
    Description,
    Error_InvalidInput,
    Linearization,
)

INPUT_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "x": {"type": "array", "items": {"type": "number"}},
        "c": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 1},
    },
    "required": ["x", "c"],
    "additionalProperties": False,
}
OUTPUT_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"f": {"type": "array", "items": {"type": "number"}}},
    "required": ["f"],
    "additionalProperties": False,
}
DEFAULTS = {"x": [0.0, 0.0], "c": [1.0]}


def _parse(inputs):
    values = json.loads(inputs)
    x, c = values["x"], values["c"][0]
    if not x:
        raise Err(Error_InvalidInput("x must have at least one component"))
    return x, c


class Discipline(exports.Discipline):
    def describe(self, options):
        if json.loads(options):
            raise Err(Error_InvalidInput("this discipline takes no options"))
        return Description(
            name="PythonParaboloid",
            version="1.0.0",
            description="f = sum((x - c)^2) with its gradient, written in Python (componentize-py).",
            input_schema=json.dumps(INPUT_SCHEMA),
            output_schema=json.dumps(OUTPUT_SCHEMA),
            default_inputs=json.dumps(DEFAULTS),
            has_jacobian=True,
        )

    def execute(self, inputs, options):
        x, c = _parse(inputs)
        return json.dumps({"f": [sum((value - c) ** 2 for value in x)]})

    def linearize(self, inputs, options, inputs_to_differentiate, outputs_to_differentiate):
        x, c = _parse(inputs)
        outputs = json.dumps({"f": [sum((value - c) ** 2 for value in x)]})
        jacobian = {"f": {
            "x": [[2.0 * (value - c) for value in x]],
            "c": [[sum(-2.0 * (value - c) for value in x)]],
        }}
        wanted = set(inputs_to_differentiate) or {"x", "c"}
        jacobian = {"f": {name: block for name, block in jacobian["f"].items() if name in wanted}}
        return Linearization(outputs=outputs, jacobian=json.dumps(jacobian))
