//! The shared client's manners, observed from the server side: the global
//! rate cap, Retry-After after a 429, and Ctrl-C ending the run with a
//! partial scorecard and exit code 130.

mod support;

use std::time::{Duration, Instant};

use support::hostile::{Behaviour, start};
use support::{bin, run, stdout, write_profile};

fn profile(tls_port: u16, http_port: u16, extra: &str) -> String {
    format!(
        r#"[target]
name = "manners"
base_url = "https://127.0.0.1:{tls_port}/"
scope = ["127.0.0.1:{tls_port}", "127.0.0.1:{http_port}"]
timeout = "1s"
{extra}
[checks.https]
base_http_url = "http://127.0.0.1:{http_port}/"
legacy_tls_probe = false
"#
    )
}

#[test]
fn max_rps_spaces_requests_out() {
    // A redirect loop makes the check send 6 requests back to back.
    let http = start(Behaviour::RedirectLoop);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_d, path) = write_profile(&profile(closed, http.port, "max_rps = 4"));
    let started = Instant::now();
    let o = run(&["audit", "--profile", path.to_str().unwrap()]);
    let elapsed = started.elapsed();
    assert_eq!(o.status.code(), Some(1));
    let sent = http.hits() + 1; // plus the TLS attempt
    // n requests at 4/s need at least (n-1)/4 seconds.
    let floor = Duration::from_millis(((sent as u64 - 1) * 250).saturating_sub(100));
    assert!(
        elapsed >= floor,
        "{sent} requests in {elapsed:?} at max_rps=4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_the_host_and_scope_refusals_are_journaled() {
    use readiness::net::budget::Allowance;
    use readiness::net::{HttpRequest, Net, NetError};
    use readiness::redact::Redactor;
    use tokio_util::sync::CancellationToken;

    let http = start(Behaviour::Fixed(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
            .into(),
    ));
    let text = profile(http.port, http.port, "max_rps = 1000");
    let profile =
        readiness::profile::parse(&text, std::path::Path::new("p.toml"), &Redactor::new()).unwrap();
    let net = Net::new(&profile, Redactor::new(), Instant::now()).unwrap();
    let client = net.for_check("test", Allowance::fixed(3), CancellationToken::new());
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/", http.port)).unwrap();

    let first = client.send(HttpRequest::get(url.clone())).await.unwrap();
    assert_eq!(first.status, 429);
    let started = Instant::now();
    let second = client.send(HttpRequest::get(url.clone())).await.unwrap();
    assert_eq!(second.status, 429);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured"
    );

    // Out of scope: refused before any socket, journaled as refused.
    let outside = url::Url::parse("http://127.0.0.1:9/").unwrap();
    assert!(matches!(
        client.send(HttpRequest::get(outside)).await,
        Err(NetError::OutOfScope(_))
    ));
    // Budget: the third in-scope request fits, the fourth is refused.
    assert!(client.send(HttpRequest::get(url.clone())).await.is_ok());
    assert!(matches!(
        client.send(HttpRequest::get(url)).await,
        Err(NetError::Budget)
    ));
    assert_eq!(http.hits(), 3);
    assert_eq!(net.journal.sent(), 3);
    assert_eq!(net.journal.refused(), 2);
}

#[test]
fn ctrl_c_prints_the_partial_scorecard_and_exits_130() {
    let silent = start(Behaviour::Silent);
    let (_d, path) = write_profile(
        &profile(silent.port, silent.port, "").replace("timeout = \"1s\"", "timeout = \"60s\""),
    );
    let child = std::process::Command::new(bin())
        .args(["audit", "--profile", path.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the audit is connected to the silent server, then interrupt it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while silent.hits() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "interrupt took too long"
    );
    assert_eq!(out.status.code(), Some(130));
    let text = stdout(&out);
    assert!(text.contains("interrupted"), "{text}");
    assert!(text.contains("https"), "{text}");
}
