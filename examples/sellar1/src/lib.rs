//! GEMSEO's `Sellar1` discipline: the coupling variable y_1 = sqrt(x_shared[0]² + x_shared[1]
//! + x_1 - γ k y_2), with its analytic Jacobian (gemseo/problems/mdo/sellar/sellar_1.py).

use guest_sdk::{Differentiable, Discipline, Error, Grammars, Jacobian, matrix};
use schemars::JsonSchema;
use sellar_common::{CouplingOptions, check_sizes, initial_value, set_initial_defaults};
use serde::{Deserialize, Serialize};

// The inputs in GEMSEO's order. Plain comments, not doc comments: a doc comment would add a
// "description" to the schema, which must stay identical to GEMSEO's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inputs {
    pub x_1: Vec<f64>,
    pub x_shared: Vec<f64>,
    pub y_2: Vec<f64>,
    pub gamma: Vec<f64>,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            x_1: initial_value("x_1", 1),
            x_shared: initial_value("x_shared", 1),
            y_2: initial_value("y_2", 1),
            gamma: initial_value("gamma", 1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outputs {
    pub y_1: Vec<f64>,
}

/// The discipline computing y_1.
pub struct Sellar1;

impl Sellar1 {
    /// The argument of the square root, per component: x_shared[0]² + x_shared[1] + x_1 - γ k y_2.
    fn radicands(inputs: &Inputs, options: &CouplingOptions) -> Result<Vec<f64>, Error> {
        let Inputs {
            x_1,
            x_shared,
            y_2,
            gamma,
        } = inputs;
        check_sizes(
            &[
                ("x_1", x_1),
                ("x_shared", x_shared),
                ("y_2", y_2),
                ("gamma", gamma),
            ],
            options.n,
        )?;
        let (shared, gamma_k) = (
            x_shared[0] * x_shared[0] + x_shared[1],
            gamma[0] * options.k,
        );
        Ok(x_1
            .iter()
            .zip(y_2)
            .map(|(x_1, y_2)| shared + x_1 - gamma_k * y_2)
            .collect())
    }
}

/// y_1 = max(sqrt(|radicand|), 1e-16), as GEMSEO computes it.
fn y_1(radicand: f64) -> f64 {
    radicand.abs().sqrt().max(1e-16)
}

impl Discipline for Sellar1 {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = CouplingOptions;
    const NAME: &'static str = "Sellar1";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "The first strongly coupled discipline of the Sellar MDO problem: the coupling variable y_1 (GEMSEO 6.3.3).";

    fn execute(inputs: Inputs, options: &CouplingOptions) -> Result<Outputs, Error> {
        let radicands = Self::radicands(&inputs, options)?;
        Ok(Outputs {
            y_1: radicands.into_iter().map(y_1).collect(),
        })
    }

    fn adapt_grammars(options: &CouplingOptions, grammars: &mut Grammars) -> Result<(), Error> {
        set_initial_defaults(grammars, options.n)
    }
}

impl Differentiable for Sellar1 {
    fn linearize(inputs: &Inputs, options: &CouplingOptions) -> Result<(Outputs, Jacobian), Error> {
        let radicands = Self::radicands(inputs, options)?;
        let y_1: Vec<f64> = radicands.iter().copied().map(y_1).collect();
        // d sqrt(r) = dr / (2 sqrt(r)), with the sign of r because of the absolute value.
        let half_inverse: Vec<f64> = radicands
            .iter()
            .zip(&y_1)
            .map(|(r, y)| 0.5 * sign(*r) / y)
            .collect();
        let (x_shared_0, gamma, k) = (inputs.x_shared[0], inputs.gamma[0], options.k);
        let jacobian = Jacobian::new()
            .with("y_1", "x_1", matrix::diagonal(&half_inverse))
            .with(
                "y_1",
                "x_shared",
                half_inverse
                    .iter()
                    .map(|h| vec![2.0 * x_shared_0 * h, *h])
                    .collect(),
            )
            .with(
                "y_1",
                "y_2",
                matrix::diagonal(&scaled(&half_inverse, -gamma * k)),
            )
            .with(
                "y_1",
                "gamma",
                matrix::column(&product(&half_inverse, &inputs.y_2, -k)),
            );
        Ok((Outputs { y_1 }, jacobian))
    }
}

/// numpy's `sign`: -1, 0 or 1.
fn sign(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value.signum() }
}

fn scaled(values: &[f64], factor: f64) -> Vec<f64> {
    values.iter().map(|value| value * factor).collect()
}

fn product(left: &[f64], right: &[f64], factor: f64) -> Vec<f64> {
    left.iter()
        .zip(right)
        .map(|(left, right)| left * right * factor)
        .collect()
}

guest_sdk::export_discipline!(Sellar1, jacobian);

#[cfg(test)]
mod tests;
