//! Helpers to test a discipline natively (`cargo test`), through the same JSON path the host
//! drives: options and inputs as JSON, default inputs merged first.

use serde_json::{Map, Value};

use crate::runtime::{self, WithJacobian, WithoutJacobian};
use crate::{Differentiable, Discipline, Error, Grammars, Jacobian};

/// The grammars of `D` for `options` (a JSON object).
pub fn grammars<D: Discipline>(options: &Value) -> Result<Grammars, Error> {
    Ok(runtime::describe::<D, WithoutJacobian>(&options.to_string())?.grammars)
}

/// The default inputs of `D` overridden by `inputs`, as the host completes them.
pub fn complete_inputs<D: Discipline>(inputs: &Value, options: &Value) -> Result<Value, Error> {
    let mut complete = grammars::<D>(options)?.default_inputs;
    let given = inputs
        .as_object()
        .ok_or_else(|| Error::invalid_input("inputs must be a JSON object"))?;
    complete.extend(
        given
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    Ok(Value::Object(complete))
}

/// Executes `D` on `inputs` completed by the defaults; returns the outputs object.
pub fn execute<D: Discipline>(
    inputs: &Value,
    options: &Value,
) -> Result<Map<String, Value>, Error> {
    let inputs = complete_inputs::<D>(inputs, options)?.to_string();
    let outputs = runtime::execute::<D>(&inputs, &options.to_string())?;
    Ok(serde_json::from_str(&outputs)?)
}

/// Linearizes `D` on `inputs` completed by the defaults, for all inputs and outputs.
pub fn linearize<D: Differentiable>(
    inputs: &Value,
    options: &Value,
) -> Result<(Map<String, Value>, Jacobian), Error> {
    let inputs = complete_inputs::<D>(inputs, options)?.to_string();
    let (outputs, jacobian) =
        runtime::linearize::<D, WithJacobian>(&inputs, &options.to_string(), &[], &[])?;
    Ok((
        serde_json::from_str(&outputs)?,
        serde_json::from_str(&jacobian)?,
    ))
}

/// The Jacobian of `D` at `inputs` by central finite differences, with the step
/// `step` × max(1, |component|) for each input component.
pub fn finite_differences<D: Discipline>(
    inputs: &Value,
    options: &Value,
    step: f64,
) -> Result<Jacobian, Error> {
    let Value::Object(point) = complete_inputs::<D>(inputs, options)? else {
        return Err(Error::invalid_input("inputs must be a JSON object"));
    };
    let mut jacobian = Jacobian::new();
    for (input, value) in &point {
        let Some(components) = value
            .as_array()
            .filter(|items| items.iter().all(Value::is_number))
        else {
            continue;
        };
        let mut columns = Vec::with_capacity(components.len());
        for (index, component) in components.iter().enumerate() {
            let step = step * component.as_f64().unwrap_or_default().abs().max(1.0);
            let plus = execute::<D>(&perturbed(&point, input, index, step), options)?;
            let minus = execute::<D>(&perturbed(&point, input, index, -step), options)?;
            columns.push(difference_quotient(&plus, &minus, 2.0 * step));
        }
        for (output, rows) in transpose(columns) {
            jacobian.insert(&output, input, rows);
        }
    }
    Ok(jacobian)
}

/// Checks the analytic Jacobian of `D` at `inputs` against central finite differences:
/// every entry must agree within `tolerance` × max(1, |finite difference|).
pub fn check_jacobian<D: Differentiable>(
    inputs: &Value,
    options: &Value,
    step: f64,
    tolerance: f64,
) -> Result<(), Error> {
    let (_, analytic) = linearize::<D>(inputs, options)?;
    let approximated = finite_differences::<D>(inputs, options, step)?;
    for (output, blocks) in approximated.blocks() {
        for (input, expected) in blocks {
            let found = analytic.get(output, input).ok_or_else(|| {
                Error::failure(format!("the analytic Jacobian lacks d{output}/d{input}"))
            })?;
            let close = |(found, expected): (&f64, &f64)| {
                (found - expected).abs() <= tolerance * expected.abs().max(1.0)
            };
            let rows_agree = found.len() == expected.len()
                && found
                    .iter()
                    .zip(expected)
                    .all(|(a, b)| a.len() == b.len() && a.iter().zip(b).all(close));
            if !rows_agree {
                return Err(Error::failure(format!(
                    "d{output}/d{input}: analytic {found:?}, finite differences {expected:?}"
                )));
            }
        }
    }
    Ok(())
}

fn perturbed(point: &Map<String, Value>, input: &str, index: usize, step: f64) -> Value {
    let mut point = point.clone();
    if let Some(component) = point.get_mut(input).and_then(|value| value.get_mut(index)) {
        *component = Value::from(component.as_f64().unwrap_or_default() + step);
    }
    Value::Object(point)
}

/// For each numeric output, (plus - minus) / width: one column of its Jacobian block.
fn difference_quotient(
    plus: &Map<String, Value>,
    minus: &Map<String, Value>,
    width: f64,
) -> Vec<(String, Vec<f64>)> {
    let numbers = |value: &Value| -> Option<Vec<f64>> {
        value.as_array()?.iter().map(Value::as_f64).collect()
    };
    plus.iter()
        .filter_map(|(name, value)| {
            let (plus, minus) = (numbers(value)?, numbers(minus.get(name)?)?);
            let column = plus
                .iter()
                .zip(&minus)
                .map(|(p, m)| (p - m) / width)
                .collect();
            Some((name.clone(), column))
        })
        .collect()
}

/// Turns per-input-component columns into per-output row-major blocks.
fn transpose(columns: Vec<Vec<(String, Vec<f64>)>>) -> Vec<(String, Vec<Vec<f64>>)> {
    let Some(first) = columns.first() else {
        return Vec::new();
    };
    let mut blocks: Vec<(String, Vec<Vec<f64>>)> = first
        .iter()
        .map(|(name, column)| (name.clone(), vec![Vec::new(); column.len()]))
        .collect();
    for column in &columns {
        for ((_, rows), (_, values)) in blocks.iter_mut().zip(column) {
            for (row, value) in rows.iter_mut().zip(values) {
                row.push(*value);
            }
        }
    }
    blocks
}
