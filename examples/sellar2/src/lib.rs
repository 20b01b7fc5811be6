//! GEMSEO's `Sellar2` discipline: the coupling variable y_2 = k |y_1| + x_shared[0] + x_shared[1]
//! - x_2, with its analytic Jacobian (gemseo/problems/mdo/sellar/sellar_2.py).

use guest_sdk::{Differentiable, Discipline, Error, Grammars, Jacobian, matrix};
use schemars::JsonSchema;
use sellar_common::{CouplingOptions, check_sizes, initial_value, set_initial_defaults};
use serde::{Deserialize, Serialize};

// The inputs in GEMSEO's order. Plain comments, not doc comments: a doc comment would add a
// "description" to the schema, which must stay identical to GEMSEO's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inputs {
    pub x_2: Vec<f64>,
    pub x_shared: Vec<f64>,
    pub y_1: Vec<f64>,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            x_2: initial_value("x_2", 1),
            x_shared: initial_value("x_shared", 1),
            y_1: initial_value("y_1", 1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outputs {
    pub y_2: Vec<f64>,
}

/// The discipline computing y_2.
pub struct Sellar2;

impl Sellar2 {
    fn check(inputs: &Inputs, options: &CouplingOptions) -> Result<(), Error> {
        let Inputs { x_2, x_shared, y_1 } = inputs;
        check_sizes(
            &[("x_2", x_2), ("x_shared", x_shared), ("y_1", y_1)],
            options.n,
        )
    }
}

impl Discipline for Sellar2 {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = CouplingOptions;
    const NAME: &'static str = "Sellar2";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "The second strongly coupled discipline of the Sellar MDO problem: the coupling variable y_2 (GEMSEO 6.3.3).";

    fn execute(inputs: Inputs, options: &CouplingOptions) -> Result<Outputs, Error> {
        Self::check(&inputs, options)?;
        let shared = inputs.x_shared[0] + inputs.x_shared[1];
        let y_2 = inputs
            .x_2
            .iter()
            .zip(&inputs.y_1)
            // GEMSEO's order of operations, so that the result is the same to the last bit.
            .map(|(x_2, y_1)| options.k * y_1.abs() + (shared - x_2));
        Ok(Outputs { y_2: y_2.collect() })
    }

    fn adapt_grammars(options: &CouplingOptions, grammars: &mut Grammars) -> Result<(), Error> {
        set_initial_defaults(grammars, options.n)
    }
}

impl Differentiable for Sellar2 {
    fn linearize(inputs: &Inputs, options: &CouplingOptions) -> Result<(Outputs, Jacobian), Error> {
        let outputs = Self::execute(inputs.clone(), options)?;
        let n = options.n.get();
        // The derivative of k |y_1| is k sign(y_1), and 0 at y_1 = 0 as in GEMSEO.
        let d_y_1: Vec<f64> = inputs
            .y_1
            .iter()
            .map(|y_1| {
                if *y_1 == 0.0 {
                    0.0
                } else {
                    options.k * y_1.signum()
                }
            })
            .collect();
        let jacobian = Jacobian::new()
            .with("y_2", "x_2", matrix::scaled_identity(n, -1.0))
            .with("y_2", "x_shared", matrix::filled(n, 2, 1.0))
            .with("y_2", "y_1", matrix::diagonal(&d_y_1));
        Ok((outputs, jacobian))
    }
}

guest_sdk::export_discipline!(Sellar2, jacobian);

#[cfg(test)]
mod tests;
