//! The demo's web app: a small B2B community platform (orgs, members,
//! invites, login, signup) served on two origins. `app` is hardened;
//! `legacy` carries the planted transport flaws. Both sit behind a staging
//! access key sent as a header, as many real staging sites do.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The header that carries the staging access key.
pub const ACCESS_HEADER: &str = "x-demo-access";

/// How one origin is configured.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: &'static str,
    pub access_key: String,
    /// `Some(https origin)`: plain HTTP redirects there; `None`: serves content.
    pub upgrade_to: Option<String>,
    pub hsts: Option<&'static str>,
    pub hardened_cookies: bool,
    pub security_headers: bool,
    pub mixed_content: bool,
}

/// The HTTPS side of an origin.
pub fn https_router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/login", get(login_page))
        .route(
            "/healthz",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"status\":\"ok\"}",
                )
            }),
        )
        .layer(middleware::from_fn_with_state(site.clone(), harden))
        .layer(middleware::from_fn_with_state(site.clone(), gate))
        .with_state(site)
}

/// The plain-HTTP side: a redirect to HTTPS, or (legacy) the same app unencrypted.
pub fn http_router(site: Arc<Site>) -> Router {
    match site.upgrade_to.clone() {
        Some(target) => Router::new().fallback(move |req: Request| {
            let target = target.clone();
            async move {
                let path = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let location = format!("{}{}", target.trim_end_matches('/'), path);
                (
                    StatusCode::MOVED_PERMANENTLY,
                    [(header::LOCATION, location)],
                )
                    .into_response()
            }
        }),
        None => Router::new()
            .route("/", get(landing))
            .route("/login", get(login_page))
            .layer(middleware::from_fn_with_state(site.clone(), gate))
            .with_state(site),
    }
}

/// Rejects requests without the staging access key.
async fn gate(State(site): State<Arc<Site>>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(ACCESS_HEADER)
        .is_some_and(|v| v.as_bytes() == site.access_key.as_bytes());
    if !ok {
        return (StatusCode::UNAUTHORIZED, "staging access key required").into_response();
    }
    next.run(req).await
}

/// Adds HSTS and security headers per the site's configuration.
async fn harden(State(site): State<Arc<Site>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Some(hsts) = site.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(hsts),
        );
    }
    if site.security_headers {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'nonce-r3ad1ness'; object-src 'none'; \
                 base-uri 'self'; frame-ancestors 'none'",
            ),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
    }
    res
}

async fn landing(State(site): State<Arc<Site>>) -> Response {
    let script = if site.mixed_content {
        r#"<script src="http://cdn.legacy-assets.test/widget.js"></script>"#
    } else {
        r#"<script nonce="r3ad1ness" src="/static/app.js"></script>"#
    };
    let body = format!(
        "<!doctype html><html><head><title>Community ({name})</title>{script}</head>\
         <body><h1>Your organisation's community</h1><p>Orgs, members and invites.</p>\
         <a href=\"/login\">Log in</a></body></html>",
        name = site.name
    );
    let cookie = if site.hardened_cookies {
        "theme=light; Path=/; Secure; SameSite=Lax"
    } else {
        "theme=light; Path=/"
    };
    let mut res = html(body);
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_page(State(site): State<Arc<Site>>) -> Response {
    let body = "<!doctype html><html><body><form method=\"post\" action=\"/api/login\">\
                <input name=\"email\"><input name=\"password\" type=\"password\">\
                <button>Log in</button></form></body></html>";
    let session = format!("{:016x}", rand::random::<u64>());
    let cookie = if site.hardened_cookies {
        format!("__Host-sid={session}; Path=/; Secure; HttpOnly; SameSite=Lax")
    } else {
        format!("sessionid={session}; Path=/")
    };
    let mut res = html(body.to_string());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn html(body: String) -> Response {
    let mut res = Response::new(Body::from(body));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}
