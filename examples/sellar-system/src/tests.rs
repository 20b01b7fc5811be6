//! SellarSystem against GEMSEO's reference answers and against finite differences.

use guest_sdk::{Error, testing};
use serde_json::{Value, json};

use crate::SellarSystem;

fn number_array() -> Value {
    json!({"type": "array", "items": {"type": "number"}})
}

#[test]
fn grammars_are_gemseos() -> Result<(), Error> {
    let grammars = testing::grammars::<SellarSystem>(&json!({}))?;
    let properties = ["x_shared", "x_1", "x_2", "y_1", "y_2", "alpha", "beta"]
        .map(|name| (name, number_array()));
    let inputs = json!({
        "$schema": guest_sdk::DRAFT_07,
        "type": "object",
        "properties": serde_json::Map::from_iter(properties.map(|(name, schema)| (name.to_owned(), schema))),
        "required": ["alpha", "beta", "x_1", "x_2", "x_shared", "y_1", "y_2"],
    });
    let outputs = json!({
        "$schema": guest_sdk::DRAFT_07,
        "type": "object",
        "properties": {"obj": number_array(), "c_1": number_array(), "c_2": number_array()},
        "required": ["c_1", "c_2", "obj"],
    });
    assert_eq!(
        serde_json::to_string(&grammars.input_schema)?,
        inputs.to_string()
    );
    assert_eq!(
        serde_json::to_string(&grammars.output_schema)?,
        outputs.to_string()
    );
    let defaults = json!({
        "x_shared": [1.0, 0.0], "x_1": [0.0], "x_2": [0.0], "y_1": [1.0], "y_2": [1.0], "alpha": [3.16], "beta": [24.0],
    });
    assert_eq!(
        serde_json::to_string(&grammars.default_inputs)?,
        defaults.to_string()
    );
    Ok(())
}

#[test]
fn outputs_at_defaults_are_gemseos() -> Result<(), Error> {
    let outputs = testing::execute::<SellarSystem>(&json!({}), &json!({}))?;
    assert_eq!(
        Value::Object(outputs),
        json!({"obj": [1.3678794411714423], "c_1": [2.16], "c_2": [-23.0]})
    );
    Ok(())
}

#[test]
fn jacobian_matches_finite_differences() -> Result<(), Error> {
    testing::check_jacobian::<SellarSystem>(&json!({}), &json!({}), 1e-6, 1e-6)?;
    let inputs = json!({
        "x_shared": [1.5, 0.7], "x_1": [0.3, 1.2], "x_2": [-0.4, 2.0], "y_1": [2.0, -0.5], "y_2": [3.0, 0.1],
        "alpha": [3.16], "beta": [24.0],
    });
    testing::check_jacobian::<SellarSystem>(&inputs, &json!({"n": 2}), 1e-6, 1e-6)
}
