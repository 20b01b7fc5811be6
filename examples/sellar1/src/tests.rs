//! Sellar1 against GEMSEO's reference answers and against finite differences.

use guest_sdk::{Error, testing};
use serde_json::{Value, json};

use crate::Sellar1;

fn number_array() -> Value {
    json!({"type": "array", "items": {"type": "number"}})
}

#[test]
fn grammars_are_gemseos() -> Result<(), Error> {
    let grammars = testing::grammars::<Sellar1>(&json!({}))?;
    let inputs = json!({
        "$schema": guest_sdk::DRAFT_07,
        "type": "object",
        "properties": {"x_1": number_array(), "x_shared": number_array(), "y_2": number_array(), "gamma": number_array()},
        "required": ["gamma", "x_1", "x_shared", "y_2"],
    });
    let outputs = json!({
        "$schema": guest_sdk::DRAFT_07,
        "type": "object",
        "properties": {"y_1": number_array()},
        "required": ["y_1"],
    });
    assert_eq!(
        serde_json::to_string(&grammars.input_schema)?,
        inputs.to_string()
    );
    assert_eq!(
        serde_json::to_string(&grammars.output_schema)?,
        outputs.to_string()
    );
    let defaults = json!({"x_1": [0.0], "x_shared": [1.0, 0.0], "y_2": [1.0], "gamma": [0.2]});
    assert_eq!(
        serde_json::to_string(&grammars.default_inputs)?,
        defaults.to_string()
    );
    Ok(())
}

#[test]
fn outputs_at_defaults_are_gemseos() -> Result<(), Error> {
    let outputs = testing::execute::<Sellar1>(&json!({}), &json!({}))?;
    assert_eq!(Value::Object(outputs), json!({"y_1": [0.8944271909999159]}));
    Ok(())
}

#[test]
fn jacobian_matches_finite_differences() -> Result<(), Error> {
    testing::check_jacobian::<Sellar1>(&json!({}), &json!({}), 1e-6, 1e-6)?;
    let inputs = json!({"x_1": [0.3, 1.2, -0.4], "x_shared": [1.5, 0.7], "y_2": [2.0, 0.5, 3.0], "gamma": [0.3]});
    testing::check_jacobian::<Sellar1>(&inputs, &json!({"n": 3, "k": 2.0}), 1e-6, 1e-6)
}

#[test]
fn options_resize_the_defaults() -> Result<(), Error> {
    let grammars = testing::grammars::<Sellar1>(&json!({"n": 2}))?;
    let defaults =
        json!({"x_1": [0.0, 0.0], "x_shared": [1.0, 0.0], "y_2": [1.0, 1.0], "gamma": [0.2]});
    assert_eq!(Value::Object(grammars.default_inputs), defaults);
    assert!(testing::grammars::<Sellar1>(&json!({"n": 0})).is_err());
    Ok(())
}

#[test]
fn wrong_sizes_are_invalid_inputs() {
    let error = testing::execute::<Sellar1>(&json!({"x_shared": [1.0]}), &json!({})).err();
    assert_eq!(
        error,
        Some(Error::invalid_input(
            "'x_shared' must have 2 component(s), not 1"
        ))
    );
}
