//! The demo's operational part: deployment-hygiene flaws and their twins,
//! health endpoints (a truthful one and a lying one), and a control to
//! switch the truthful one to failing so `readiness watch` has something to
//! report.
//!
//! The hardened origin answers every unknown path with its SPA shell (a
//! catch-all that must not be mistaken for leaks); the legacy origin serves
//! a real `.env` and `.git/HEAD`, a stack-trace error page and a versioned
//! `X-Powered-By`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// Shared switches of the running demo.
#[derive(Debug, Default)]
pub struct Ops {
    /// The database the truthful health endpoint reports on is down.
    pub db_down: AtomicBool,
    /// The `.env` the legacy origin leaks (values are secrets).
    pub leaked_env: String,
}

impl Ops {
    pub fn new() -> Ops {
        Ops {
            db_down: AtomicBool::new(false),
            leaked_env: format!(
                "APP_ENV=staging\nDB_PASSWORD=demo-{:024x}\n\
                 MAIL_FROM=noreply@readiness-demo.test\n",
                rand::random::<u128>()
            ),
        }
    }

    /// The leaked credential, to register with the redactor.
    pub fn leaked_secret(&self) -> String {
        self.leaked_env
            .lines()
            .find_map(|l| l.strip_prefix("DB_PASSWORD="))
            .unwrap_or_default()
            .to_string()
    }
}

const SPA_SHELL: &str = "<!doctype html><html><head><title>Community</title>\
    <script>window.__routes=[\"/\",\"/login\"]; var cfg={a:1};</script></head>\
    <body><div id=\"root\"></div><script src=\"/static/app.js\"></script></body></html>";

/// The hardened HTTPS origin: the platform's routes plus this part's, all
/// answered through a (simulated) CDN that adds its request-id header.
pub fn app_router(platform: Router, ops: Arc<Ops>) -> Router {
    let own = Router::new()
        .route("/health/ready", get(health_ready))
        .route("/health/lying", get(health_lying))
        .route("/_demo/control", post(control))
        .fallback(get(|| async {
            typed("text/html; charset=utf-8", SPA_SHELL.to_string())
        }))
        .with_state(ops);
    platform
        .merge(own)
        .layer(axum::middleware::map_response(cdn_header))
}

async fn cdn_header(mut res: Response) -> Response {
    let ray = format!("{:016x}-AMS", rand::random::<u64>());
    if let Ok(v) = HeaderValue::from_str(&ray) {
        res.headers_mut().insert("cf-ray", v);
    }
    res
}

/// Routes merged into the flawed legacy HTTPS origin.
pub fn legacy_router(ops: Arc<Ops>) -> Router {
    Router::new()
        .route("/.env", get(leaked_env))
        .route(
            "/.git/HEAD",
            get(|| async { powered(typed("text/plain", "ref: refs/heads/main\n".into())) }),
        )
        .fallback(legacy_error)
        .with_state(ops)
}

