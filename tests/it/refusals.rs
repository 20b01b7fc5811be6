//! Every refusal is a problem document: every route is sent a URI, headers and bodies past the
//! server's limits, bodies of the wrong type and malformed ones, and no answer is a bare status
//! or a plain-text one; Range requests get a file, a part of it or a problem.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{MULTIPART, Reply, TestApp, multipart_file, send, spawn_app};

/// A refusal is a problem document, never a failure of the server.
fn assert_refused_as_problem(what: &str, reply: &Reply) {
    assert!(!reply.status.is_server_error(), "{what}: {reply:?}");
    if !reply.status.is_success() {
        assert!(!reply.problem_slug().is_empty(), "{what}: {reply:?}");
    }
}

/// Every route of both faces, with ids that exist where one is needed.
fn routes(job: &str, upload: &str) -> Vec<(Method, String)> {
    let get = |path: &str| (Method::GET, path.to_owned());
    let post = |path: &str| (Method::POST, path.to_owned());
    vec![
        get("/"),
        get("/conformance"),
        get("/health"),
        get("/ready"),
        get("/problems/not-found"),
        get("/processes"),
        get("/processes/CsvColumnStatistics"),
        (Method::PUT, "/processes/NoSuchProcess".into()),
        (Method::DELETE, "/processes/NoSuchProcess".into()),
        post("/processes"),
        post("/processes/CsvColumnStatistics/execution"),
        post("/processes/CsvColumnStatistics/batch"),
        get("/modules"),
        get("/jobs"),
        get(&format!("/jobs/{job}")),
        get(&format!("/jobs/{job}/results")),
        get(&format!("/jobs/{job}/events")),
        get(&format!("/jobs/{job}/logs")),
        get(&format!("/jobs/{job}/files")),
        get(&format!("/jobs/{job}/files/data.csv")),
        (
            Method::DELETE,
            "/jobs/00000000-0000-4000-8000-000000000000".into(),
        ),
        post("/files"),
        get(&format!("/files/{upload}")),
        post("/token"),
        get("/users/me"),
        get("/users"),
        post("/users"),
        (Method::DELETE, "/users/nobody".into()),
        get("/tokens"),
        post("/tokens"),
        (Method::DELETE, "/tokens/none".into()),
        get("/v1/discipline"),
        post("/v1/discipline/CsvColumnStatistics/input_grammar"),
        post("/v1/discipline/CsvColumnStatistics/execute"),
        get("/v1/job"),
        get("/v1/job/1"),
        get("/v1/job/1/files"),
        get("/v1/job/1/files/download?file_path=data.csv"),
        get("/v1/file"),
        post("/v1/file/upload"),
        get("/v1/user/me"),
    ]
}

