//! GEMSEO's `SellarSystem` discipline: the objective obj and the constraints c_1, c_2 of the
//! Sellar problem, with their analytic Jacobian (gemseo/problems/mdo/sellar/sellar_system.py).

use guest_sdk::{Differentiable, Discipline, Error, Grammars, Jacobian, matrix};
use schemars::JsonSchema;
use sellar_common::{SystemOptions, check_sizes, initial_value, set_initial_defaults};
use serde::{Deserialize, Serialize};

// The inputs in GEMSEO's order. Plain comments, not doc comments: a doc comment would add a
// "description" to the schema, which must stay identical to GEMSEO's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inputs {
    pub x_shared: Vec<f64>,
    pub x_1: Vec<f64>,
    pub x_2: Vec<f64>,
    pub y_1: Vec<f64>,
    pub y_2: Vec<f64>,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
}

impl Default for Inputs {
    fn default() -> Self {
        let initial = |name| initial_value(name, 1);
        Self {
            x_shared: initial("x_shared"),
            x_1: initial("x_1"),
            x_2: initial("x_2"),
            y_1: initial("y_1"),
            y_2: initial("y_2"),
            alpha: initial("alpha"),
            beta: initial("beta"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outputs {
    pub obj: Vec<f64>,
    pub c_1: Vec<f64>,
    pub c_2: Vec<f64>,
}

/// The discipline computing the objective and the constraints.
pub struct SellarSystem;

impl SellarSystem {
    fn check(inputs: &Inputs, options: &SystemOptions) -> Result<(), Error> {
        let Inputs {
            x_shared,
            x_1,
            x_2,
            y_1,
            y_2,
            alpha,
            beta,
        } = inputs;
        let variables: [(&str, &[f64]); 7] = [
            ("x_shared", x_shared),
            ("x_1", x_1),
            ("x_2", x_2),
            ("y_1", y_1),
            ("y_2", y_2),
            ("alpha", alpha),
            ("beta", beta),
        ];
        check_sizes(&variables, options.n)
    }
}

fn sum_of_squares(values: &[f64]) -> f64 {
    values.iter().map(|value| value * value).sum()
}

fn scaled(values: &[f64], factor: f64) -> Vec<f64> {
    values.iter().map(|value| value * factor).collect()
}

impl Discipline for SellarSystem {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = SystemOptions;
    const NAME: &'static str = "SellarSystem";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "The system discipline of the Sellar MDO problem: the objective obj and the constraints c_1, c_2 (GEMSEO 6.3.3).";

    fn execute(inputs: Inputs, options: &SystemOptions) -> Result<Outputs, Error> {
        Self::check(&inputs, options)?;
        let Inputs {
            x_shared,
            x_1,
            x_2,
            y_1,
            y_2,
            alpha,
            beta,
        } = &inputs;
        let inverse_n = 1.0 / options.n.get() as f64;
        let mean_y_2 = y_2.iter().sum::<f64>() * inverse_n;
        let squares = sum_of_squares(x_1) + sum_of_squares(x_2) + sum_of_squares(y_1);
        let obj = squares * inverse_n + x_shared[1] + (-mean_y_2).exp();
        Ok(Outputs {
            obj: vec![obj],
            c_1: y_1.iter().map(|y_1| alpha[0] - y_1 * y_1).collect(),
            c_2: y_2.iter().map(|y_2| y_2 - beta[0]).collect(),
        })
    }

    fn adapt_grammars(options: &SystemOptions, grammars: &mut Grammars) -> Result<(), Error> {
        set_initial_defaults(grammars, options.n)
    }
}

impl Differentiable for SellarSystem {
    fn linearize(inputs: &Inputs, options: &SystemOptions) -> Result<(Outputs, Jacobian), Error> {
        let outputs = Self::execute(inputs.clone(), options)?;
        let n = options.n.get();
        let inverse_n = 1.0 / n as f64;
        let mean_y_2 = inputs.y_2.iter().sum::<f64>() * inverse_n;
        let d_obj_d_y_2 = -(-mean_y_2).exp() * inverse_n;
        let jacobian = Jacobian::new()
            .with("obj", "x_shared", vec![vec![0.0, 1.0]])
            .with(
                "obj",
                "x_1",
                matrix::row(&scaled(&inputs.x_1, 2.0 * inverse_n)),
            )
            .with(
                "obj",
                "x_2",
                matrix::row(&scaled(&inputs.x_2, 2.0 * inverse_n)),
            )
            .with(
                "obj",
                "y_1",
                matrix::row(&scaled(&inputs.y_1, 2.0 * inverse_n)),
            )
            .with("obj", "y_2", matrix::filled(1, n, d_obj_d_y_2))
            .with("c_1", "y_1", matrix::diagonal(&scaled(&inputs.y_1, -2.0)))
            .with("c_1", "alpha", matrix::filled(n, 1, 1.0))
            .with("c_2", "y_2", matrix::scaled_identity(n, 1.0))
            .with("c_2", "beta", matrix::filled(n, 1, -1.0));
        Ok((outputs, jacobian))
    }
}

guest_sdk::export_discipline!(SellarSystem, jacobian);

#[cfg(test)]
mod tests;
