//! Unit tests of the JSON path: options and inputs decoding, execute and linearize.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;
use crate::{NoOptions, matrix};

#[derive(Serialize, Deserialize, JsonSchema)]
struct Inputs {
    x: Vec<f64>,
}

#[derive(Serialize, JsonSchema)]
struct Outputs {
    y: Vec<f64>,
}

// y = 2 x
struct Double;

impl Discipline for Double {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = NoOptions;
    const NAME: &'static str = "Double";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "Doubles x.";

    fn execute(inputs: Inputs, _: &NoOptions) -> Result<Outputs, Error> {
        Ok(Outputs {
            y: inputs.x.iter().map(|x| 2.0 * x).collect(),
        })
    }
}

impl Differentiable for Double {
    fn linearize(inputs: &Inputs, options: &NoOptions) -> Result<(Outputs, Jacobian), Error> {
        let jacobian = Jacobian::new().with("y", "x", matrix::scaled_identity(inputs.x.len(), 2.0));
        Ok((
            Self::execute(
                Inputs {
                    x: inputs.x.clone(),
                },
                options,
            )?,
            jacobian,
        ))
    }
}

#[test]
fn execute_round_trips_json() -> Result<(), Error> {
    assert_eq!(
        execute::<Double>(r#"{"x": [1.0, 2.5]}"#, "{}")?,
        r#"{"y":[2.0,5.0]}"#
    );
    assert_eq!(execute::<Double>(r#"{"x": []}"#, "")?, r#"{"y":[]}"#);
    Ok(())
}

#[test]
fn undecodable_inputs_name_the_failing_field() {
    let error = execute::<Double>(r#"{"x": [1.0, "a"]}"#, "{}").err();
    assert!(
        matches!(&error, Some(Error::InvalidInput(message)) if message.starts_with("invalid inputs at 'x[1]': invalid type")),
        "{error:?}"
    );
    let error = execute::<Double>(r#"{}"#, "{}").err();
    assert!(
        matches!(&error, Some(Error::InvalidInput(message)) if message.contains("missing field `x`")),
        "{error:?}"
    );
    let error = execute::<Double>(r#"{"x": []} trailing"#, "{}").err();
    assert!(matches!(&error, Some(Error::InvalidInput(_))), "{error:?}");
}

#[test]
fn unknown_options_are_rejected() {
    let error = describe::<Double, WithoutJacobian>(r#"{"n": 2}"#).err();
    assert!(
        matches!(&error, Some(Error::InvalidInput(message)) if message.contains("unknown field `n`")),
        "{error:?}"
    );
}

#[test]
fn describe_reports_the_linearization() -> Result<(), Error> {
    assert!(describe::<Double, WithJacobian>("{}")?.has_jacobian);
    let description = describe::<Double, WithoutJacobian>("{}")?;
    assert!(!description.has_jacobian);
    assert_eq!(
        (description.name.as_str(), description.version.as_str()),
        ("Double", "1.0.0")
    );
    Ok(())
}

#[test]
fn linearize_without_jacobian_fails() {
    let error = linearize::<Double, WithoutJacobian>(r#"{"x": [1.0]}"#, "{}", &[], &[]).err();
    assert_eq!(
        error,
        Some(Error::failure("the discipline Double provides no Jacobian"))
    );
}

#[test]
fn linearize_returns_outputs_and_jacobian() -> Result<(), Error> {
    let (outputs, jacobian) =
        linearize::<Double, WithJacobian>(r#"{"x": [1.0, 3.0]}"#, "{}", &[], &[])?;
    assert_eq!(outputs, r#"{"y":[2.0,6.0]}"#);
    assert_eq!(
        serde_json::from_str::<Value>(&jacobian)?,
        json!({"y": {"x": [[2.0, 0.0], [0.0, 2.0]]}})
    );
    Ok(())
}

#[test]
fn testing_helpers_check_the_jacobian() -> Result<(), Error> {
    crate::testing::check_jacobian::<Double>(&json!({"x": [1.0, -2.0]}), &json!({}), 1e-6, 1e-6)
}
