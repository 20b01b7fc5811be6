//! The `Rosenbrock` discipline: f(x) = Σ 100 (x[i+1] - x[i]²)² + (1 - x[i])² in any dimension
//! (option `dimension`), with its gradient as the Jacobian.

use guest_sdk::{Differentiable, Discipline, Error, Grammars, Jacobian, matrix};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The inputs of the Rosenbrock function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inputs {
    /// The point, of `dimension` components.
    pub x: Vec<f64>,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            x: vec![0.0; DEFAULT_DIMENSION],
        }
    }
}

/// The outputs of the Rosenbrock function.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outputs {
    /// The value of the function.
    pub f: [f64; 1],
}

const DEFAULT_DIMENSION: usize = 2;

/// The options of the discipline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// The number of components of x, at least 2.
    pub dimension: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dimension: DEFAULT_DIMENSION,
        }
    }
}

impl Options {
    fn check(&self) -> Result<(), Error> {
        if self.dimension < 2 {
            return Err(Error::invalid_input(format!(
                "dimension must be at least 2, not {}",
                self.dimension
            )));
        }
        Ok(())
    }
}

/// The Rosenbrock discipline.
pub struct Rosenbrock;

impl Rosenbrock {
    /// The value and the gradient at `x`, which must have `dimension` components.
    fn value_and_gradient(x: &[f64], options: &Options) -> Result<(f64, Vec<f64>), Error> {
        options.check()?;
        if x.len() != options.dimension {
            return Err(Error::invalid_input(format!(
                "x must have {} components, not {}",
                options.dimension,
                x.len()
            )));
        }
        let mut value = 0.0;
        let mut gradient = vec![0.0; x.len()];
        for (i, pair) in x.windows(2).enumerate() {
            let (current, next) = (pair[0], pair[1]);
            let valley = next - current * current;
            value += 100.0 * valley * valley + (1.0 - current) * (1.0 - current);
            gradient[i] += -400.0 * current * valley - 2.0 * (1.0 - current);
            gradient[i + 1] += 200.0 * valley;
        }
        Ok((value, gradient))
    }
}

impl Discipline for Rosenbrock {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = Options;
    const NAME: &'static str = "Rosenbrock";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "The Rosenbrock function of x in any dimension (option `dimension`, default 2), \
        with its gradient. Its minimum is 0 at x = (1, …, 1).";

    fn execute(inputs: Inputs, options: &Options) -> Result<Outputs, Error> {
        let (value, _) = Self::value_and_gradient(&inputs.x, options)?;
        Ok(Outputs { f: [value] })
    }

    /// The dimension sets the length of x in the schema and its default.
    fn adapt_grammars(options: &Options, grammars: &mut Grammars) -> Result<(), Error> {
        options.check()?;
        if let Some(x) = grammars.input_property_mut("x") {
            x.insert("minItems".into(), options.dimension.into());
            x.insert("maxItems".into(), options.dimension.into());
        }
        grammars.set_default("x", vec![0.0; options.dimension])
    }
}

impl Differentiable for Rosenbrock {
    fn linearize(inputs: &Inputs, options: &Options) -> Result<(Outputs, Jacobian), Error> {
        let (value, gradient) = Self::value_and_gradient(&inputs.x, options)?;
        Ok((
            Outputs { f: [value] },
            Jacobian::new().with("f", "x", matrix::row(&gradient)),
        ))
    }
}

guest_sdk::export_discipline!(Rosenbrock, jacobian);

#[cfg(test)]
mod tests;
