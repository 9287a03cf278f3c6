//! Error pages that give the application away: stack traces and framework
//! debug pages, and software versions in `Server` / `X-Powered-By`.
//!
//! Each signature is a piece of text only the framework's debug output
//! prints (a stack frame with file and line, the debug page's own sentence),
//! so an ordinary error page that merely says "error" or "at home" passes.

use std::sync::OnceLock;

use regex::Regex;

/// A framework's debug output, recognised by text only it prints.
struct Signature {
    framework: &'static str,
    pattern: &'static str,
}

const SIGNATURES: &[Signature] = &[
    Signature {
        framework: "Django",
        pattern: concat!(
            r"You're seeing this error because you have <code>DEBUG = True</code>",
            r"|Using the URLconf defined in <code>"
        ),
    },
    Signature {
        framework: "Python",
        pattern: r#"Traceback \(most recent call last\)|File "[^"]+\.py", line \d+, in "#,
    },
    Signature {
        framework: "Rails",
        pattern: r"Action Controller: Exception caught|Rails\.root: /|actionpack-\d[\d.]*/lib/",
    },
    Signature {
        framework: "Laravel",
        pattern: concat!(
            r"Whoops! There was an error|vendor/laravel/framework/src/Illuminate/",
            r"|Illuminate\\[A-Z]\w+\\"
        ),
    },
    Signature {
        framework: "Spring",
        pattern: concat!(
            r"Whitelabel Error Page",
            r"|\bat (org\.springframework|java\.base/|java\.lang\.)[\w$.]+\("
        ),
    },
    Signature {
        framework: "Java",
        pattern: r"\bat [a-z][\w$]*(\.[\w$]+)+\([\w$]+\.java:\d+\)",
    },
    Signature {
        framework: "ASP.NET",
        pattern: concat!(
            r"Server Error in '[^']*' Application",
            r"|An unhandled exception occurred while processing the request|\.cs:line \d+"
        ),
    },
    Signature {
        framework: "Next.js",
        pattern: r"webpack-internal:///|next/dist/(server|client)/|Unhandled Runtime Error",
    },
    Signature {
        framework: "Express",
        pattern: r"node_modules/express/|at Layer\.handle \[as handle_request\]",
    },
    Signature {
        framework: "Node.js",
        pattern: r"\bat (async )?[\w$.<>\[\] ]+ \((/|[A-Za-z]:\\|node:|file://)[^)\s]*:\d+:\d+\)",
    },
    Signature {
        framework: "PHP",
        pattern: concat!(
            r"(?s)(Fatal error|Uncaught \w+)</b>?:.*Stack trace:",
            r"|Stack trace:\s*(<br />)?\s*#0 "
        ),
    },
];

fn compiled() -> &'static Vec<(&'static str, Regex)> {
    static RE: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    RE.get_or_init(|| {
        SIGNATURES
            .iter()
            .filter_map(|s| Regex::new(s.pattern).ok().map(|r| (s.framework, r)))
            .collect()
    })
}

/// A stack trace or debug page found in an error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugPage {
    pub framework: &'static str,
    /// The matched text, cut short (it is the framework's, not the app's data).
    pub snippet: String,
}

/// Looks for a framework debug page or stack trace in a response body.
pub fn debug_page(body: &str) -> Option<DebugPage> {
    for (framework, re) in compiled() {
        if let Some(m) = re.find(body) {
            let snippet: String = m.as_str().chars().take(80).collect();
            return Some(DebugPage {
                framework,
                snippet: snippet.replace(['\n', '\r'], " "),
            });
        }
    }
    None
}

/// Headers that name software, with a version in the value.
pub const VERSION_HEADERS: &[&str] = &[
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-generator",
];

/// Whether a header value discloses a version (`nginx/1.25.3`, `PHP/8.1`, `4.0.30319`).
pub fn discloses_version(value: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(^|[/\s(v])\d+\.\d+").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_framework_is_recognised() {
        let cases = [
            (
                "Express",
                "<pre>URIError: Failed to decode param<br> &nbsp; &nbsp;at decodeURIComponent \
                 (&lt;anonymous&gt;)<br>at Layer.handle [as handle_request] \
                 (/app/node_modules/express/lib/router/layer.js:95:5)</pre>",
            ),
            (
                "Django",
                "<p>You're seeing this error because you have <code>DEBUG = True</code> in \
                 your Django settings file.</p>",
            ),
            (
                "Python",
                "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 12, in get",
            ),
            ("Rails", "<h1>Routing Error</h1><p>Rails.root: /srv/app</p>"),
            ("Laravel", "<title>Whoops! There was an error.</title>"),
            (
                "Spring",
                "<h1>Whitelabel Error Page</h1><p>There was an unexpected error</p>",
            ),
            (
                "Java",
                "java.lang.IllegalStateException: x\n\tat com.acme.web.Ctl.get(Ctl.java:42)",
            ),
            ("ASP.NET", "<h1>Server Error in '/' Application.</h1>"),
            (
                "ASP.NET",
                "An unhandled exception occurred while processing the request.",
            ),
            (
                "Next.js",
                "Error: boom\n    at Page (webpack-internal:///./pages/index.js:10:11)",
            ),
            (
                "Node.js",
                "TypeError: x is undefined\n    at handler (/srv/app/server.js:12:7)",
            ),
            (
                "PHP",
                "<b>Fatal error</b>:  Uncaught Exception: x in /var/www/a.php:3\n\
                 Stack trace:\n#0 {main}",
            ),
        ];
        for (want, body) in cases {
            let got = debug_page(body).unwrap_or_else(|| panic!("missed {want}: {body}"));
            assert_eq!(got.framework, want, "{body}");
        }
    }

    #[test]
    fn ordinary_error_pages_pass() {
        for body in [
            "<html><body><h1>Not found</h1><p>Look at our home page (or at the help \
             centre).</p></body></html>",
            "{\"error\":\"not_found\",\"message\":\"No route at /x\"}",
            "Bad Request",
            "<h1>500</h1><p>Something went wrong at 12:30. Our team has been notified.</p>",
            "<p>Stack trace ids help support: #0042</p>",
        ] {
            assert_eq!(debug_page(body), None, "{body}");
        }
    }

    #[test]
    fn versions_in_headers() {
        for v in [
            "nginx/1.25.3",
            "PHP/8.1.2",
            "Express 4.18.2",
            "4.0.30319",
            "Apache/2.4.57 (Ubuntu)",
        ] {
            assert!(discloses_version(v), "{v}");
        }
        for v in [
            "nginx",
            "Express",
            "cloudflare",
            "Apache",
            "AmazonS3",
            "gws",
        ] {
            assert!(!discloses_version(v), "{v}");
        }
    }
}
