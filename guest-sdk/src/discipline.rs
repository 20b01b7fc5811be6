//! The traits a discipline author implements: [`Discipline`] and, optionally, [`Differentiable`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{Error, Grammars, Jacobian};

/// A numerical discipline: typed inputs in, typed outputs out.
///
/// The JSON Schemas of the inputs and outputs are derived from [`Discipline::Inputs`] and
/// [`Discipline::Outputs`]; fields with a serde default (`#[serde(default)]` on the struct with
/// an `impl Default`, or `#[serde(default = "…")]` on a field) become the default inputs.
/// Export the implementation with [`export_discipline!`](crate::export_discipline).
pub trait Discipline {
    /// The inputs: a struct with named fields, deserialized from the inputs object.
    type Inputs: DeserializeOwned + Serialize + JsonSchema;
    /// The outputs: a struct with named fields, serialized into the outputs object.
    type Outputs: Serialize + JsonSchema;
    /// Options given at instantiation (use [`NoOptions`] when there are none).
    type Options: DeserializeOwned + JsonSchema + Default;

    /// Stable identifier, e.g. `"Sellar1"`; it names the process over REST.
    const NAME: &'static str;
    /// Version of the discipline (semantic versioning).
    const VERSION: &'static str;
    /// One paragraph for humans.
    const DESCRIPTION: &'static str;

    /// Computes the outputs from complete inputs (the host has merged the defaults).
    fn execute(inputs: Self::Inputs, options: &Self::Options) -> Result<Self::Outputs, Error>;

    /// Lets options change the grammars derived from the types (schemas and default inputs),
    /// as gemseo-http's `discipline_options` do. Return [`Error::invalid_input`] to reject
    /// options. The default keeps the derived grammars.
    fn adapt_grammars(options: &Self::Options, grammars: &mut Grammars) -> Result<(), Error> {
        let _ = (options, grammars);
        Ok(())
    }
}

/// A discipline that also computes the Jacobian of its outputs with respect to its inputs.
///
/// Export it with `export_discipline!(MyType, jacobian)`.
pub trait Differentiable: Discipline {
    /// Computes the outputs and their Jacobian together.
    ///
    /// The Jacobian may hold every block or only the non-zero ones: the SDK keeps the blocks
    /// the caller asked for, fills the missing ones with zeros and checks every shape.
    fn linearize(
        inputs: &Self::Inputs,
        options: &Self::Options,
    ) -> Result<(Self::Outputs, Jacobian), Error>;
}

/// The options of a discipline that takes none: only the empty object `{}` is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}
