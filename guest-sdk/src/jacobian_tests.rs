//! Unit tests of the Jacobian builder and of its restriction to requested blocks.

use serde_json::json;

use super::*;

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn inputs() -> Map<String, Value> {
    object(json!({"x": [1.0, 2.0], "s": 3.0, "file": "data.csv"}))
}

fn outputs() -> Map<String, Value> {
    object(json!({"f": [0.5], "g": [1.0, 2.0, 3.0], "name": "out.csv"}))
}

#[test]
fn all_numeric_blocks_are_kept_and_missing_ones_are_zero() -> Result<(), Error> {
    let computed = Jacobian::new()
        .with("f", "x", matrix::row(&[1.0, 2.0]))
        .with("g", "s", matrix::column(&[4.0, 5.0, 6.0]));
    let restricted = computed.restrict(&inputs(), &outputs(), &[], &[])?;
    let expected = json!({
        "f": {"s": [[0.0]], "x": [[1.0, 2.0]]},
        "g": {"s": [[4.0], [5.0], [6.0]], "x": [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]},
    });
    assert_eq!(serde_json::to_value(&restricted)?, expected);
    Ok(())
}

#[test]
fn only_requested_blocks_are_kept() -> Result<(), Error> {
    let computed = Jacobian::new()
        .with("f", "x", matrix::row(&[1.0, 2.0]))
        .with("g", "x", matrix::zeros(3, 2))
        .with("f", "unknown", matrix::zeros(1, 1));
    let restricted = computed.restrict(&inputs(), &outputs(), &names(&["x"]), &names(&["f"]))?;
    assert_eq!(
        serde_json::to_value(&restricted)?,
        json!({"f": {"x": [[1.0, 2.0]]}})
    );
    Ok(())
}

#[test]
fn unknown_or_non_numeric_names_are_invalid_inputs() {
    let restrict = |input: &str, output: &str| {
        Jacobian::new()
            .restrict(&inputs(), &outputs(), &names(&[input]), &names(&[output]))
            .err()
    };
    assert_eq!(
        restrict("y", "f"),
        Some(Error::invalid_input("unknown input 'y'"))
    );
    assert_eq!(
        restrict("x", "h"),
        Some(Error::invalid_input("unknown output 'h'"))
    );
    assert_eq!(
        restrict("file", "f"),
        Some(Error::invalid_input(
            "input 'file' is not numeric and has no derivative"
        ))
    );
}

#[test]
fn wrong_shapes_and_non_finite_entries_are_failures() {
    let wrong_shape = Jacobian::new().with("f", "x", matrix::column(&[1.0, 2.0]));
    let error = wrong_shape.restrict(&inputs(), &outputs(), &[], &[]).err();
    assert!(
        matches!(error, Some(Error::Failure(message)) if message.contains("df/dx must have 1 rows of 2 columns"))
    );
    let not_finite = Jacobian::new().with("f", "s", matrix::row(&[f64::NAN]));
    let error = not_finite.restrict(&inputs(), &outputs(), &[], &[]).err();
    assert!(matches!(error, Some(Error::Failure(message)) if message.contains("not finite")));
}

#[test]
fn matrix_builders() {
    assert_eq!(
        matrix::diagonal(&[1.0, 2.0]),
        vec![vec![1.0, 0.0], vec![0.0, 2.0]]
    );
    assert_eq!(
        matrix::scaled_identity(2, -1.0),
        vec![vec![-1.0, 0.0], vec![0.0, -1.0]]
    );
    assert_eq!(matrix::filled(1, 2, 1.0), vec![vec![1.0, 1.0]]);
    assert_eq!(matrix::column(&[1.0, 2.0]), vec![vec![1.0], vec![2.0]]);
}
