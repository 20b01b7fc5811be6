//! What the exported functions do, in plain Rust: decode options and inputs, call the
//! discipline, encode outputs and the Jacobian. Independent of the generated bindings.

use serde_json::{Map, Value};

use crate::{Differentiable, Discipline, Error, Grammars, Jacobian};

/// The self-description of a discipline for one set of options.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// Stable identifier, e.g. "Sellar1".
    pub name: String,
    /// Version of the discipline.
    pub version: String,
    /// One paragraph for humans.
    pub description: String,
    /// Schemas and default inputs.
    pub grammars: Grammars,
    /// Whether `linearize` computes a Jacobian.
    pub has_jacobian: bool,
}

/// Whether and how a discipline is linearized: chosen by `export_discipline!`.
pub trait Linearization<D: Discipline> {
    /// Whether `linearize` computes a Jacobian.
    const HAS_JACOBIAN: bool;

    /// Computes the outputs and their Jacobian.
    fn linearize(inputs: &D::Inputs, options: &D::Options)
    -> Result<(D::Outputs, Jacobian), Error>;
}

/// The discipline implements [`Differentiable`].
#[derive(Debug)]
pub struct WithJacobian;

/// The discipline has no Jacobian: `linearize` fails.
#[derive(Debug)]
pub struct WithoutJacobian;

impl<D: Differentiable> Linearization<D> for WithJacobian {
    const HAS_JACOBIAN: bool = true;

    fn linearize(
        inputs: &D::Inputs,
        options: &D::Options,
    ) -> Result<(D::Outputs, Jacobian), Error> {
        D::linearize(inputs, options)
    }
}

impl<D: Discipline> Linearization<D> for WithoutJacobian {
    const HAS_JACOBIAN: bool = false;

    fn linearize(_: &D::Inputs, _: &D::Options) -> Result<(D::Outputs, Jacobian), Error> {
        Err(Error::failure(format!(
            "the discipline {} provides no Jacobian",
            D::NAME
        )))
    }
}

/// Describes discipline `D` for `options` (a JSON object; "" counts as "{}").
pub fn describe<D: Discipline, L: Linearization<D>>(options: &str) -> Result<Description, Error> {
    let options = decode_options::<D>(options)?;
    let mut grammars = Grammars::derive::<D::Inputs, D::Outputs>()?;
    D::adapt_grammars(&options, &mut grammars)?;
    Ok(Description {
        name: D::NAME.to_owned(),
        version: D::VERSION.to_owned(),
        description: D::DESCRIPTION.to_owned(),
        grammars,
        has_jacobian: L::HAS_JACOBIAN,
    })
}

/// Executes discipline `D` on complete `inputs`; returns the outputs object as JSON text.
pub fn execute<D: Discipline>(inputs: &str, options: &str) -> Result<String, Error> {
    let options = decode_options::<D>(options)?;
    let outputs = D::execute(decode("inputs", inputs)?, &options)?;
    Ok(serde_json::to_string(&outputs)?)
}

/// Linearizes discipline `D`; returns the outputs and the restricted Jacobian as JSON text.
pub fn linearize<D: Discipline, L: Linearization<D>>(
    inputs: &str,
    options: &str,
    input_names: &[String],
    output_names: &[String],
) -> Result<(String, String), Error> {
    let options = decode_options::<D>(options)?;
    let inputs: D::Inputs = decode("inputs", inputs)?;
    let (outputs, jacobian) = L::linearize(&inputs, &options)?;
    let input_values = as_object(serde_json::to_value(&inputs)?, "inputs")?;
    let output_values = as_object(serde_json::to_value(&outputs)?, "outputs")?;
    let jacobian = jacobian.restrict(&input_values, &output_values, input_names, output_names)?;
    Ok((
        serde_json::to_string(&output_values)?,
        serde_json::to_string(&jacobian)?,
    ))
}

fn decode_options<D: Discipline>(options: &str) -> Result<D::Options, Error> {
    let options = if options.trim().is_empty() {
        "{}"
    } else {
        options
    };
    decode("options", options)
}

/// Decodes JSON text into `T`; the error names the failing field, e.g. `x_1[0]: invalid type…`.
fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at '{path}'")
        };
        Error::invalid_input(format!("invalid {what}{at}: {}", error.inner()))
    })?;
    deserializer
        .end()
        .map_err(|error| Error::invalid_input(format!("invalid {what}: {error}")))?;
    Ok(value)
}

fn as_object(value: Value, what: &str) -> Result<Map<String, Value>, Error> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Error::failure(format!(
            "the {what} must serialize to a JSON object, not {other}"
        ))),
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
