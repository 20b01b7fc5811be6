//! A Jacobian returned by a guest, checked against the inputs and outputs it differentiates.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `{output: {input: matrix}}`: rows are output components, columns are input components.
pub type Jacobian = BTreeMap<String, BTreeMap<String, Vec<Vec<f64>>>>;

/// A Jacobian that does not match the variables it claims to differentiate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JacobianError {
    /// Not JSON of the right shape.
    #[error("the Jacobian is not an object of objects of number matrices: {0}")]
    Malformed(String),
    /// Names an output or input that does not exist.
    #[error("the Jacobian names an unknown {kind} {name:?}")]
    UnknownVariable {
        /// "output" or "input".
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A block's shape differs from (output size) × (input size).
    #[error(
        "the Jacobian block d{output}/d{input} is {rows}×{columns}, expected {expected_rows}×{expected_columns}"
    )]
    WrongShape {
        /// Output name.
        output: String,
        /// Input name.
        input: String,
        /// Rows found.
        rows: usize,
        /// Columns found (of the first ragged row, if any).
        columns: usize,
        /// Size of the output.
        expected_rows: usize,
        /// Size of the input.
        expected_columns: usize,
    },
}

/// Parses a guest's Jacobian and checks every block's shape against the array sizes of the
/// outputs and inputs it relates. Non-array variables are checked only by name.
pub fn check_jacobian(
    text: &str,
    inputs: &Map<String, Value>,
    outputs: &Map<String, Value>,
) -> Result<Jacobian, JacobianError> {
    let jacobian: Jacobian =
        serde_json::from_str(text).map_err(|error| JacobianError::Malformed(error.to_string()))?;
    for (output, blocks) in &jacobian {
        let output_value = outputs
            .get(output)
            .ok_or_else(|| JacobianError::UnknownVariable {
                kind: "output",
                name: output.clone(),
            })?;
        for (input, matrix) in blocks {
            let input_value = inputs
                .get(input)
                .ok_or_else(|| JacobianError::UnknownVariable {
                    kind: "input",
                    name: input.clone(),
                })?;
            check_block_shape(output, input, matrix, output_value, input_value)?;
        }
    }
    Ok(jacobian)
}

fn check_block_shape(
    output: &str,
    input: &str,
    matrix: &[Vec<f64>],
    output_value: &Value,
    input_value: &Value,
) -> Result<(), JacobianError> {
    let (Some(expected_rows), Some(expected_columns)) =
        (array_len(output_value), array_len(input_value))
    else {
        return Ok(());
    };
    let ragged = matrix.iter().find(|row| row.len() != expected_columns);
    let columns = ragged.or(matrix.first()).map_or(0, Vec::len);
    if matrix.len() != expected_rows || ragged.is_some() {
        return Err(JacobianError::WrongShape {
            output: output.to_owned(),
            input: input.to_owned(),
            rows: matrix.len(),
            columns,
            expected_rows,
            expected_columns,
        });
    }
    Ok(())
}

fn array_len(value: &Value) -> Option<usize> {
    value.as_array().map(Vec::len)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_well_shaped_jacobian_is_accepted() {
        let inputs = object(json!({"x": [1.0, 2.0]}));
        let outputs = object(json!({"f": [3.0]}));
        let jacobian = check_jacobian(r#"{"f": {"x": [[1.0, 2.0]]}}"#, &inputs, &outputs);
        assert_eq!(
            jacobian.map(|j| j["f"]["x"].clone()),
            Ok(vec![vec![1.0, 2.0]])
        );
    }

    #[test]
    fn a_block_of_the_wrong_shape_is_refused() {
        let inputs = object(json!({"x": [1.0, 2.0]}));
        let outputs = object(json!({"f": [3.0]}));
        let error = check_jacobian(r#"{"f": {"x": [[1.0]]}}"#, &inputs, &outputs);
        assert!(matches!(
            error,
            Err(JacobianError::WrongShape {
                rows: 1,
                columns: 1,
                expected_columns: 2,
                ..
            })
        ));
    }

    #[test]
    fn unknown_variables_are_refused() {
        let inputs = object(json!({"x": [1.0]}));
        let outputs = object(json!({"f": [3.0]}));
        let error = check_jacobian(r#"{"g": {"x": [[1.0]]}}"#, &inputs, &outputs);
        assert!(matches!(
            error,
            Err(JacobianError::UnknownVariable { kind: "output", .. })
        ));
    }
}
