//! The `CsvColumnStatistics` discipline: reads a CSV file of numbers from the workspace, returns
//! the mean and standard deviation of each column and writes them to a summary CSV file.

mod statistics;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use guest_sdk::{Discipline, Error, NoOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use statistics::{ColumnStatistics, Table};

/// The inputs: a file in the workspace (relative paths and absolute ones both start there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inputs {
    /// The CSV file: comma-separated numbers, with an optional header line of column names.
    pub file_name: String,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            file_name: "data.csv".into(),
        }
    }
}

/// The statistics of each column, in file order.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Outputs {
    /// The column names: the header's, or column_1, column_2… without header.
    pub column_names: Vec<String>,
    /// The mean of each column.
    pub mean: Vec<f64>,
    /// The population standard deviation of each column (numpy's `std`, ddof = 0).
    pub std: Vec<f64>,
    /// The number of data rows.
    pub row_count: u64,
    /// The summary file written next to the input: `column,mean,std` then one line per column.
    pub summary_file: String,
}

/// The discipline.
pub struct CsvColumnStatistics;

impl Discipline for CsvColumnStatistics {
    type Inputs = Inputs;
    type Outputs = Outputs;
    type Options = NoOptions;
    const NAME: &'static str = "CsvColumnStatistics";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "Reads a CSV file of numbers from the workspace, returns the mean and \
        standard deviation of each column and writes them to <name>_summary.csv next to it.";

    fn execute(inputs: Inputs, _: &NoOptions) -> Result<Outputs, Error> {
        let path = Path::new(&inputs.file_name);
        let unreadable = |error: std::io::Error| {
            Error::invalid_input(format!(
                "cannot read '{}' in the workspace: {error}",
                inputs.file_name
            ))
        };
        let file = File::open(path).map_err(unreadable)?;
        let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        let table = read_table(BufReader::new(file), size, &inputs.file_name)?;
        let summary_file = summary_path(path);
        write_summary(&summary_file, &table)?;
        Ok(Outputs {
            mean: table.columns.iter().map(ColumnStatistics::mean).collect(),
            std: table
                .columns
                .iter()
                .map(ColumnStatistics::standard_deviation)
                .collect(),
            row_count: table.row_count(),
            column_names: table.names,
            summary_file,
        })
    }
}

/// Reads every line into a table, reporting progress by bytes read.
fn read_table(reader: impl BufRead, size: u64, file_name: &str) -> Result<Table, Error> {
    let mut table: Option<Table> = None;
    let (mut bytes_read, mut percent_reported) = (0_u64, 0_u64);
    for (index, line) in reader.lines().enumerate() {
        let line = line
            .map_err(|error| Error::invalid_input(format!("cannot read '{file_name}': {error}")))?;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        match &mut table {
            _ if line.trim().is_empty() => {}
            Some(table) => table.add_line(&fields, index + 1)?,
            None => table = Some(Table::start(&fields, index + 1)?),
        }
        bytes_read += line.len() as u64 + 1;
        let percent = (bytes_read * 100).checked_div(size).unwrap_or(100).min(100);
        if percent > percent_reported {
            percent_reported = percent;
            let message = format!("{} lines read", index + 1);
            guest_sdk::progress(percent as f64 / 100.0, &message);
        }
    }
    let table = table.filter(|table| table.row_count() > 0);
    table.ok_or_else(|| Error::invalid_input(format!("'{file_name}' has no data rows")))
}

/// `dir/data.csv` → `dir/data_summary.csv`.
fn summary_path(input: &Path) -> String {
    let stem = input
        .file_stem()
        .map_or_else(|| "data".into(), |stem| stem.to_string_lossy());
    input
        .with_file_name(format!("{stem}_summary.csv"))
        .to_string_lossy()
        .into_owned()
}

fn write_summary(path: &str, table: &Table) -> Result<(), Error> {
    let failed = |error: std::io::Error| Error::failure(format!("cannot write '{path}': {error}"));
    let mut summary = String::from("column,mean,std\n");
    for (name, column) in table.names.iter().zip(&table.columns) {
        summary.push_str(&format!(
            "{name},{},{}\n",
            column.mean(),
            column.standard_deviation()
        ));
    }
    File::create(path)
        .and_then(|mut file| file.write_all(summary.as_bytes()))
        .map_err(failed)
}

guest_sdk::export_discipline!(CsvColumnStatistics);

#[cfg(test)]
mod tests;
