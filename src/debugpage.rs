//! Framework debug and error pages: a response body that is the Werkzeug
//! debugger, a Django technical 500, a Rails or Laravel exception page, a
//! stack trace, is a production server left in debug mode.
//!
//! Both the `input` check (its 4xx/5xx answers) and the `hygiene` check (its
//! 404 and malformed requests) ask this one detector. Each signature is text
//! only the framework's debug output prints: a stack frame with a file and a
//! line, the debug page's own sentence or script hook. A page that merely
//! says "error", "traceback" or "stack trace" in prose is not a debug page.
//! Some debug pages also carry a console that runs code on the server (the
//! Werkzeug debugger with evaluation on, Rails web-console, Ignition's
//! solution runner): that is remote code execution, flagged apart.

use std::sync::OnceLock;

use regex::Regex;

/// A framework's debug output, recognised by text only it prints.
struct Signature {
    framework: &'static str,
    pattern: &'static str,
    /// Text that shows the page also offers a code console ("" for none).
    console: &'static str,
}

/// Most specific first: the first signature that matches names the page.
const SIGNATURES: &[Signature] = &[
    Signature {
        framework: "Werkzeug debugger",
        pattern: concat!(
            r"__debugger__=yes|Werkzeug Debugger</title>",
            r"|The debugger caught an exception in your WSGI application",
            r"|your friendly Werkzeug powered traceback interpreter"
        ),
        console: r"\bEVALEX\s*=\s*true|\bCONSOLE_MODE\s*=\s*true",
    },
    Signature {
        framework: "Django (DEBUG = True)",
        pattern: concat!(
            r"DEBUG = True(</code>)?\s+in\s+your\s+Django\s+settings\s+file",
            r"|Using the URLconf defined in (<code>)?[\w.]+(</code>)?,\s+Django tried"
        ),
        console: "",
    },
    Signature {
        framework: "Rails",
        pattern: concat!(
            r"Action Controller: Exception caught|Rails\.root: /|actionpack-\d[\d.]*/lib/",
            r"|/__better_errors/|/__web_console"
        ),
        console: r"/__web_console",
    },
    Signature {
        framework: "Laravel Ignition",
        pattern: r"window\.ignite\s*\(|facade/ignition|spatie/(laravel-)?ignition",
        console: r"_ignition/execute-solution",
    },
    Signature {
        framework: "Laravel (Whoops)",
        pattern: concat!(
            r"Whoops! There was an error|class=.Whoops container|filp/whoops",
            r"|vendor/laravel/framework/src/Illuminate/|Illuminate\\[A-Z]\w+\\[A-Z]"
        ),
        console: "",
    },
    Signature {
        framework: "Symfony debug",
        pattern: concat!(
            r#"class="sf-toolbar|id="sfwdt[0-9a-f]|/_profiler/[0-9a-f]{6}\b"#,
            r"|Symfony\\Component\\[A-Z]\w+\\[A-Z]"
        ),
        console: "",
    },
    Signature {
        framework: "Spring (stack trace)",
        pattern: concat!(
            r"(?s)Whitelabel Error Page.{0,4000}?",
            r"(\bat|\\tat) [\w$]+(\.[\w$]+)+\([\w$]+\.java:\d+\)",
            r#"|"trace"\s*:\s*"[\w$]+(\.[\w$]+)+(Exception|Error)\b"#,
            r"|(\s|\\t)at org\.springframework\.[\w$.]+\("
        ),
        console: "",
    },
    Signature {
        framework: "ASP.NET",
        pattern: concat!(
            r"Server Error in '[^']*' Application",
            r"|An unhandled exception occurred (while processing the request|during the execution)",
            r"|\.cs:line \d+"
        ),
        console: "",
    },
    Signature {
        framework: "Next.js",
        pattern: r"webpack-internal:///|next/dist/(server|client)/|Unhandled Runtime Error",
        console: "",
    },
    Signature {
        framework: "Express",
        pattern: r"node_modules/express/|at Layer\.handle \[as handle_request\]",
        console: "",
    },
    Signature {
        framework: "Node.js",
        pattern: r"\bat (async )?[\w$.<>\[\] ]+ \((/|[A-Za-z]:\\|node:|file://)[^)\s]*:\d+:\d+\)",
        console: "",
    },
    Signature {
        framework: "PHP",
        pattern: concat!(
            r"(?s)(Fatal error|Uncaught \w+)</b>?:.{0,4000}?Stack trace:",
            r"|Stack trace:\s*(<br />)?\s*#0 ",
            r"|(Fatal|Parse) error(</b>)?:\s[^\n]{0,500}? in (<b>)?(/|[A-Za-z]:\\)[^\s<]+\.php",
            r"(</b>)?( on line (<b>)?\d+|:\d+)"
        ),
        console: "",
    },
    Signature {
        framework: "Python (traceback)",
        pattern: r#"File ("|&quot;|&#34;|&#x22;)[^"&<>\n]+\.py("|&quot;|&#34;|&#x22;), line \d+"#,
        console: "",
    },
    Signature {
        framework: "Java (stack trace)",
        pattern: r"(\bat|\\tat) [a-z][\w$]*(\.[\w$]+)+\([\w$]+\.java:\d+\)",
        console: "",
    },
    Signature {
        framework: "Ruby (stack trace)",
        pattern: r"/[\w./-]+\.rb:\d+:in [`'][\w ]",
        console: "",
    },
    Signature {
        framework: "Go (panic)",
        pattern: r"goroutine \d+ \[running\]:",
        console: "",
    },
];