fn typed(content_type: &'static str, body: String) -> Response {
    let mut res = Response::new(Body::from(body));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn powered(mut res: Response) -> Response {
    res.headers_mut()
        .insert("x-powered-by", HeaderValue::from_static("Express 4.17.1"));
    res
}

async fn leaked_env(State(ops): State<Arc<Ops>>) -> Response {
    powered(typed("text/plain", ops.leaked_env.clone()))
}

/// Express in development mode: a 404 page, and a stack trace for a bad path.
async fn legacy_error(req: Request) -> Response {
    let path = req.uri().path().to_string();
    let decodable = percent_decodes(&path);
    let (status, body) = if decodable {
        (
            StatusCode::NOT_FOUND,
            format!(
                "<!DOCTYPE html><html><head><title>Error</title></head><body>\
                 <pre>Cannot GET {}</pre></body></html>",
                escape(&path)
            ),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            format!(
                "<!DOCTYPE html><html><head><title>Error</title></head><body><pre>\
                 URIError: Failed to decode param &#39;{}&#39;<br> &nbsp; &nbsp;at \
                 decodeURIComponent (&lt;anonymous&gt;)<br> &nbsp; &nbsp;at decode_param \
                 (/srv/legacy/node_modules/express/lib/router/layer.js:172:12)<br> &nbsp; \
                 &nbsp;at Layer.match (/srv/legacy/node_modules/express/lib/router/layer.js:\
                 148:15)</pre></body></html>",
                escape(&path)
            ),
        )
    };
    let mut res = typed("text/html; charset=utf-8", body);
    *res.status_mut() = status;
    powered(res)
}

fn percent_decodes(path: &str) -> bool {
    let bytes: Vec<u8> = url::form_urlencoded::parse(format!("p={path}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    let b = path.as_bytes();
    let well_formed = b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    well_formed && !String::from_utf8_lossy(&bytes).contains('\u{fffd}')
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

fn simulated_db_down(req: &Request) -> bool {
    req.uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "simulate=db-down"))
}

/// A truthful health endpoint: says down when its database is.
async fn health_ready(State(ops): State<Arc<Ops>>, req: Request) -> Response {
    if ops.db_down.load(Ordering::SeqCst) || simulated_db_down(&req) {
        let mut res = typed(
            "application/json",
            "{\"status\":\"down\",\"checks\":{\"db\":\"down\"}}".into(),
        );
        *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return res;
    }
    typed(
        "application/json",
        "{\"status\":\"ok\",\"checks\":{\"db\":\"ok\"}}".into(),
    )
}

/// A lying health endpoint: says ok whatever its dependencies do.
async fn health_lying() -> Response {
    typed("application/json", "{\"status\":\"ok\"}".into())
}

/// `POST /_demo/control?health=failing|ok`: switches the truthful endpoint.
async fn control(State(ops): State<Arc<Ops>>, req: Request) -> Response {
    let query = req.uri().query().unwrap_or("");
    let state = if query.contains("health=failing") {
        ops.db_down.store(true, Ordering::SeqCst);
        "failing"
    } else if query.contains("health=ok") {
        ops.db_down.store(false, Ordering::SeqCst);
        "ok"
    } else {
        return (
            StatusCode::BAD_REQUEST,
            "use ?health=failing or ?health=ok\n",
        )
            .into_response();
    };
    (StatusCode::OK, format!("health endpoint is now {state}\n")).into_response()
}

/// The production env file: a test-mode key and a localhost URL, beside
/// settings that look alike but are right (decoys).
const PRODUCTION_ENV: &str = "# production settings of the demo platform\n\
NODE_ENV=production\n\
DEBUG=false\n\
APP_NAME=\"Demo community\"\n\
APP_URL=http://localhost:3000\n\
SUPPORT_URL=https://help.readiness-demo.test\n\
DATABASE_URL=postgres://app@10.0.3.7:5432/community\n\
export STRIPE_SECRET_KEY=sk_test_";

/// The development env file it is compared with.
const DEVELOPMENT_ENV: &str = "NODE_ENV=development\n\
DEBUG=true\n\
APP_NAME=\"Demo community\"\n\
APP_URL=http://localhost:3000\n\
SUPPORT_URL=http://localhost:3001\n\
DATABASE_URL=postgres://app@localhost:5432/community_dev\n\
DEV_SEED_USERS=1\n\
STRIPE_SECRET_KEY=sk_test_";

/// Writes `env/production.env` and `env/development.env` under `dir`.
pub fn write_env_files(dir: &std::path::Path) -> Result<(), String> {
    let env = dir.join("env");
    std::fs::create_dir_all(&env).map_err(|e| format!("cannot create {}: {e}", env.display()))?;
    let files = [
        ("production.env", PRODUCTION_ENV),
        ("development.env", DEVELOPMENT_ENV),
    ];
    for (name, text) in files {
        let body = format!("{text}{:024x}\n", rand::random::<u128>());
        std::fs::write(env.join(name), body).map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    Ok(())
}

/// How to switch the truthful health endpoint, for `readiness demo --serve`.
pub fn control_help(app_https: &str) -> String {
    format!(
        "  health control   POST {app_https}_demo/control?health=failing (or ?health=ok)\n\
         \x20                  makes {app_https}health/ready answer 503 (or 200), so \
         `readiness watch` alerts and then reports the recovery"
    )
}

/// The profile sections of this part.
pub fn profile_text(legacy_https: &str) -> String {
    format!(
        r#"
[checks.hygiene]
origins = ["{legacy_https}"]
api_url = "/api/"
production_env = "env/production.env"
other_env = ["env/development.env"]

[checks.monitoring]
health = [
  {{ url = "/health/ready", dependency_down = "/health/ready?simulate=db-down" }},
  {{ url = "/health/lying", dependency_down = "/health/lying?simulate=db-down" }},
]

[checks.edge]
expect_cdn = true
origins = ["{legacy_https}"]
# The demo must audit the same whatever the age of the shipped ranges.
ranges_max_age_days = 36500

[[checks.monitoring.monitor]]
name = "Signup journey"
target = "/api/signup"
interval = "1m"
alert = ["pager:platform-oncall"]

[[checks.monitoring.monitor]]
name = "Login"
target = "/api/login"
flow = "login"
interval = "5m"
alert = ["slack:#ops-alerts"]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_paths_are_told_apart() {
        assert!(percent_decodes("/readiness-zz9a"));
        assert!(percent_decodes("/a%20b"));
        assert!(!percent_decodes("/x-%E0%A4%A%zz"));
        assert!(!percent_decodes("/x-%zz"));
    }
}
