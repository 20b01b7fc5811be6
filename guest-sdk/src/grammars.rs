//! The grammars of a discipline: input and output JSON Schemas derived from the Rust types,
//! post-processed for GEMSEO, and the default inputs taken out of them.
//!
//! Maps keep insertion order (serde_json's `preserve_order`) and removals use `shift_remove`:
//! the order of the properties is the declaration order, which GEMSEO takes as input names order.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;

/// A JSON object: a schema, or the default inputs.
type Object = Map<String, Value>;

/// The meta-schema every schema declares.
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// The input and output schemas of a discipline and its default inputs.
///
/// Both schemas are JSON objects with `"type": "object"`, `properties` in declaration order and
/// no `format` keyword. Every input with a default is listed in `required`: the host merges
/// [`Grammars::default_inputs`] into the inputs before it validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct Grammars {
    /// JSON Schema of the inputs object.
    pub input_schema: Map<String, Value>,
    /// JSON Schema of the outputs object.
    pub output_schema: Map<String, Value>,
    /// Default inputs, in declaration order (possibly not every input).
    pub default_inputs: Map<String, Value>,
}

impl Grammars {
    /// Derives the grammars of inputs `I` and outputs `O`.
    pub fn derive<I: JsonSchema, O: JsonSchema>() -> Result<Self, Error> {
        let inputs = SchemaSettings::draft07().for_deserialize();
        let outputs = SchemaSettings::draft07().for_serialize();
        let (input_schema, default_inputs) = postprocess(root_schema::<I>(inputs), "inputs")?;
        let (output_schema, _) = postprocess(root_schema::<O>(outputs), "outputs")?;
        Ok(Self {
            input_schema,
            output_schema,
            default_inputs,
        })
    }

    /// The schema of input `name`, to change it (e.g. to fix an array length).
    pub fn input_property_mut(&mut self, name: &str) -> Option<&mut Map<String, Value>> {
        property_mut(&mut self.input_schema, name)
    }

    /// The schema of output `name`, to change it.
    pub fn output_property_mut(&mut self, name: &str) -> Option<&mut Map<String, Value>> {
        property_mut(&mut self.output_schema, name)
    }

    /// Sets the default of input `name`, which must exist.
    pub fn set_default(&mut self, name: &str, value: impl Serialize) -> Result<(), Error> {
        if property_mut(&mut self.input_schema, name).is_none() {
            return Err(Error::failure(format!(
                "no input named '{name}' to set a default for"
            )));
        }
        let mut defaults = std::mem::take(&mut self.default_inputs);
        defaults.insert(name.to_owned(), serde_json::to_value(value)?);
        // Keep the defaults in declaration order, and every defaulted input required.
        let names: Vec<String> = self.input_names().into_iter().map(str::to_owned).collect();
        for name in names {
            if let Some(default) = defaults.shift_remove(&name) {
                self.default_inputs.insert(name, default);
            }
        }
        require(&mut self.input_schema, self.default_inputs.keys().cloned());
        Ok(())
    }

    /// Names of the inputs, in declaration order.
    pub fn input_names(&self) -> Vec<&str> {
        property_names(&self.input_schema)
    }

    /// Names of the outputs, in declaration order.
    pub fn output_names(&self) -> Vec<&str> {
        property_names(&self.output_schema)
    }
}

fn root_schema<T: JsonSchema>(settings: SchemaSettings) -> Value {
    settings
        .with(|settings| settings.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

fn property_mut<'a>(
    schema: &'a mut Map<String, Value>,
    name: &str,
) -> Option<&'a mut Map<String, Value>> {
    schema
        .get_mut("properties")?
        .as_object_mut()?
        .get_mut(name)?
        .as_object_mut()
}

fn property_names(schema: &Map<String, Value>) -> Vec<&str> {
    let properties = schema.get("properties").and_then(Value::as_object);
    properties
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Makes a schema derived by schemars acceptable to GEMSEO's grammar as it is, and moves the
/// property defaults out of it. `what` names the schema in error messages.
pub(crate) fn postprocess(schema: Value, what: &str) -> Result<(Object, Object), Error> {
    let Value::Object(mut root) = schema else {
        return Err(not_an_object(what, &schema));
    };
    if root.get("type") != Some(&Value::String("object".into())) || !root.contains_key("properties")
    {
        return Err(not_an_object(what, &Value::Object(root)));
    }
    strip_formats(&mut root);
    root.shift_remove("title");
    root.shift_remove("default");
    root.shift_remove("$schema");
    let defaults = take_property_defaults(&mut root);
    // "$schema" first, then the other keywords in schemars' order, as GEMSEO writes them.
    let mut schema = Map::from_iter([("$schema".to_owned(), Value::String(DRAFT_07.into()))]);
    schema.extend(root);
    Ok((schema, defaults))
}

fn not_an_object(what: &str, schema: &Value) -> Error {
    Error::failure(format!(
        "the {what} type must be a struct with named fields (a JSON object); its schema is {schema}"
    ))
}

/// Removes each property's `default` into the returned object and lists every such property in
/// `required`, which is then sorted alphabetically as GEMSEO writes it.
fn take_property_defaults(root: &mut Map<String, Value>) -> Map<String, Value> {
    let mut defaults = Map::new();
    if let Some(Value::Object(properties)) = root.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if let Some(default) = property
                .as_object_mut()
                .and_then(|property| property.shift_remove("default"))
            {
                defaults.insert(name.clone(), default);
            }
        }
    }
    require(root, defaults.keys().cloned());
    defaults
}

/// Adds `names` to the `required` list of `root`, which ends sorted alphabetically.
fn require(root: &mut Map<String, Value>, names: impl IntoIterator<Item = String>) {
    let mut required: Vec<String> = match root.get("required") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    required.extend(names);
    required.sort();
    required.dedup();
    if !required.is_empty() {
        root.insert(
            "required".into(),
            required.into_iter().map(Value::String).collect(),
        );
    }
}

/// Keywords whose value is one schema, or an array of schemas.
const SUBSCHEMA_KEYWORDS: [&str; 15] = [
    "items",
    "additionalItems",
    "contains",
    "additionalProperties",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "allOf",
    "anyOf",
    "oneOf",
    "prefixItems",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: [&str; 5] = [
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "dependentSchemas",
];

/// Removes every `format` keyword (schemars emits "double", "uint64"… which fastjsonschema
/// rejects), walking only through schemas: data such as `default`, `enum` or a property named
/// "format" are left alone.
fn strip_formats(schema: &mut Map<String, Value>) {
    schema.shift_remove("format");
    for keyword in SUBSCHEMA_KEYWORDS {
        match schema.get_mut(keyword) {
            Some(Value::Object(subschema)) => strip_formats(subschema),
            Some(Value::Array(subschemas)) => subschemas
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(strip_formats),
            _ => {}
        }
    }
    for keyword in SCHEMA_MAP_KEYWORDS {
        if let Some(Value::Object(schemas)) = schema.get_mut(keyword) {
            schemas
                .values_mut()
                .filter_map(Value::as_object_mut)
                .for_each(strip_formats);
        }
    }
}

#[cfg(test)]
#[path = "grammars_tests.rs"]
mod tests;
