//! TLS: with a certificate and key the server speaks https and wss only; a client trusting the
//! (self-signed) certificate creates a room and draws over wss.

mod common;

use std::sync::Arc;

use common::{http_on, Client, TempDir, TestServer};
use inkroom::config::{Config, TlsFiles};
use inkroom::protocol::ServerMsg;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM files.
fn self_signed(dir: &TempDir) -> (TlsFiles, rustls::pki_types::CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    let files = TlsFiles {
        cert: dir.0.join("cert.pem"),
        key: dir.0.join("key.pem"),
    };
    std::fs::write(&files.cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&files.key, certified.signing_key.serialize_pem()).expect("write key");
    (files, certified.cert.der().clone())
}

fn client_config(cert: rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("trust the test certificate");
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

#[tokio::test]
async fn https_and_wss_with_a_self_signed_certificate() {
    let dir = TempDir::new();
    let (files, cert) = self_signed(&dir);
    let server = TestServer::with_config(Config {
        tls: Some(files),
        ..Config::default()
    });
    let tls = client_config(cert);

    // HTTPS: create a room.
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls));
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await.expect("TLS handshake");
    let body = r#"{"width": 200, "height": 100}"#;
    let res = http_on(stream, server.addr, "POST", "/api/rooms", Some(body), &[]).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let room = res.json();
    let id = room["id"].as_str().expect("id");
    let key = room["edit_key"].as_str().expect("key");

    // WSS: join and draw.
    let url = format!("wss://localhost:{}/api/rooms/{id}/ws", server.addr.port());
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url,
        None,
        true,
        Some(tokio_tungstenite::Connector::Rustls(tls)),
    )
    .await
    .expect("wss connect");
    let mut ann = Client::over(ws);
    ann.send(json!({"type": "hello", "name": "Ann", "key": key}))
        .await;
    let ServerMsg::Welcome { you, .. } = ann.recv().await else {
        panic!("expected welcome");
    };
    ann.id = you;
    assert!(matches!(ann.recv().await, ServerMsg::Synced { seq: 0 }));
    ann.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5], [90.0, 50.0, 0.5]])
        .await;
    assert_eq!(ann.await_commit(1).await, 1);

    // Plain HTTP on the TLS port gets no answer.
    let plain =
        tokio_tungstenite::connect_async(format!("ws://{}/api/rooms/{id}/ws", server.addr)).await;
    assert!(plain.is_err(), "plain ws must not work on the TLS port");
}

/// The binary refuses to start with a missing or broken certificate, and says which file.
#[test]
fn a_bad_certificate_stops_the_server_with_a_clear_message() {
    let dir = TempDir::new();
    let cert = dir.0.join("cert.pem");
    std::fs::write(&cert, "not a certificate").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inkroom"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.0.join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(dir.0.join("missing-key.pem"))
        .output()
        .expect("run inkroom");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TLS certificate") && err.contains("cert.pem"),
        "{err}"
    );
}
