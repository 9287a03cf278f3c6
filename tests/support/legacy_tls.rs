//! Canned TLS responders for the legacy-TLS probe tests.
//!
//! Each listener on 127.0.0.1:0 accepts one connection, reads one TLS record
//! (the ClientHello, bounded in size and time), then answers as configured.
//! The received hello is handed back so tests can inspect it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the canned server answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// A ServerHello record choosing this wire version.
    ServerHello(u16),
    /// A fatal alert with this description (70 = protocol_version).
    FatalAlert(u8),
    /// Bytes that are not TLS.
    Garbage,
    /// Close without a byte.
    Close,
    /// Send nothing and keep the connection open for a while.
    Stall,
}

/// A ServerHello record with `version`, TLS_RSA_WITH_AES_128_CBC_SHA, no extensions.
pub fn server_hello(version: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]);
    body.extend_from_slice(&[0, 0x00, 0x2f, 0]);
    let mut handshake = vec![2, 0, 0, u8::try_from(body.len()).expect("short body")];
    handshake.extend_from_slice(&body);
    let length = u16::try_from(handshake.len()).expect("short record");
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&length.to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Starts a one-connection responder; the handle yields the ClientHello it read.
pub async fn spawn(answer: Answer) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = tokio::spawn(async move {
        let Ok(Ok((mut socket, _))) =
            tokio::time::timeout(Duration::from_secs(10), listener.accept()).await
        else {
            return Vec::new();
        };

        let mut hello = vec![0u8; 5];
        let read_header = socket.read_exact(&mut hello);
        if tokio::time::timeout(Duration::from_secs(5), read_header)
            .await
            .is_err()
        {
            return hello;
        }
        let length = usize::from(u16::from_be_bytes([hello[3], hello[4]])).min(16_384);
        let mut body = vec![0u8; length];
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut body)).await;
        hello.extend_from_slice(&body);

        let reply = match answer {
            Answer::ServerHello(version) => server_hello(version),
            Answer::FatalAlert(description) => vec![0x15, 0x03, 0x01, 0x00, 0x02, 2, description],
            Answer::Garbage => b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
            Answer::Close => Vec::new(),
            Answer::Stall => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Vec::new()
            }
        };
        let _ = socket.write_all(&reply).await;
        let _ = socket.shutdown().await;
        hello
    });
    (addr, handle)
}
