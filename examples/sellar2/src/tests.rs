//! Sellar2 against GEMSEO's reference answers and against finite differences.

use guest_sdk::{Error, testing};
use serde_json::{Value, json};

use crate::Sellar2;

fn number_array() -> Value {
    json!({"type": "array", "items": {"type": "number"}})
}

#[test]
fn grammars_are_gemseos() -> Result<(), Error> {
    let grammars = testing::grammars::<Sellar2>(&json!({}))?;
    let inputs = json!({
        "$schema": guest_sdk::DRAFT_07,
        "type": "object",
        "properties": {"x_2": number_array(), "x_shared": number_array(), "y_1": number_array()},
        "required": ["x_2", "x_shared", "y_1"],
    });
    let outputs = json!({
        "$schema": guest_sdk::DRAFT_07,
        "type": "object",
        "properties": {"y_2": number_array()},
        "required": ["y_2"],
    });
    assert_eq!(
        serde_json::to_string(&grammars.input_schema)?,
        inputs.to_string()
    );
    assert_eq!(
        serde_json::to_string(&grammars.output_schema)?,
        outputs.to_string()
    );
    let defaults = json!({"x_2": [0.0], "x_shared": [1.0, 0.0], "y_1": [1.0]});
    assert_eq!(
        serde_json::to_string(&grammars.default_inputs)?,
        defaults.to_string()
    );
    Ok(())
}

#[test]
fn outputs_at_defaults_are_gemseos() -> Result<(), Error> {
    let outputs = testing::execute::<Sellar2>(&json!({}), &json!({}))?;
    assert_eq!(Value::Object(outputs), json!({"y_2": [2.0]}));
    Ok(())
}

#[test]
fn jacobian_matches_finite_differences() -> Result<(), Error> {
    testing::check_jacobian::<Sellar2>(&json!({}), &json!({}), 1e-6, 1e-6)?;
    let inputs = json!({"x_2": [0.3, 1.2, -0.4], "x_shared": [1.5, 0.7], "y_1": [2.0, -0.5, 3.0]});
    testing::check_jacobian::<Sellar2>(&inputs, &json!({"n": 3, "k": 0.5}), 1e-6, 1e-6)
}
