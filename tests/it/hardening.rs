//! Hardening: security headers on every answer, small bodies for small documents, and slow
//! clients cut off.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app(&["sellar1"]).await;
    for path in [
        "/",
        "/processes/Sellar1",
        "/no/such/path",
        "/jobs/not-a-job",
    ] {
        let reply = app.get(path).await;
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ] {
            assert_eq!(reply.headers[name], value, "{path}: {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_or_account_document_is_small() {
    let app = spawn_app(&[]).await;
    let huge = "x".repeat(100 << 10);
    let login = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("username", "admin"), ("password", huge.as_str())])
        .send()
        .await
        .expect("POST /token");
    assert_eq!(login.status(), 413);
    let user = app
        .post_json("/users", &serde_json::json!({"name": huge}))
        .await;
    assert_eq!(user.status, 413, "{user:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stalls_is_cut_off_and_others_are_served() {
    let app = spawn_app_with(&["sellar1"], |config| {
        config.http.header_timeout = Duration::from_millis(500);
        config.http.body_timeout = Duration::from_millis(500);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();

    let mut slow_headers = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    slow_headers
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let begun = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        slow_headers.read_to_end(&mut answer),
    )
    .await;
    assert!(
        begun.elapsed() < Duration::from_secs(4),
        "closed after the header timeout"
    );

    let mut slow_body = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    slow_body
        .write_all(
            b"POST /processes/Sellar1/execution HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"inputs\":",
        )
        .await
        .expect("write");
    let begun = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), slow_body.read_to_end(&mut answer)).await;
    assert!(
        begun.elapsed() < Duration::from_secs(4),
        "cut off after the body timeout"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("/problems/request-timeout"), "{text}");

    assert_eq!(
        app.get("/health").await.status,
        200,
        "others are still served"
    );
}
