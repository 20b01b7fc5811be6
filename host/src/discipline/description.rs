//! A discipline's description, checked once when its module is loaded.

use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::sandbox::GuestDescription;

/// A discipline whose self-description passed every check: names, schemas, defaults.
#[derive(Debug)]
pub struct Discipline {
    /// Stable name; the process id over REST.
    pub name: String,
    /// Version of the discipline.
    pub version: String,
    /// Human description.
    pub description: String,
    /// JSON Schema of the inputs object.
    pub input_schema: Value,
    /// JSON Schema of the outputs object.
    pub output_schema: Value,
    /// Default inputs (possibly partial), each valid against its property schema.
    pub default_inputs: Map<String, Value>,
    /// Whether `linearize` computes a Jacobian.
    pub has_jacobian: bool,
    /// Input names, in the schema's order.
    pub input_names: Vec<String>,
    /// Output names, in the schema's order.
    pub output_names: Vec<String>,
    pub(super) input_validator: Validator,
    pub(super) output_validator: Validator,
}

/// Why a guest's self-description is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptionError {
    /// The name is empty or has characters that cannot name a process.
    #[error("the discipline name {0:?} must be 1 to 128 letters, digits, '_', '-' or '.'")]
    BadName(String),
    /// The version is empty.
    #[error("the discipline version must not be empty")]
    EmptyVersion,
    /// A schema is not JSON, not an object schema, or not a valid JSON Schema.
    #[error("the {which} schema is invalid: {reason}")]
    BadSchema {
        /// "input" or "output".
        which: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The default inputs are not an object, name unknown inputs, or fail their own schema.
    #[error("the default inputs are invalid: {0}")]
    BadDefaults(String),
}

impl Discipline {
    /// Checks a guest's self-description and compiles its schemas.
    pub fn check(guest: GuestDescription) -> Result<Self, DescriptionError> {
        check_name(&guest.name)?;
        if guest.version.trim().is_empty() {
            return Err(DescriptionError::EmptyVersion);
        }
        let (input_schema, input_validator) = parse_schema("input", &guest.input_schema)?;
        let (output_schema, output_validator) = parse_schema("output", &guest.output_schema)?;
        let default_inputs = parse_defaults(&guest.default_inputs, &input_schema)?;
        Ok(Self {
            input_names: property_names(&input_schema),
            output_names: property_names(&output_schema),
            name: guest.name,
            version: guest.version,
            description: guest.description,
            input_schema,
            output_schema,
            default_inputs,
            has_jacobian: guest.has_jacobian,
            input_validator,
            output_validator,
        })
    }
}

fn check_name(name: &str) -> Result<(), DescriptionError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > 128 || !name.chars().all(allowed) {
        return Err(DescriptionError::BadName(name.to_owned()));
    }
    Ok(())
}

fn parse_schema(which: &'static str, text: &str) -> Result<(Value, Validator), DescriptionError> {
    let bad = |reason: String| DescriptionError::BadSchema { which, reason };
    let schema: Value = serde_json::from_str(text).map_err(|error| bad(error.to_string()))?;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(bad(
            "the root must be a schema of \"type\": \"object\"".into()
        ));
    }
    jsonschema::meta::validate(&schema).map_err(|error| bad(error.to_string()))?;
    let validator = jsonschema::validator_for(&schema).map_err(|error| bad(error.to_string()))?;
    Ok((schema, validator))
}

/// Default inputs must be an object of declared inputs, each valid against its own schema.
fn parse_defaults(
    text: &str,
    input_schema: &Value,
) -> Result<Map<String, Value>, DescriptionError> {
    let bad = DescriptionError::BadDefaults;
    let defaults: Map<String, Value> =
        serde_json::from_str(text).map_err(|error| bad(error.to_string()))?;
    let declared = property_names(input_schema);
    if let Some(unknown) = defaults
        .keys()
        .find(|name| !declared.is_empty() && !declared.contains(name))
    {
        return Err(bad(format!("{unknown:?} is not an input")));
    }
    let mut partial_schema = input_schema.clone();
    if let Some(schema) = partial_schema.as_object_mut() {
        schema.remove("required");
    }
    let validator =
        jsonschema::validator_for(&partial_schema).map_err(|error| bad(error.to_string()))?;
    let instance = Value::Object(defaults);
    if let Some(error) = validator.iter_errors(&instance).next() {
        return Err(bad(format!(
            "at {:?}: {error}",
            error.instance_path().as_str()
        )));
    }
    let Value::Object(defaults) = instance else {
        unreachable!("built from an object just above")
    };
    Ok(defaults)
}

fn property_names(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest() -> GuestDescription {
        GuestDescription {
            name: "Square".into(),
            version: "1.0.0".into(),
            description: "x²".into(),
            input_schema: r#"{"type":"object","properties":{"x":{"type":"array","items":{"type":"number"}}},"required":["x"]}"#.into(),
            output_schema: r#"{"type":"object","properties":{"y":{"type":"array","items":{"type":"number"}}}}"#.into(),
            default_inputs: r#"{"x":[2.0]}"#.into(),
            has_jacobian: false,
        }
    }

    #[test]
    fn a_sound_description_is_accepted_with_its_names() {
        let discipline = Discipline::check(guest()).expect("valid");
        assert_eq!(
            (discipline.input_names, discipline.output_names),
            (vec!["x".to_owned()], vec!["y".to_owned()])
        );
    }

    #[test]
    fn every_flaw_of_a_description_is_named() {
        type Spoil = fn(&mut GuestDescription);
        let cases: [(Spoil, &str); 7] = [
            (|d| d.name = "with space".into(), "discipline name"),
            (|d| d.version = " ".into(), "version"),
            (|d| d.input_schema = "{".into(), "input schema"),
            (
                |d| d.output_schema = r#"{"type":"array"}"#.into(),
                "output schema",
            ),
            (
                |d| d.default_inputs = r#"{"x":["two"]}"#.into(),
                "default inputs",
            ),
            (|d| d.default_inputs = "[1]".into(), "default inputs"),
            (
                |d| d.default_inputs = r#"{"z":[1.0]}"#.into(),
                "\"z\" is not an input",
            ),
        ];
        for (spoil, named) in cases {
            let mut description = guest();
            spoil(&mut description);
            let error = Discipline::check(description)
                .expect_err("refused")
                .to_string();
            assert!(error.contains(named), "{error}");
        }
    }
}
