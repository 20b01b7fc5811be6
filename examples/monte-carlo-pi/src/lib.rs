//! The `MonteCarloPi` discipline: a deliberately long computation estimating π from seeded
//! random points in the unit square, reporting progress about 100 times. With the default inputs
//! it runs about 3 s natively and 4–5 s in the sandbox with fuel metering, burning 87 fuel per
//! sample (8.7e10 in all).

mod random;

use guest_sdk::{Discipline, Error, NoOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use random::Xoshiro256StarStar;

/// The inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inputs {
    /// The number of random points, at least 1.
    pub n_samples: u64,
    /// The seed of the random generator: equal inputs give equal outputs.
    pub seed: u64,
}

/// The number of samples by default: about 3 s natively on one core of the build machine.
pub const DEFAULT_SAMPLES: u64 = 1_000_000_000;

impl Default for Inputs {
    fn default() -> Self {
        Self {
            n_samples: DEFAULT_SAMPLES,
            seed: 42,
        }
    }
}

/// The outputs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outputs {
    /// The estimate of π: 4 × the fraction of points inside the quarter disc.
    pub estimate: [f64; 1],
    /// The standard error of the estimate.
    pub standard_error: [f64; 1],
    /// The number of points inside the quarter disc.
    pub inside: u64,
}

/// The discipline.
pub struct MonteCarloPi;

/// How many times progress is reported.
const PROGRESS_REPORTS: u64 = 100;

impl Discipline for MonteCarloPi {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = NoOptions;
    const NAME: &'static str = "MonteCarloPi";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "Estimates pi from n_samples seeded random points in the unit square, \
        reporting progress; a long-running example (about 5 s with the defaults).";

    fn execute(inputs: Inputs, _: &NoOptions) -> Result<Outputs, Error> {
        let Inputs { n_samples, seed } = inputs;
        if n_samples == 0 {
            return Err(Error::invalid_input("n_samples must be at least 1"));
        }
        guest_sdk::log::info(&format!("sampling {n_samples} points with seed {seed}"));
        let mut generator = Xoshiro256StarStar::seeded(seed);
        let chunk = n_samples.div_ceil(PROGRESS_REPORTS);
        let (mut done, mut inside) = (0_u64, 0_u64);
        while done < n_samples {
            let size = chunk.min(n_samples - done);
            inside += count_inside(&mut generator, size);
            done += size;
            guest_sdk::progress(
                done as f64 / n_samples as f64,
                &format!("{done} of {n_samples} samples"),
            );
        }
        let fraction = inside as f64 / n_samples as f64;
        let standard_error = 4.0 * (fraction * (1.0 - fraction) / n_samples as f64).sqrt();
        Ok(Outputs {
            estimate: [4.0 * fraction],
            standard_error: [standard_error],
            inside,
        })
    }
}

/// Draws `samples` points and counts those inside the quarter disc.
fn count_inside(generator: &mut Xoshiro256StarStar, samples: u64) -> u64 {
    (0..samples)
        .map(|_| {
            let (x, y) = (generator.next_unit(), generator.next_unit());
            u64::from(x * x + y * y <= 1.0)
        })
        .sum()
}

guest_sdk::export_discipline!(MonteCarloPi);

#[cfg(test)]
mod tests {
    use guest_sdk::{Error, testing};
    use serde_json::json;

    use super::MonteCarloPi;

    #[test]
    fn estimate_is_deterministic_and_close() -> Result<(), Error> {
        let inputs = json!({"n_samples": 1_000_000, "seed": 7});
        let outputs = testing::execute::<MonteCarloPi>(&inputs, &json!({}))?;
        assert_eq!(
            outputs,
            testing::execute::<MonteCarloPi>(&inputs, &json!({}))?
        );
        let (estimate, error) = (
            outputs["estimate"][0].as_f64(),
            outputs["standard_error"][0].as_f64(),
        );
        let (estimate, error) = (estimate.unwrap_or_default(), error.unwrap_or_default());
        assert!(
            (estimate - std::f64::consts::PI).abs() < 4.0 * error,
            "{estimate} ± {error}"
        );
        assert!(error > 0.0 && error < 0.01);
        Ok(())
    }

    #[test]
    fn zero_samples_is_an_invalid_input() {
        let error = testing::execute::<MonteCarloPi>(&json!({"n_samples": 0}), &json!({})).err();
        assert_eq!(
            error,
            Some(Error::invalid_input("n_samples must be at least 1"))
        );
    }
}
