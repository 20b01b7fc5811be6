//! The Jacobian of a discipline's outputs with respect to its inputs, and its restriction to the
//! blocks a caller asked for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// A dense matrix, row by row.
pub type Matrix = Vec<Vec<f64>>;

/// `{output: {input: matrix}}`: in each block, rows are output components and columns are input
/// components, as GEMSEO expects. Blocks left out are zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Jacobian(BTreeMap<String, BTreeMap<String, Matrix>>);

impl Jacobian {
    /// An empty Jacobian (every block zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the block d`output`/d`input`, builder style.
    #[must_use]
    pub fn with(mut self, output: &str, input: &str, block: Matrix) -> Self {
        self.insert(output, input, block);
        self
    }

    /// Adds (or replaces) the block d`output`/d`input`.
    pub fn insert(&mut self, output: &str, input: &str, block: Matrix) {
        self.0
            .entry(output.to_owned())
            .or_default()
            .insert(input.to_owned(), block);
    }

    /// The block d`output`/d`input`, if it was set.
    pub fn get(&self, output: &str, input: &str) -> Option<&Matrix> {
        self.0.get(output)?.get(input)
    }

    /// All blocks, by output then input.
    pub fn blocks(&self) -> &BTreeMap<String, BTreeMap<String, Matrix>> {
        &self.0
    }

    /// Keeps the blocks of `output_names` with respect to `input_names` (empty = every numeric
    /// variable), fills the missing ones with zeros and checks every shape against the sizes of
    /// the given input and output values.
    pub(crate) fn restrict(
        mut self,
        inputs: &Map<String, Value>,
        outputs: &Map<String, Value>,
        input_names: &[String],
        output_names: &[String],
    ) -> Result<Self, Error> {
        let inputs = numeric_sizes(inputs, input_names, "input")?;
        let outputs = numeric_sizes(outputs, output_names, "output")?;
        let mut restricted = Self::new();
        for (output, rows) in &outputs {
            let mut computed = self.0.remove(*output).unwrap_or_default();
            for (input, columns) in &inputs {
                let block = computed
                    .remove(*input)
                    .unwrap_or_else(|| matrix::zeros(*rows, *columns));
                check_block(output, input, &block, *rows, *columns)?;
                restricted.insert(output, input, block);
            }
        }
        Ok(restricted)
    }
}

/// The number of components of each variable to differentiate, in order.
fn numeric_sizes<'a>(
    values: &'a Map<String, Value>,
    requested: &'a [String],
    kind: &str,
) -> Result<Vec<(&'a str, usize)>, Error> {
    if requested.is_empty() {
        let numeric = values
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), numeric_size(value)?)));
        return Ok(numeric.collect());
    }
    let size_of = |name: &'a String| {
        let value = values
            .get(name)
            .ok_or_else(|| Error::invalid_input(format!("unknown {kind} '{name}'")))?;
        let size = numeric_size(value).ok_or_else(|| {
            Error::invalid_input(format!(
                "{kind} '{name}' is not numeric and has no derivative"
            ))
        })?;
        Ok((name.as_str(), size))
    };
    requested.iter().map(size_of).collect()
}

/// The number of components of a number (1) or an array of numbers; `None` for anything else.
fn numeric_size(value: &Value) -> Option<usize> {
    match value {
        Value::Number(_) => Some(1),
        Value::Array(items) if items.iter().all(Value::is_number) => Some(items.len()),
        _ => None,
    }
}

fn check_block(
    output: &str,
    input: &str,
    block: &Matrix,
    rows: usize,
    columns: usize,
) -> Result<(), Error> {
    let shape_is_right = block.len() == rows && block.iter().all(|row| row.len() == columns);
    if !shape_is_right {
        let found: Vec<usize> = block.iter().map(Vec::len).collect();
        return Err(Error::failure(format!(
            "the Jacobian block d{output}/d{input} must have {rows} rows of {columns} columns, \
             found rows of lengths {found:?}"
        )));
    }
    if block.iter().flatten().any(|entry| !entry.is_finite()) {
        return Err(Error::failure(format!(
            "the Jacobian block d{output}/d{input} is not finite"
        )));
    }
    Ok(())
}

/// Builders of common Jacobian blocks.
pub mod matrix {
    use super::Matrix;

    /// A `rows` × `columns` matrix of zeros.
    pub fn zeros(rows: usize, columns: usize) -> Matrix {
        filled(rows, columns, 0.0)
    }

    /// A `rows` × `columns` matrix whose entries are all `value`.
    pub fn filled(rows: usize, columns: usize, value: f64) -> Matrix {
        vec![vec![value; columns]; rows]
    }

    /// The square matrix with `diagonal` on its diagonal.
    pub fn diagonal(diagonal: &[f64]) -> Matrix {
        let size = diagonal.len();
        let row = |(index, value): (usize, &f64)| {
            let mut row = vec![0.0; size];
            row[index] = *value;
            row
        };
        diagonal.iter().enumerate().map(row).collect()
    }

    /// The `size` × `size` identity matrix scaled by `scale`.
    pub fn scaled_identity(size: usize, scale: f64) -> Matrix {
        diagonal(&vec![scale; size])
    }

    /// A matrix of one row (the gradient of a scalar output).
    pub fn row(values: &[f64]) -> Matrix {
        vec![values.to_vec()]
    }

    /// A matrix of one column (the derivative with respect to a scalar input).
    pub fn column(values: &[f64]) -> Matrix {
        values.iter().map(|value| vec![*value]).collect()
    }
}

#[cfg(test)]
#[path = "jacobian_tests.rs"]
mod tests;