struct Compiled {
    framework: &'static str,
    page: Regex,
    console: Option<Regex>,
}

fn compiled() -> &'static [Compiled] {
    static RE: OnceLock<Vec<Compiled>> = OnceLock::new();
    RE.get_or_init(|| {
        SIGNATURES
            .iter()
            .filter_map(|s| {
                let page = Regex::new(s.pattern).ok()?;
                let console = (!s.console.is_empty())
                    .then(|| Regex::new(s.console).ok())
                    .flatten();
                Some(Compiled {
                    framework: s.framework,
                    page,
                    console,
                })
            })
            .collect()
    })
}

/// A framework debug page or stack trace found in a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugPage {
    /// The framework (or runtime) whose debug output it is.
    pub framework: &'static str,
    /// The page offers a console that runs code on the server.
    pub console: bool,
    /// The matched text, cut short (it is the framework's, not the app's data).
    pub snippet: String,
}

impl DebugPage {
    /// How a report names it: "Werkzeug debugger with its interactive console".
    pub fn describe(&self) -> String {
        if self.console {
            format!(
                "{} with its interactive console (code execution)",
                self.framework
            )
        } else {
            self.framework.to_string()
        }
    }
}

/// Looks for a framework debug page or stack trace in a response body.
pub fn detect(body: &str) -> Option<DebugPage> {
    compiled().iter().find_map(|c| {
        let m = c.page.find(body)?;
        let snippet: String = m.as_str().chars().take(80).collect();
        Some(DebugPage {
            framework: c.framework,
            console: c.console.as_ref().is_some_and(|re| re.is_match(body)),
            snippet: snippet.replace(['\n', '\r', '\t'], " "),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of a Werkzeug 3 debugger page (as Flask `debug=True` serves it).
    const WERKZEUG: &str = r#"<!doctype html>
<html lang=en>
  <head>
    <title>sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unrecognized token
 // Werkzeug Debugger</title>
    <link rel="stylesheet" href="?__debugger__=yes&amp;cmd=resource&amp;f=style.css">
    <script src="?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js"></script>
    <script>
      var CONSOLE_MODE = false,
          EVALEX = true,
          EVALEX_TRUSTED = false,
          SECRET = "k3yk3yk3y";
    </script>"#;

    #[test]
    fn every_signature_compiles() {
        assert_eq!(compiled().len(), SIGNATURES.len());
        let consoles = SIGNATURES.iter().filter(|s| !s.console.is_empty()).count();
        assert_eq!(
            compiled().iter().filter(|c| c.console.is_some()).count(),
            consoles
        );
    }

    #[test]
    fn werkzeug_debugger_with_evaluation_is_a_console() {
        let page = detect(WERKZEUG).unwrap();
        assert_eq!(page.framework, "Werkzeug debugger");
        assert!(page.console);
        assert!(page.describe().contains("interactive console"));
        let off = WERKZEUG.replace("EVALEX = true", "EVALEX = false");
        let page = detect(&off).unwrap();
        assert_eq!(page.framework, "Werkzeug debugger");
        assert!(!page.console, "evaluation off: a traceback, not a console");
    }

    #[test]
    fn each_framework_is_recognised() {
        let cases = [
            (
                "Django (DEBUG = True)",
                "<p>You’re seeing this error because you have <code>DEBUG = True</code> in \
                 your Django settings file.</p>",
            ),
            (
                "Django (DEBUG = True)",
                "<p>Using the URLconf defined in <code>mysite.urls</code>, Django tried \
                 these URL patterns, in this order:</p>",
            ),
            ("Rails", "<h1>Routing Error</h1><p>Rails.root: /srv/app</p>"),
            (
                "Rails",
                "<script>var url = \"/__better_errors/\" + oid + \"/variables\";</script>",
            ),
            (
                "Laravel Ignition",
                "<script>window.ignite(window.data);</script>",
            ),
            (
                "Laravel (Whoops)",
                "<title>Whoops! There was an error.</title>",
            ),
            (
                "Laravel (Whoops)",
                "#0 /var/www/vendor/laravel/framework/src/Illuminate/Routing/Route.php(212)",
            ),
            (
                "Symfony debug",
                "<div id=\"sfwdt3f2a1c\" class=\"sf-toolbar sf-display-none\"></div>",
            ),
            (
                "Symfony debug",
                "<abbr title=\"Symfony\\Component\\HttpKernel\\Exception\\NotFoundHttpException\">",
            ),
            (
                "Spring (stack trace)",
                "<h1>Whitelabel Error Page</h1><div>There was an unexpected error</div>\
                 <div style='white-space:pre-wrap;'>java.lang.NullPointerException\n\tat \
                 com.acme.web.Ctl.get(Ctl.java:42)</div>",
            ),
            (
                "Spring (stack trace)",
                concat!(
                    r#"{"status":500,"trace":"java.lang.IllegalStateException: x"#,
                    r#"\n\tat com.a.B.c(B.java:1)"}"#
                ),
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
                "Express",
                "<pre>URIError: Failed to decode param<br> &nbsp; &nbsp;at Layer.handle \
                 [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)</pre>",
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
            (
                "PHP",
                "<br />\n<b>Fatal error</b>:  Call to undefined function f() in \
                 <b>/var/www/html/index.php</b> on line <b>7</b><br />",
            ),
            (
                "Python (traceback)",
                "Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 12, in get",
            ),
            (
                "Java (stack trace)",
                "java.lang.IllegalStateException: x\n\tat com.acme.web.Ctl.get(Ctl.java:42)",
            ),
            (
                "Ruby (stack trace)",
                "NoMethodError\n/srv/app/app/models/user.rb:12:in `name'",
            ),
            (
                "Go (panic)",
                "panic: runtime error\n\ngoroutine 1 [running]:\nmain.main()",
            ),
        ];
        for (want, body) in cases {
            let got = detect(body).unwrap_or_else(|| panic!("missed {want}: {body}"));
            assert_eq!(got.framework, want, "{body}");
            assert!(!got.console, "{body}");
        }
    }

    #[test]
    fn code_consoles_are_flagged() {
        let rails = "<div id=\"console\" data-mount-point='/__web_console' \
                     data-session-id='abc'></div>";
        assert!(detect(rails).unwrap().console);
        let ignition = "<script>window.ignite(data); \
                        fetch('/_ignition/execute-solution')</script>";
        assert!(detect(ignition).unwrap().console);
    }

    #[test]
    fn ordinary_pages_that_talk_about_errors_pass() {
        for body in [
            "<html><body><h1>Not found</h1><p>Look at our home page (or at the help \
             centre).</p></body></html>",
            "{\"error\":\"not_found\",\"message\":\"No route at /x\"}",
            "Bad Request",
            "<h1>500</h1><p>Something went wrong at 12:30. Our team has been notified.</p>",
            "<p>Stack trace ids help support: #0042</p>",
            "<p>Our tutorial explains how to read a Python traceback: the last line of the \
             traceback names the error, and the frames above show where it happened.</p>",
            "<p>Enable DEBUG mode only on your laptop; a debugger in production is a risk.</p>",
            "<h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for \
             /error, so you are seeing this as a fallback.</p><div>There was an unexpected \
             error (type=Not Found, status=404).</div>",
            "{\"status\":\"fail\",\"message\":\"Werkzeug and Flask power this API\"}",
            "<p>We use Laravel and Symfony components; see our stack page.</p>",
            "<p>Call us at 555 0100 (line 2) or write to the file desk.</p>",
        ] {
            assert_eq!(detect(body), None, "{body}");
        }
    }
}
