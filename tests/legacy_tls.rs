//! The legacy-TLS probe against canned responders and a real rustls server,
//! all on 127.0.0.1.

#[path = "support/legacy_tls.rs"]
mod legacy_support;

use std::sync::Arc;
use std::time::Duration;

use legacy_support::{Answer, spawn};
use readiness::net::legacy_tls::{LegacyReply, LegacyVersion, probe};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(5);

async fn probe_canned(answer: Answer, version: LegacyVersion) -> (LegacyReply, Vec<u8>) {
    let (addr, server) = spawn(answer).await;
    let stream = TcpStream::connect(addr).await.expect("connect");
    let reply = probe(stream, version, "legacy.example.test", LIMIT).await;
    let hello = server.await.expect("server task");
    (reply, hello)
}

#[tokio::test]
async fn tls10_server_hello_is_accepted() {
    let (reply, hello) = probe_canned(Answer::ServerHello(0x0301), LegacyVersion::Tls10).await;
    assert_eq!(
        reply,
        LegacyReply::Accepted {
            version: LegacyVersion::Tls10
        }
    );
    assert!(reply.accepts_legacy());
    assert_eq!(
        &hello[..3],
        &[0x16, 0x03, 0x01],
        "the server saw a ClientHello record"
    );
    assert_eq!(hello[5], 1, "handshake type client_hello");
}

#[tokio::test]
async fn older_server_hello_is_a_downgrade() {
    let (reply, _) = probe_canned(Answer::ServerHello(0x0301), LegacyVersion::Tls11).await;
    assert_eq!(reply, LegacyReply::Downgraded { version: 0x0301 });
    assert!(reply.accepts_legacy());
}

#[tokio::test]
async fn protocol_version_alert_is_refusal() {
    let (reply, _) = probe_canned(Answer::FatalAlert(70), LegacyVersion::Tls11).await;
    assert_eq!(
        reply,
        LegacyReply::Alert {
            level: 2,
            description: 70
        }
    );
    assert!(!reply.accepts_legacy());
}

#[tokio::test]
async fn garbage_is_not_tls() {
    let (reply, _) = probe_canned(Answer::Garbage, LegacyVersion::Tls10).await;
    assert_eq!(reply, LegacyReply::NotTls);
    assert!(!reply.accepts_legacy());
}

#[tokio::test]
async fn silent_close_is_refusal() {
    let (reply, _) = probe_canned(Answer::Close, LegacyVersion::Tls10).await;
    assert_eq!(reply, LegacyReply::Closed);
}

#[tokio::test]
async fn stalled_server_times_out() {
    let (addr, server) = spawn(Answer::Stall).await;
    let stream = TcpStream::connect(addr).await.expect("connect");
    let started = std::time::Instant::now();
    let reply = probe(
        stream,
        LegacyVersion::Tls10,
        "x.test",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(reply, LegacyReply::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(2));
    server.abort();
}

fn rustls_acceptor() -> tokio_rustls::TlsAcceptor {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = certified.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(
        certified.key_pair.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[tokio::test]
async fn real_rustls_server_refuses_legacy_versions() {
    let acceptor = rustls_acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            // The handshake must fail; the result is the alert the client sees.
            let outcome = tokio::time::timeout(LIMIT, acceptor.accept(socket)).await;
            assert!(
                !matches!(outcome, Ok(Ok(_))),
                "rustls must not complete a legacy handshake"
            );
        }
    });

    for version in [LegacyVersion::Tls10, LegacyVersion::Tls11] {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let reply = probe(stream, version, "localhost", LIMIT).await;
        assert!(!reply.accepts_legacy(), "{version}: {reply:?}");
        // rustls answers with a fatal alert (handshake_failure in practice).
        assert!(
            matches!(reply, LegacyReply::Alert { level: 2, .. }),
            "{version}: {reply:?}"
        );
        eprintln!("rustls, {version}: {}", reply.describe(version));
    }
    server.await.expect("server task");
}
