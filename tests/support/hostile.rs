//! Hostile servers: each misbehaves in one way a real target might, so tests
//! can prove every misbehaviour ends as a defined verdict within its deadline.
//! All listen on 127.0.0.1 with raw TCP and count the connections they get.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a hostile server answers.
#[derive(Clone)]
pub enum Behaviour {
    /// Answers every request with this raw HTTP response.
    Fixed(String),
    /// Redirects `/n` to `/n+1`... and `/loop` back to itself.
    RedirectLoop,
    /// Accepts and never answers.
    Silent,
    /// Sends headers, then an endless body.
    EndlessBody,
    /// Sends bytes that are not HTTP.
    Garbage,
    /// Redirects to this absolute URL.
    RedirectTo(String),
    /// Reads one chunk, then writes these bytes and closes.
    Raw(Vec<u8>),
}

pub struct Hostile {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
    /// Request heads received by `Fixed` servers, for asserting what was sent.
    pub heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Hostile {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Starts a hostile server on 127.0.0.1 on the shared background runtime.
pub fn start(behaviour: Behaviour) -> Hostile {
    let rt = super::background_runtime();
    // Bound with std so this also works from inside another runtime.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind hostile server");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let port = std_listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = heads.clone();
    rt.spawn(async move {
        let Ok(listener) = TcpListener::from_std(std_listener) else {
            return;
        };
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let behaviour = behaviour.clone();
            let recorder = recorder.clone();
            tokio::spawn(async move {
                let _ = answer(stream, behaviour, recorder).await;
            });
        }
    });
    Hostile { port, hits, heads }
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn answer(
    mut stream: TcpStream,
    behaviour: Behaviour,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    match behaviour {
        Behaviour::Silent => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(())
        }
        Behaviour::Garbage => {
            stream
                .write_all(b"\x16\x03\x01garbage that is not HTTP\x00\xff\r\n\r\n")
                .await?;
            Ok(())
        }
        Behaviour::Raw(bytes) => {
            let mut chunk = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut chunk)).await;
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        }
        Behaviour::Fixed(raw) => {
            let head = read_head(&mut stream).await?;
            if let Ok(mut h) = heads.lock() {
                h.push(head);
            }
            stream.write_all(raw.as_bytes()).await?;
            stream.shutdown().await
        }
        Behaviour::RedirectTo(url) => {
            let _ = read_head(&mut stream).await?;
            let raw = format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {url}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            stream.write_all(raw.as_bytes()).await?;
            stream.shutdown().await
        }
        Behaviour::RedirectLoop => {
            let head = read_head(&mut stream).await?;
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let next = if path == "/" { "/a" } else { "/" };
            let raw = format!(
                "HTTP/1.1 302 Found\r\nLocation: {next}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            stream.write_all(raw.as_bytes()).await?;
            stream.shutdown().await
        }
        Behaviour::EndlessBody => {
            let _ = read_head(&mut stream).await?;
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n",
                )
                .await?;
            let block = vec![b'a'; 64 * 1024];
            // Bounded: stops after 1 GiB or when the client goes away.
            for _ in 0..16_384 {
                stream.write_all(&block).await?;
            }
            Ok(())
        }
    }
}
