//! Inputs prepared for a guest: unknown names refused, defaults merged, the schema enforced.

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::Discipline;

/// An input that does not fit the discipline's grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// JSON pointer to the failing member, relative to the inputs object (e.g. "/x_1/0").
    pub pointer: String,
    /// What is wrong, for humans.
    pub message: String,
}

impl Discipline {
    /// Merges `given` over the defaults and validates the result against the input schema.
    pub fn prepare_inputs(&self, given: Map<String, Value>) -> Result<Value, InputError> {
        self.refuse_unknown_inputs(&given)?;
        let mut merged = self.default_inputs.clone();
        merged.extend(given);
        let merged = Value::Object(merged);
        if let Some(error) = self.input_validator.iter_errors(&merged).next() {
            let mut pointer = error.instance_path().as_str().to_owned();
            if let ValidationErrorKind::Required { property } = error.kind() {
                pointer.push('/');
                pointer.push_str(&escape_pointer_token(property.as_str().unwrap_or_default()));
            }
            return Err(InputError {
                pointer,
                message: error.to_string(),
            });
        }
        Ok(merged)
    }

    /// Checks a guest's outputs against the output schema.
    pub fn check_outputs(&self, outputs: &Value) -> Result<(), InputError> {
        match self.output_validator.iter_errors(outputs).next() {
            None => Ok(()),
            Some(error) => Err(InputError {
                pointer: error.instance_path().as_str().to_owned(),
                message: error.to_string(),
            }),
        }
    }

    fn refuse_unknown_inputs(&self, given: &Map<String, Value>) -> Result<(), InputError> {
        if self.input_names.is_empty() {
            return Ok(());
        }
        match given.keys().find(|name| !self.input_names.contains(name)) {
            None => Ok(()),
            Some(unknown) => Err(InputError {
                pointer: format!("/{}", escape_pointer_token(unknown)),
                message: format!(
                    "unknown input {unknown:?}; {} takes {}",
                    self.name,
                    self.input_names.join(", ")
                ),
            }),
        }
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub(super) fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