/// A server with one finished job that has a file in its workspace.
async fn server_with_a_job() -> (TestApp, String, String) {
    let app = spawn_app(&["csv_column_statistics"]).await;
    let csv = b"a,b\n1,2\n3,6\n".to_vec();
    let uploaded = app.post_raw("/files?name=data.csv", "text/csv", csv).await;
    let upload = uploaded.body["fileID"]
        .as_str()
        .expect("an upload")
        .to_owned();
    let body = json!({"inputs": {"file_name": "data.csv"}, "files": {"data.csv": upload}});
    let job = app.submit_ok("CsvColumnStatistics", &body).await;
    app.wait_for_job(&job).await;
    (app, job, upload)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_oversized_heads_and_bad_bodies_with_problem_documents() {
    let (app, job, upload) = server_with_a_job().await;
    let url = |path: &str| format!("{}{path}", app.address);
    let long_query = format!("pad={}", "a".repeat(host::http::MAX_URI_BYTES));
    for (method, path) in routes(&job, &upload) {
        let separator = if path.contains('?') { '&' } else { '?' };
        let long = send(app.client.request(
            method.clone(),
            url(&format!("{path}{separator}{long_query}")),
        ))
        .await;
        assert_eq!(long.problem_slug(), "uri-too-long", "{method} {path}");

        let mut many = app.client.request(method.clone(), url(&path));
        for index in 0..=host::http::MAX_HEADER_FIELDS {
            many = many.header(format!("x-field-{index}"), "1");
        }
        let many = send(many).await;
        assert_eq!(many.problem_slug(), "headers-too-large", "{method} {path}");

        let large = "v".repeat(host::http::MAX_HEADER_BYTES);
        let large = send(
            app.client
                .request(method.clone(), url(&path))
                .header("x-large", large),
        )
        .await;
        assert_eq!(large.problem_slug(), "headers-too-large", "{method} {path}");

        if method == Method::GET || method == Method::DELETE {
            let plain = send(app.client.request(method.clone(), url(&path))).await;
            assert_refused_as_problem(&format!("{method} {path}"), &plain);
            continue;
        }
        let bodies: [(&str, Vec<u8>); 4] = [
            ("text/plain", b"inputs".to_vec()),
            ("application/json", b"{\"inputs\": ".to_vec()),
            ("application/json", vec![b' '; 300 << 10]),
            ("multipart/form-data; boundary=x", b"--x\r\nbroken".to_vec()),
        ];
        for (content_type, body) in bodies {
            let what = format!("{method} {path} with {content_type} ({} bytes)", body.len());
            let reply = send(
                app.client
                    .request(method.clone(), url(&path))
                    .header("content-type", content_type)
                    .body(body),
            )
            .await;
            assert_refused_as_problem(&what, &reply);
        }
    }
    let still = app.get(&format!("/jobs/{job}")).await;
    assert_eq!(still.body["status"], "successful", "{still:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_past_their_limit_are_413_problems_on_every_body_route() {
    let (app, _, _) = server_with_a_job().await;
    let oversized = vec![b'a'; 300 << 10];
    let json_routes = [
        "/processes/CsvColumnStatistics/execution",
        "/processes/CsvColumnStatistics/batch",
        "/v1/discipline/CsvColumnStatistics/execute",
        "/users",
        "/tokens",
    ];
    for path in json_routes {
        let reply = app
            .post_raw(path, "application/json", oversized.clone())
            .await;
        assert_eq!(
            reply.problem_slug(),
            "payload-too-large",
            "{path}: {reply:?}"
        );
    }
    let form = app
        .post_raw(
            "/token",
            "application/x-www-form-urlencoded",
            oversized.clone(),
        )
        .await;
    assert_eq!(form.problem_slug(), "payload-too-large", "{form:?}");
    let wrong_type = app.post_raw("/token", "text/plain", b"x".to_vec()).await;
    assert_eq!(
        wrong_type.problem_slug(),
        "unsupported-media-type",
        "{wrong_type:?}"
    );

    for path in [
        "/processes/CsvColumnStatistics/execution",
        "/v1/file/upload",
    ] {
        let field = if path.starts_with("/v1") {
            "files"
        } else {
            "data"
        };
        let body = multipart_file(field, "big.csv", &oversized);
        let reply = app.post_raw(path, MULTIPART, body).await;
        assert_eq!(
            reply.problem_slug(),
            "payload-too-large",
            "{path}: {reply:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_give_a_part_the_whole_file_or_a_problem() {
    let (app, job, _) = server_with_a_job().await;
    let url = format!("{}/jobs/{job}/files/data.csv", app.address);
    let ranged = |range: &'static str| app.client.get(&url).header("range", range);
    let part = ranged("bytes=0-2").send().await.expect("GET");
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().await.expect("text"), "a,b");
    let several = ranged("bytes=0-1,1-2").send().await.expect("GET");
    assert_eq!(several.status(), 200);
    assert_eq!(several.text().await.expect("text"), "a,b\n1,2\n3,6\n");
    let changed = send(
        app.client
            .get(&url)
            .header("if-unmodified-since", "Thu, 01 Jan 1970 00:00:00 GMT"),
    )
    .await;
    assert_eq!(changed.problem_slug(), "precondition-failed", "{changed:?}");
    let beyond = send(ranged("bytes=1000-")).await;
    assert_eq!(beyond.problem_slug(), "range-not-satisfiable", "{beyond:?}");
    assert_eq!(beyond.headers["content-range"], "bytes */12");
    let absurd = [
        "lines=1-2",
        "bytes=18446744073709551616-",
        "bytes=-18446744073709551616",
        "bytes=5-1",
        "bytes=--1",
        "bytes=1e20-",
    ];
    for range in absurd {
        let reply = send(ranged(range)).await;
        assert!(
            reply.status == 200 || !reply.problem_slug().is_empty(),
            "{range}: {reply:?}"
        );
    }
}
