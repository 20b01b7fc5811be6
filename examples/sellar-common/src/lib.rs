//! What GEMSEO's three Sellar disciplines share (gemseo/problems/mdo/sellar, GEMSEO 6.3.3):
//! their options, the initial values of their variables and the checks of their sizes.

use std::num::NonZeroUsize;

use guest_sdk::{Error, Grammars};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The options of `Sellar1` and `Sellar2`, as GEMSEO's constructors take them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CouplingOptions {
    /// The size of the local design variables and coupling variables.
    pub n: NonZeroUsize,
    /// The shared coefficient controlling the coupling strength.
    pub k: f64,
}

impl Default for CouplingOptions {
    fn default() -> Self {
        Self {
            n: NonZeroUsize::MIN,
            k: 1.0,
        }
    }
}

/// The options of `SellarSystem`, as GEMSEO's constructor takes them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SystemOptions {
    /// The size of the local design variables and coupling variables.
    pub n: NonZeroUsize,
}

impl Default for SystemOptions {
    fn default() -> Self {
        Self {
            n: NonZeroUsize::MIN,
        }
    }
}

/// The number of components of variable `name` when local and coupling variables have `n`.
pub fn size_of(name: &str, n: usize) -> usize {
    match name {
        "x_shared" => 2,
        "alpha" | "beta" | "gamma" => 1,
        _ => n,
    }
}

/// GEMSEO's initial value of variable `name` (`get_initial_data`).
pub fn initial_value(name: &str, n: usize) -> Vec<f64> {
    match name {
        "x_shared" => vec![1.0, 0.0],
        "y_1" | "y_2" => vec![1.0; n],
        "alpha" => vec![3.16],
        "beta" => vec![24.0],
        "gamma" => vec![0.2],
        _ => vec![0.0; size_of(name, n)],
    }
}

/// Sets the default of every input to its initial value for size `n`.
pub fn set_initial_defaults(grammars: &mut Grammars, n: NonZeroUsize) -> Result<(), Error> {
    let names: Vec<String> = grammars
        .input_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for name in names {
        grammars.set_default(&name, initial_value(&name, n.get()))?;
    }
    Ok(())
}

/// Checks that each named variable has the size GEMSEO expects for `n`.
pub fn check_sizes(variables: &[(&str, &[f64])], n: NonZeroUsize) -> Result<(), Error> {
    for (name, values) in variables {
        let expected = size_of(name, n.get());
        if values.len() != expected {
            return Err(Error::invalid_input(format!(
                "'{name}' must have {expected} component(s), not {}",
                values.len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_n() {
        let n = NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN);
        assert_eq!(initial_value("x_1", 3), vec![0.0; 3]);
        assert_eq!(initial_value("y_2", 3), vec![1.0; 3]);
        assert!(check_sizes(&[("x_shared", &[1.0, 0.0]), ("y_1", &[1.0; 3])], n).is_ok());
        let error = check_sizes(&[("gamma", &[0.2, 0.2])], n).err();
        assert_eq!(
            error,
            Some(Error::invalid_input(
                "'gamma' must have 1 component(s), not 2"
            ))
        );
    }
}
