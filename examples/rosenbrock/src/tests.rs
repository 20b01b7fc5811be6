//! Rosenbrock: values, options and gradient against finite differences.

use guest_sdk::{Error, testing};
use serde_json::{Value, json};

use crate::Rosenbrock;

#[test]
fn values_at_known_points() -> Result<(), Error> {
    assert_eq!(
        Value::Object(testing::execute::<Rosenbrock>(&json!({}), &json!({}))?),
        json!({"f": [1.0]})
    );
    let minimum =
        testing::execute::<Rosenbrock>(&json!({"x": [1.0, 1.0, 1.0]}), &json!({"dimension": 3}))?;
    assert_eq!(Value::Object(minimum), json!({"f": [0.0]}));
    Ok(())
}

#[test]
fn dimension_changes_schema_and_defaults() -> Result<(), Error> {
    let grammars = testing::grammars::<Rosenbrock>(&json!({"dimension": 4}))?;
    assert_eq!(
        Value::Object(grammars.default_inputs),
        json!({"x": [0.0, 0.0, 0.0, 0.0]})
    );
    let x = grammars.input_schema["properties"]["x"].clone();
    assert_eq!(
        (x["minItems"].clone(), x["maxItems"].clone()),
        (json!(4), json!(4))
    );
    assert!(!x.to_string().contains("format"));
    let error = testing::grammars::<Rosenbrock>(&json!({"dimension": 1})).err();
    assert_eq!(
        error,
        Some(Error::invalid_input("dimension must be at least 2, not 1"))
    );
    Ok(())
}

#[test]
fn wrong_length_is_an_invalid_input() {
    let error = testing::execute::<Rosenbrock>(&json!({"x": [1.0, 2.0, 3.0]}), &json!({})).err();
    assert_eq!(
        error,
        Some(Error::invalid_input("x must have 2 components, not 3"))
    );
}

#[test]
fn gradient_matches_finite_differences() -> Result<(), Error> {
    testing::check_jacobian::<Rosenbrock>(&json!({}), &json!({}), 1e-6, 1e-6)?;
    let inputs = json!({"x": [-1.2, 1.0, 0.5, 2.0, -0.3]});
    testing::check_jacobian::<Rosenbrock>(&inputs, &json!({"dimension": 5}), 1e-6, 1e-6)
}
