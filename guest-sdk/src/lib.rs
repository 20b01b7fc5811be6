//! The guest SDK: write a numerical discipline in Rust and export it as a WASI component.
//!
//! A discipline maps named inputs to named outputs, optionally with the Jacobian of the outputs
//! with respect to the inputs (GEMSEO's model). You write typed structs and a trait
//! implementation; the SDK derives the JSON Schemas and default inputs from the types, decodes
//! and encodes JSON, restricts the Jacobian to the requested blocks and exports the component
//! (world `discipline-component` of `wit/discipline.wit`). You never touch wit-bindgen.
//!
//! ```
//! use guest_sdk::{Differentiable, Discipline, Error, Jacobian, NoOptions, matrix};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// The inputs. By GEMSEO's convention a numeric variable is an array of numbers; the serde
//! /// default makes `{"a": [2.0], "x": [0.0, 0.0]}` the default inputs.
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! #[serde(default)]
//! pub struct Inputs {
//!     /// The scale.
//!     pub a: Vec<f64>,
//!     /// The point.
//!     pub x: Vec<f64>,
//! }
//!
//! impl Default for Inputs {
//!     fn default() -> Self {
//!         Self { a: vec![2.0], x: vec![0.0, 0.0] }
//!     }
//! }
//!
//! /// The outputs.
//! #[derive(Serialize, JsonSchema)]
//! pub struct Outputs {
//!     /// y = a x, component by component.
//!     pub y: Vec<f64>,
//! }
//!
//! pub struct Scale;
//!
//! impl Discipline for Scale {
//!     type Inputs = Inputs;
//!     type Outputs = Outputs;
//!     type Options = NoOptions;
//!     const NAME: &'static str = "Scale";
//!     const VERSION: &'static str = "1.0.0";
//!     const DESCRIPTION: &'static str = "Scales x by a.";
//!
//!     fn execute(inputs: Inputs, _: &NoOptions) -> Result<Outputs, Error> {
//!         let [a] = inputs.a[..] else {
//!             return Err(Error::invalid_input("a must have one component"));
//!         };
//!         guest_sdk::progress(0.5, "scaling");
//!         guest_sdk::log::debug(&format!("scaling {} components", inputs.x.len()));
//!         Ok(Outputs { y: inputs.x.iter().map(|x| a * x).collect() })
//!     }
//! }
//!
//! impl Differentiable for Scale {
//!     fn linearize(inputs: &Inputs, options: &NoOptions) -> Result<(Outputs, Jacobian), Error> {
//!         let outputs = Self::execute(Inputs { a: inputs.a.clone(), x: inputs.x.clone() }, options)?;
//!         // Rows are output components, columns input components; left-out blocks are zero.
//!         let jacobian = Jacobian::new()
//!             .with("y", "x", matrix::scaled_identity(inputs.x.len(), inputs.a[0]))
//!             .with("y", "a", matrix::column(&inputs.x));
//!         Ok((outputs, jacobian))
//!     }
//! }
//!
//! // Exports `Scale` with its Jacobian; `export_discipline!(Scale)` would export it without.
//! guest_sdk::export_discipline!(Scale, jacobian);
//!
//! // Natively, `cargo test` drives the discipline through the same JSON path as the host.
//! let outputs = guest_sdk::testing::execute::<Scale>(
//!     &serde_json::json!({"x": [1.0, 3.0]}),
//!     &serde_json::json!({}),
//! )?;
//! assert_eq!(outputs["y"], serde_json::json!([2.0, 6.0]));
//! guest_sdk::testing::check_jacobian::<Scale>(&serde_json::json!({}), &serde_json::json!({}), 1e-6, 1e-6)?;
//! # Ok::<(), guest_sdk::Error>(())
//! ```
//!
//! Build the crate (`crate-type = ["cdylib"]`) with `cargo build --release --target
//! wasm32-wasip2`: the `.wasm` file is the component. The schemas are draft-07, without `format`
//! keywords, every input with a default listed in `required` (the host merges the defaults
//! first), properties in declaration order; see [`Grammars`]. Options given at instantiation may
//! change the grammars through [`Discipline::adapt_grammars`].

extern crate self as guest_sdk;

mod discipline;
mod error;
mod export;
mod grammars;
mod host;
mod jacobian;
mod runtime;
pub mod testing;

pub use discipline::{Differentiable, Discipline, NoOptions};
pub use error::Error;
pub use grammars::{DRAFT_07, Grammars};
pub use host::{log, progress};
pub use jacobian::{Jacobian, Matrix, matrix};
pub use schemars;
pub use serde_json;

/// The bindings generated from `wit/discipline.wit` (world `discipline-component`).
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "discipline-component",
        pub_export_macro: true,
        export_macro_name: "__export_component",
        default_bindings_module: "guest_sdk::bindings",
        runtime_path: "guest_sdk::__private::wit_bindgen::rt",
    });
}

/// Items the macros use; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::Component;
    pub use crate::runtime::{WithJacobian, WithoutJacobian};
    pub use wit_bindgen;
}
