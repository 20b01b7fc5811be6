//! CsvColumnStatistics on files in a temporary directory.

use std::path::PathBuf;

use guest_sdk::{Error, testing};
use serde_json::{Value, json};

use crate::CsvColumnStatistics;

/// A fresh directory holding `data` as `data.csv`; returns the path of the file.
fn csv_file(test: &str, data: &str) -> Result<PathBuf, Error> {
    let directory = std::env::temp_dir().join(format!(
        "csv-column-statistics-{test}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&directory)?;
    let path = directory.join("data.csv");
    std::fs::write(&path, data)?;
    Ok(path)
}

fn run(path: &std::path::Path) -> Result<serde_json::Map<String, Value>, Error> {
    testing::execute::<CsvColumnStatistics>(
        &json!({"file_name": path.to_string_lossy()}),
        &json!({}),
    )
}

#[test]
fn statistics_with_header_and_summary_file() -> Result<(), Error> {
    let path = csv_file("header", "a, b\n1,10\n2,20\n\n3,30\n4,40\n")?;
    let outputs = run(&path)?;
    assert_eq!(outputs["column_names"], json!(["a", "b"]));
    assert_eq!(outputs["mean"], json!([2.5, 25.0]));
    let std: Vec<f64> = outputs["std"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(std.len(), 2);
    for (found, expected) in std.iter().zip([1.25_f64.sqrt(), 125_f64.sqrt()]) {
        assert!((found - expected).abs() < 1e-12, "{found} != {expected}");
    }
    assert_eq!(outputs["row_count"], json!(4));
    let summary = path.with_file_name("data_summary.csv");
    assert_eq!(outputs["summary_file"], json!(summary.to_string_lossy()));
    let written = std::fs::read_to_string(&summary)?;
    assert_eq!(
        written,
        format!("column,mean,std\na,2.5,{}\nb,25,{}\n", std[0], std[1])
    );
    Ok(())
}

#[test]
fn columns_are_named_without_header() -> Result<(), Error> {
    let outputs = run(&csv_file("no-header", "1.5,2\n")?)?;
    assert_eq!(outputs["column_names"], json!(["column_1", "column_2"]));
    assert_eq!(outputs["std"], json!([0.0, 0.0]));
    Ok(())
}

#[test]
fn missing_and_malformed_files_are_invalid_inputs() -> Result<(), Error> {
    let missing = run(&PathBuf::from("/no/such/file.csv")).err();
    assert!(
        matches!(&missing, Some(Error::InvalidInput(message)) if message.starts_with("cannot read '/no/such/file.csv' in the workspace")),
        "{missing:?}"
    );
    let ragged = run(&csv_file("ragged", "x,y\n1,2\n3\n")?).err();
    assert_eq!(
        ragged,
        Some(Error::invalid_input("line 3 has 1 fields, expected 2"))
    );
    let not_a_number = run(&csv_file("nan", "1,2\n3,abc\n")?).err();
    assert_eq!(
        not_a_number,
        Some(Error::invalid_input(
            "line 2, column 2: 'abc' is not a number"
        ))
    );
    let empty = run(&csv_file("empty", "x,y\n")?).err();
    assert!(
        matches!(&empty, Some(Error::InvalidInput(message)) if message.ends_with("has no data rows")),
        "{empty:?}"
    );
    Ok(())
}
