//! The bridge between the generated component bindings and a [`Discipline`], and the
//! `export_discipline!` macro that exports one.

use std::marker::PhantomData;

use crate::bindings::exports::disciplines::discipline::discipline as wit;
use crate::runtime::{self, Linearization};
use crate::{Discipline, Error};

/// The component exported for discipline `D`, linearized as `L` says.
#[derive(Debug)]
pub struct Component<D, L>(PhantomData<(D, L)>);

impl<D: Discipline, L: Linearization<D>> wit::Guest for Component<D, L> {
    fn describe(options: String) -> Result<wit::Description, wit::Error> {
        let description = runtime::describe::<D, L>(&options)?;
        let grammars = description.grammars;
        Ok(wit::Description {
            name: description.name,
            version: description.version,
            description: description.description,
            input_schema: serde_json::Value::Object(grammars.input_schema).to_string(),
            output_schema: serde_json::Value::Object(grammars.output_schema).to_string(),
            default_inputs: serde_json::Value::Object(grammars.default_inputs).to_string(),
            has_jacobian: description.has_jacobian,
        })
    }

    fn execute(inputs: String, options: String) -> Result<String, wit::Error> {
        Ok(runtime::execute::<D>(&inputs, &options)?)
    }

    fn linearize(
        inputs: String,
        options: String,
        inputs_to_differentiate: Vec<String>,
        outputs_to_differentiate: Vec<String>,
    ) -> Result<wit::Linearization, wit::Error> {
        let (outputs, jacobian) = runtime::linearize::<D, L>(
            &inputs,
            &options,
            &inputs_to_differentiate,
            &outputs_to_differentiate,
        )?;
        Ok(wit::Linearization { outputs, jacobian })
    }
}

impl From<Error> for wit::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput(message) => Self::InvalidInput(message),
            Error::Failure(message) => Self::Failure(message),
        }
    }
}

/// Exports a [`Discipline`](crate::Discipline) as the component's `discipline` interface.
///
/// `export_discipline!(MyType)` exports a discipline without Jacobian (its `linearize` fails);
/// `export_discipline!(MyType, jacobian)` requires `MyType: Differentiable` and exports its
/// Jacobian. Invoke it once per crate, at module level. A type that does not implement the
/// trait is a compile error pointing at the type:
///
/// ```compile_fail,E0277
/// struct NotADiscipline;
/// guest_sdk::export_discipline!(NotADiscipline);
/// ```
///
/// ```compile_fail,E0277
/// # use guest_sdk::{Discipline, Error, NoOptions};
/// struct NoJacobian;
/// impl Discipline for NoJacobian {
///     type Inputs = NoOptions;
///     type Outputs = NoOptions;
///     type Options = NoOptions;
///     const NAME: &'static str = "NoJacobian";
///     const VERSION: &'static str = "1.0.0";
///     const DESCRIPTION: &'static str = "Not differentiable.";
///     fn execute(inputs: NoOptions, _: &NoOptions) -> Result<NoOptions, Error> {
///         Ok(inputs)
///     }
/// }
/// guest_sdk::export_discipline!(NoJacobian, jacobian);
/// ```
#[macro_export]
macro_rules! export_discipline {
    ($discipline:ty) => {
        $crate::__export_discipline!($discipline, $crate::__private::WithoutJacobian, Discipline);
    };
    ($discipline:ty, jacobian) => {
        $crate::__export_discipline!($discipline, $crate::__private::WithJacobian, Differentiable);
    };
}

/// The implementation of [`export_discipline!`]: checks the bound, then (on wasm32 only)
/// exports the component functions.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_discipline {
    ($discipline:ty, $linearization:ty, $bound:ident) => {
        const _: () = {
            fn implements<Exported: $crate::$bound>() {}
            let _ = implements::<$discipline>;
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type GuestSdkComponent = $crate::__private::Component<$discipline, $linearization>;
    $crate::bindings::__export_component!(GuestSdkComponent with_types_in $crate::bindings);
        };
    };
}
