//! Unit tests of schema post-processing and default extraction.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;

// The inputs of GEMSEO's Sellar1, with their defaults.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(default)]
struct SellarLikeInputs {
    x_1: Vec<f64>,
    x_shared: Vec<f64>,
    y_2: Vec<f64>,
    gamma: Vec<f64>,
}

impl Default for SellarLikeInputs {
    fn default() -> Self {
        Self {
            x_1: vec![0.0],
            x_shared: vec![1.0, 0.0],
            y_2: vec![1.0],
            gamma: vec![0.2],
        }
    }
}

#[derive(Serialize, JsonSchema)]
struct SellarLikeOutputs {
    y_1: Vec<f64>,
}

fn number_array() -> Value {
    json!({"type": "array", "items": {"type": "number"}})
}

#[test]
fn sellar1_grammars_are_gemseos() -> Result<(), Error> {
    let grammars = Grammars::derive::<SellarLikeInputs, SellarLikeOutputs>()?;
    let expected_inputs = json!({
        "$schema": DRAFT_07,
        "type": "object",
        "properties": {"x_1": number_array(), "x_shared": number_array(), "y_2": number_array(), "gamma": number_array()},
        "required": ["gamma", "x_1", "x_shared", "y_2"],
    });
    assert_eq!(
        serde_json::to_string(&grammars.input_schema)?,
        expected_inputs.to_string()
    );
    assert_eq!(
        Value::Object(grammars.output_schema.clone()),
        json!({"$schema": DRAFT_07, "type": "object", "properties": {"y_1": number_array()}, "required": ["y_1"]}),
    );
    let defaults = json!({"x_1": [0.0], "x_shared": [1.0, 0.0], "y_2": [1.0], "gamma": [0.2]});
    assert_eq!(
        serde_json::to_string(&grammars.default_inputs)?,
        defaults.to_string()
    );
    assert_eq!(grammars.input_names(), ["x_1", "x_shared", "y_2", "gamma"]);
    Ok(())
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Shape {
    Square,
    RoundedCorner,
}

// Field-level defaults, integers (schemars emits "format": "uint64"), a nested struct,
// an enum and a property named "format".
#[derive(Serialize, Deserialize, JsonSchema)]
struct MixedInputs {
    #[serde(default = "three")]
    count: u64,
    format: String,
    shape: Shape,
    nested: Nested,
    #[serde(default)]
    label: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Nested {
    ratio: f32,
    sizes: Vec<i32>,
}

fn three() -> u64 {
    3
}

fn contains_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key(key) || map.values().any(|value| contains_key(value, key))
        }
        Value::Array(items) => items.iter().any(|value| contains_key(value, key)),
        _ => false,
    }
}

#[test]
fn formats_are_removed_but_data_named_format_is_kept() -> Result<(), Error> {
    let grammars = Grammars::derive::<MixedInputs, SellarLikeOutputs>()?;
    let properties = grammars
        .input_schema
        .get("properties")
        .cloned()
        .unwrap_or_default();
    assert_eq!(properties["format"], json!({"type": "string"}));
    assert_eq!(
        properties["count"],
        json!({"type": "integer", "minimum": 0})
    );
    assert_eq!(
        properties["shape"],
        json!({"type": "string", "enum": ["square", "rounded-corner"]})
    );
    let nested_without_format = properties["nested"]
        .as_object()
        .map(|nested| !nested.contains_key("format"));
    assert_eq!(nested_without_format, Some(true));
    assert!(!contains_key(&properties["nested"], "format"));
    assert!(!contains_key(&properties["count"], "default"));
    Ok(())
}

#[test]
fn field_defaults_move_to_default_inputs_and_become_required() -> Result<(), Error> {
    let grammars = Grammars::derive::<MixedInputs, SellarLikeOutputs>()?;
    assert_eq!(
        Value::Object(grammars.default_inputs.clone()),
        json!({"count": 3, "label": ""})
    );
    assert_eq!(
        grammars.input_schema["required"],
        json!(["count", "format", "label", "nested", "shape"])
    );
    assert!(!grammars.input_schema.contains_key("title"));
    Ok(())
}

#[test]
fn set_default_keeps_declaration_order_and_requires_the_input() -> Result<(), Error> {
    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Inputs {
        a: Option<f64>,
        #[serde(default)]
        b: Vec<f64>,
    }
    let mut grammars = Grammars::derive::<Inputs, SellarLikeOutputs>()?;
    assert_eq!(grammars.input_schema["required"], json!(["b"]));
    grammars.set_default("a", 1.5)?;
    assert_eq!(
        Value::Object(grammars.default_inputs.clone()),
        json!({"a": 1.5, "b": []})
    );
    assert_eq!(
        grammars.default_inputs.keys().collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(grammars.input_schema["required"], json!(["a", "b"]));
    assert!(grammars.set_default("c", 0).is_err());
    Ok(())
}

#[test]
fn a_non_struct_type_is_rejected() {
    let error = Grammars::derive::<Vec<f64>, SellarLikeOutputs>().err();
    assert!(
        matches!(error, Some(Error::Failure(message)) if message.contains("inputs type must be a struct"))
    );
}
