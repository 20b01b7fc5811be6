//! Running statistics of the columns of a CSV table (Welford's algorithm), line by line.

use guest_sdk::Error;

/// The count, mean and sum of squared deviations of the values seen so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnStatistics {
    count: u64,
    mean: f64,
    squared_deviations: f64,
}

impl ColumnStatistics {
    /// Adds one value.
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.squared_deviations += delta * (value - self.mean);
    }

    /// The number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean of the values.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The population standard deviation (ddof = 0) of the values.
    pub fn standard_deviation(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.squared_deviations / self.count as f64).sqrt()
        }
    }
}

/// The column names and the statistics of each column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The header's names, or column_1, column_2… without header.
    pub names: Vec<String>,
    /// The statistics of each column.
    pub columns: Vec<ColumnStatistics>,
}

impl Table {
    /// A table from its first non-empty line: a header if any field is not a number.
    pub fn start(fields: &[&str], line_number: usize) -> Result<Self, Error> {
        let is_header = fields.iter().any(|field| field.parse::<f64>().is_err());
        let names = if is_header {
            fields.iter().map(|name| (*name).to_owned()).collect()
        } else {
            (1..=fields.len())
                .map(|column| format!("column_{column}"))
                .collect()
        };
        let mut table = Self {
            names,
            columns: vec![ColumnStatistics::default(); fields.len()],
        };
        if !is_header {
            table.add_line(fields, line_number)?;
        }
        Ok(table)
    }

    /// Adds the values of a data line.
    pub fn add_line(&mut self, fields: &[&str], line_number: usize) -> Result<(), Error> {
        let values = parse_line(fields, self.columns.len(), line_number)?;
        self.columns
            .iter_mut()
            .zip(values)
            .for_each(|(column, value)| column.add(value));
        Ok(())
    }

    /// The number of data lines.
    pub fn row_count(&self) -> u64 {
        self.columns.first().map_or(0, ColumnStatistics::count)
    }
}

/// Parses the fields of line `line_number`, which must be `expected` finite numbers.
fn parse_line(fields: &[&str], expected: usize, line_number: usize) -> Result<Vec<f64>, Error> {
    if fields.len() != expected {
        return Err(Error::invalid_input(format!(
            "line {line_number} has {} fields, expected {expected}",
            fields.len()
        )));
    }
    let parse = |(column, field): (usize, &&str)| {
        field
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "line {line_number}, column {}: '{field}' is not a number",
                    column + 1
                ))
            })
    };
    fields.iter().enumerate().map(parse).collect()
}
