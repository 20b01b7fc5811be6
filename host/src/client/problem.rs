//! A problem document (RFC 9457) received from the server, read into one line of error.

use reqwest::StatusCode;
use serde_json::Value;

/// A problem document received from the server, shown as `404 no-such-process: detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProblem {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The last segment of the problem's `type` (its title when it has no type).
    pub kind: String,
    /// The problem's `detail`, else its `title`, on one line.
    pub detail: String,
}

impl std::fmt::Display for RemoteProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} {}: {}", self.status, self.kind, self.detail)
    }
}

impl RemoteProblem {
    /// Reads a problem document; `None` when the body is not one.
    pub fn from_document(status: StatusCode, document: &Value) -> Option<Self> {
        let text = |member: &str| document.get(member).and_then(Value::as_str);
        let title = text("title");
        let kind = text("type")
            .filter(|uri| *uri != "about:blank")
            .and_then(|uri| uri.trim_end_matches('/').rsplit('/').next())
            .or(title)?;
        let detail = text("detail").or(title).unwrap_or_default();
        Some(Self {
            status: status.as_u16(),
            kind: kind.to_owned(),
            detail: one_line(detail),
        })
    }
}

/// The text's lines joined by " | ", so that an error is always one line.
pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_problem_reads_as_status_slug_and_detail() {
        let document = json!({
            "type": "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process",
            "title": "No such process",
            "status": 404,
            "detail": "no process has the id \"X\"",
        });
        let problem = RemoteProblem::from_document(StatusCode::NOT_FOUND, &document);
        assert_eq!(
            problem.map(|problem| problem.to_string()).as_deref(),
            Some("404 no-such-process: no process has the id \"X\"")
        );
    }

    #[test]
    fn a_problem_without_type_or_detail_uses_its_title_on_one_line() {
        let document = json!({"title": "Server busy", "status": 503});
        let problem = RemoteProblem::from_document(StatusCode::SERVICE_UNAVAILABLE, &document);
        assert_eq!(
            problem.map(|problem| problem.to_string()).as_deref(),
            Some("503 Server busy: Server busy")
        );
        let crashed =
            json!({"type": "/problems/guest-crashed", "detail": "trap\n  stderr: boom\n"});
        let problem = RemoteProblem::from_document(StatusCode::UNPROCESSABLE_ENTITY, &crashed);
        assert_eq!(
            problem.map(|problem| problem.detail).as_deref(),
            Some("trap | stderr: boom")
        );
        assert_eq!(
            RemoteProblem::from_document(StatusCode::NOT_FOUND, &json!({"a": 1})),
            None
        );
    }
}
