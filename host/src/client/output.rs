//! What the client prints: the server's JSON documents one per line (`--json`), or short
//! summaries for people.

use std::io::Write;

use serde_json::Value;

/// Prints each document as one JSON line, or as the summary a command makes of it.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    json: bool,
}

impl Printer {
    /// A printer of JSON lines (`json`) or of summaries.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether documents are printed as JSON (and progress bars hidden).
    pub fn is_json(self) -> bool {
        self.json
    }

    /// Prints `document` as one line of JSON, or `summary(document)`.
    pub fn document(self, document: &Value, summary: impl FnOnce(&Value) -> String) {
        if self.json {
            print_line(&document.to_string());
        } else {
            print_line(&summary(document));
        }
    }
}

/// Writes one line on stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print_line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// A string member, or "" when absent.
pub fn text<'a>(document: &'a Value, member: &str) -> &'a str {
    document
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `job <id> <status>`, with the progress of a running job, and the message unless the job
/// succeeded (it is then the last progress message, which says nothing more).
pub fn job_summary(status: &Value) -> String {
    let word = text(status, "status");
    let mut line = format!("job {} {word}", text(status, "jobID"));
    if word == "running"
        && let Some(progress) = status.get("progress").and_then(Value::as_u64)
    {
        line.push_str(&format!(" {progress}%"));
    }
    let message = text(status, "message");
    if !message.is_empty() && word != "successful" {
        line.push_str(": ");
        line.push_str(message);
    }
    line
}

/// One line per member of a results document: `name = value` (values as compact JSON).
pub fn results_summary(results: &Value) -> String {
    match results.as_object() {
        Some(members) if !members.is_empty() => members
            .iter()
            .map(|(name, value)| format!("{name} = {value}"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => results.to_string(),
    }
}

/// A table of the processes of `GET /processes`: id, version, module digest, description.
pub fn processes_table(list: &Value) -> String {
    let processes = list
        .get("processes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if processes.is_empty() {
        return "no processes".to_owned();
    }
    let header = ["ID", "VERSION", "DIGEST", "DESCRIPTION"].map(str::to_owned);
    let rows: Vec<[String; 4]> = processes
        .iter()
        .map(|process| {
            [
                text(process, "id").to_owned(),
                text(process, "version").to_owned(),
                short_digest(text(process, "moduleDigest")),
                shortened(text(process, "description"), 60),
            ]
        })
        .collect();
    table(&header, &rows)
}

/// Columns padded to their widest cell, the last one left ragged.
fn table<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in std::iter::once(header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(header)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `sha256:` and the first 12 hexadecimal digits, enough to tell modules apart.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.to_owned(),
    }
}

/// At most `limit` characters, an ellipsis marking a cut.
fn shortened(text: &str, limit: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= limit && line.len() == text.len() {
        return line.to_owned();
    }
    let kept: String = line.chars().take(limit.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_job_summary_has_its_status_progress_and_message() {
        let running =
            json!({"jobID": "j1", "status": "running", "progress": 40, "message": "sampling"});
        assert_eq!(job_summary(&running), "job j1 running 40%: sampling");
        let done =
            json!({"jobID": "j1", "status": "successful", "progress": 100, "message": "done"});
        assert_eq!(job_summary(&done), "job j1 successful");
    }

    #[test]
    fn processes_become_an_aligned_table() {
        let list = json!({"processes": [
            {"id": "Sellar1", "version": "1.0.0", "moduleDigest": "sha256:0123456789abcdef", "description": "y_1"},
            {"id": "Rosenbrock", "version": "10.2.0", "moduleDigest": "sha256:fedcba9876543210", "description": "f"},
        ]});
        let expected = "ID          VERSION  DIGEST               DESCRIPTION\n\
                        Sellar1     1.0.0    sha256:0123456789ab  y_1\n\
                        Rosenbrock  10.2.0   sha256:fedcba987654  f";
        assert_eq!(processes_table(&list), expected);
        assert_eq!(processes_table(&json!({"processes": []})), "no processes");
    }

    #[test]
    fn long_descriptions_are_cut_with_an_ellipsis() {
        assert_eq!(shortened("abcdef", 4), "abc…");
        assert_eq!(shortened("abc", 4), "abc");
        assert_eq!(shortened("ab\ncd", 40), "ab…");
    }

    #[test]
    fn results_are_one_line_per_output() {
        let results = json!({"y_1": [1.5], "y_2": [2.0, 3.0]});
        assert_eq!(results_summary(&results), "y_1 = [1.5]\ny_2 = [2.0,3.0]");
    }
}
