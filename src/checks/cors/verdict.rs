//! Judging one CORS answer: which probe origin was sent, what came back in
//! `Access-Control-Allow-Origin` (ACAO), `-Allow-Credentials` (ACAC) and
//! `Vary`, and what that means (Fetch Standard, CORS protocol).
//!
//! A reflected foreign, `null` or look-alike origin with credentials lets any
//! page read the user's data: high. Reflected without credentials on an
//! authenticated endpoint: medium (warn). `*` is refused by browsers for
//! credentialed reads, so `*` with ACAC is a broken policy (low) and `*`
//! alone is information on a public endpoint. A trusted subdomain is
//! information. An origin-dependent ACAO without `Vary: Origin` lets caches
//! serve one origin's answer to another (low). Pages on public hosting
//! services (`*.github.io`, `*.vercel.app`, codepen.io...) are foreign
//! origins: anyone can publish one.

use url::Url;

use crate::report::model::{Outcome, Severity};

/// Why an origin is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    /// An allowed front end: must be granted.
    Allowed,
    /// An arbitrary foreign origin.
    Foreign,
    Null,
    /// The allowed host followed by a foreign domain (`app.example.com.evil.test`).
    HostAsPrefix,
    /// The allowed host glued to a foreign label (`evilapp.example.com`).
    HostAsSuffix,
    /// The allowed host with one dot replaced (an unescaped `.` in a regex).
    UnescapedDot,
    /// `http://` for an `https://` allow-list.
    OtherScheme,
    /// A subdomain of an allowed host.
    Subdomain,
    /// A page on a public hosting or code-sharing service: anyone can
    /// publish one, so trusting the service is trusting everyone.
    Hosting,
}

impl ProbeKind {
    pub fn label(self) -> &'static str {
        match self {
            ProbeKind::Allowed => "allowed origin",
            ProbeKind::Foreign => "arbitrary foreign origin",
            ProbeKind::Null => "`null` origin",
            ProbeKind::HostAsPrefix => "allowed host as prefix of a foreign host",
            ProbeKind::HostAsSuffix => "allowed host as suffix of a foreign host",
            ProbeKind::UnescapedDot => "allowed host with a dot replaced",
            ProbeKind::OtherScheme => "allowed host over plain http",
            ProbeKind::Subdomain => "subdomain of an allowed host",
            ProbeKind::Hosting => "a page on a public hosting service, which anyone can publish",
        }
    }
}

/// One origin to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOrigin {
    pub kind: ProbeKind,
    pub origin: String,
}

/// Whether an allowed origin is the target's own origin: a same-origin
/// front end needs no CORS, so nothing is demanded of it.
pub fn same_origin(origin: &str, base: &Url) -> bool {
    Url::parse(origin).is_ok_and(|o| o.origin() == base.origin())
}

/// The probe origins for an allow-list (or, without one, the target's own
/// origin). The `Allowed` probe is the first allowed origin that is not the
/// target's own (same-origin calls need no grant); look-alikes are built
/// from the first allowed origin.
pub fn probe_origins(allowed: &[String], base: &Url) -> Vec<ProbeOrigin> {
    let reference = allowed
        .first()
        .and_then(|a| Url::parse(a).ok())
        .unwrap_or_else(|| base.clone());
    let scheme = reference.scheme().to_string();
    let host = reference
        .host_str()
        .unwrap_or("example.invalid")
        .to_string();
    let port = reference
        .port()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(a) = allowed.iter().find(|a| !same_origin(a, base)) {
        out.push(ProbeOrigin {
            kind: ProbeKind::Allowed,
            origin: a.clone(),
        });
    }
    let mut add = |kind, origin: String| out.push(ProbeOrigin { kind, origin });
    add(
        ProbeKind::Foreign,
        format!("{scheme}://evil.readiness-probe.test"),
    );
    add(ProbeKind::Null, "null".to_string());
    add(
        ProbeKind::HostAsPrefix,
        format!("{scheme}://{host}.readiness-probe.test{port}"),
    );
    add(
        ProbeKind::HostAsSuffix,
        format!("{scheme}://evil{host}{port}"),
    );
    if let Some(i) = host.find('.') {
        let mut swapped = host.clone();
        swapped.replace_range(i..i + 1, "x");
        add(
            ProbeKind::UnescapedDot,
            format!("{scheme}://{swapped}{port}"),
        );
    }
    if scheme == "https" {
        add(ProbeKind::OtherScheme, format!("http://{host}{port}"));
    }
    add(
        ProbeKind::Subdomain,
        format!("{scheme}://readiness-probe.{host}{port}"),
    );
    out
}

/// Origins of pages anyone can publish: one per hosting or code-sharing
/// service whose suffix an allow-list might trust (preview deployments, demos).
pub const HOSTING_ORIGINS: &[&str] = &[
    "https://readinessprobe.github.io",
    "https://codepen.io",
    "https://jsfiddle.net",
    "https://readinessprobe.vercel.app",
    "https://readinessprobe.netlify.app",
    "https://readinessprobe.herokuapp.com",
    "https://readinessprobe.pages.dev",
];

/// The hosting-service probe origins, minus any the allow-list names itself.
pub fn hosting_origins(allowed: &[String]) -> Vec<ProbeOrigin> {
    HOSTING_ORIGINS
        .iter()
        .filter(|o| !allowed.iter().any(|a| a.eq_ignore_ascii_case(o)))
        .map(|o| ProbeOrigin {
            kind: ProbeKind::Hosting,
            origin: o.to_string(),
        })
        .collect()
}

/// The CORS headers of one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub acao: Option<String>,
    pub acac: bool,
    /// `Vary` names `Origin` (or is `*`).
    pub vary_origin: bool,
}

impl Answer {
    pub fn of(res: &crate::net::HttpResponse) -> Answer {
        let vary = res.header_values("vary").join(",").to_ascii_lowercase();
        Answer {
            acao: res
                .header("access-control-allow-origin")
                .map(|v| v.trim().to_string()),
            acac: res
                .header("access-control-allow-credentials")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            vary_origin: vary.split(',').any(|v| matches!(v.trim(), "origin" | "*")),
        }
    }

    /// ACAO names exactly the request's origin (case-insensitive; a port
    /// added or dropped by the server still counts).
    pub fn reflects(&self, origin: &str) -> bool {
        let Some(acao) = &self.acao else {
            return false;
        };
        let a = acao.to_ascii_lowercase();
        let o = origin.to_ascii_lowercase();
        a == o || strip_port(&a) == strip_port(&o)
    }
}

fn strip_port(origin: &str) -> &str {
    match origin.rfind(':') {
        Some(i) if origin[i + 1..].chars().all(|c| c.is_ascii_digit()) && i > 6 => &origin[..i],
        _ => origin,
    }
}

/// One verdict on one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: &'static str,
    pub severity: Severity,
    pub outcome: Outcome,
}

fn issue(code: &'static str, severity: Severity, outcome: Outcome) -> Issue {
    Issue {
        code,
        severity,
        outcome,
    }
}

/// What one answer to one probe origin means; `authenticated` is whether the
/// endpoint serves private data.
pub fn classify(kind: ProbeKind, origin: &str, answer: &Answer, authenticated: bool) -> Vec<Issue> {
    let mut out = Vec::new();
    let Some(acao) = &answer.acao else {
        return out;
    };
    if acao.trim() == "*" {
        if answer.acac {
            out.push(issue(
                "cors.wildcard-with-credentials",
                Severity::Low,
                Outcome::Warn,
            ));
        } else if authenticated {
            out.push(issue("cors.wildcard-origin", Severity::Low, Outcome::Warn));
        } else {
            out.push(issue("cors.wildcard-origin", Severity::Info, Outcome::Warn));
        }
        return out;
    }
    if !answer.reflects(origin) {
        return out;
    }
    if !answer.vary_origin {
        out.push(issue(
            "cors.vary-origin-missing",
            Severity::Low,
            Outcome::Warn,
        ));
    }
    match kind {
        ProbeKind::Allowed => {}
        ProbeKind::Subdomain => {
            out.push(issue(
                "cors.subdomain-trusted",
                Severity::Info,
                Outcome::Warn,
            ));
        }
        ProbeKind::Null if answer.acac => {
            out.push(issue(
                "cors.null-origin-trusted",
                Severity::High,
                Outcome::Fail,
            ));
        }
        _ if answer.acac => {
            out.push(issue(
                "cors.origin-reflected-with-credentials",
                Severity::High,
                Outcome::Fail,
            ));
        }
        _ => out.push(issue(
            "cors.origin-reflected",
            if authenticated {
                Severity::Medium
            } else {
                Severity::Info
            },
            Outcome::Warn,
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(acao: &str, acac: bool, vary: bool) -> Answer {
        Answer {
            acao: Some(acao.to_string()),
            acac,
            vary_origin: vary,
        }
    }

    #[test]
    fn pitfall_b21_null_origin_with_credentials_is_high() {
        let got = classify(ProbeKind::Null, "null", &answer("null", true, true), true);
        assert_eq!(
            got,
            vec![issue(
                "cors.null-origin-trusted",
                Severity::High,
                Outcome::Fail
            )]
        );
    }

    #[test]
    fn pitfall_b23_wildcard_severities() {
        let evil = "https://evil.readiness-probe.test";
        // (a) `*` alone: reported, information on a public endpoint (low if private).
        let a = classify(ProbeKind::Foreign, evil, &answer("*", false, false), false);
        assert_eq!(
            a,
            vec![issue("cors.wildcard-origin", Severity::Info, Outcome::Warn)]
        );
        // (b) `*` with credentials: a broken policy, low (browsers refuse the read).
        let b = classify(ProbeKind::Foreign, evil, &answer("*", true, false), true);
        assert_eq!(
            b,
            vec![issue(
                "cors.wildcard-with-credentials",
                Severity::Low,
                Outcome::Warn
            )]
        );
        // (c) the origin echoed with credentials: high.
        let c = classify(ProbeKind::Foreign, evil, &answer(evil, true, true), true);
        assert_eq!(
            c,
            vec![issue(
                "cors.origin-reflected-with-credentials",
                Severity::High,
                Outcome::Fail
            )]
        );
    }

    #[test]
    fn allowed_origin_with_vary_is_clean_and_fixed_origin_is_not_reflection() {
        let ok = "https://app.example.com";
        assert!(classify(ProbeKind::Allowed, ok, &answer(ok, true, true), true).is_empty());
        let evil = "https://evil.readiness-probe.test";
        assert!(classify(ProbeKind::Foreign, evil, &answer(ok, true, false), true).is_empty());
        assert!(classify(ProbeKind::Foreign, evil, &Answer::default(), true).is_empty());
        // An allow-list answer without Vary: Origin poisons caches.
        let v = classify(ProbeKind::Allowed, ok, &answer(ok, true, false), true);
        assert_eq!(v[0].code, "cors.vary-origin-missing");
    }

    #[test]
    fn probe_origins_cover_the_lookalikes() {
        let base = Url::parse("https://api.example.com/").unwrap();
        let allowed = vec!["https://app.example.com".to_string()];
        let origins: Vec<String> = probe_origins(&allowed, &base)
            .into_iter()
            .map(|p| p.origin)
            .collect();
        for want in [
            "https://app.example.com",
            "null",
            "https://app.example.com.readiness-probe.test",
            "https://evilapp.example.com",
            "https://appxexample.com",
            "http://app.example.com",
            "https://readiness-probe.app.example.com",
        ] {
            assert!(origins.iter().any(|o| o == want), "{want} in {origins:?}");
        }
    }

    #[test]
    fn the_targets_own_origin_is_never_a_grant_to_demand() {
        let base = Url::parse("http://127.0.0.1:5101/").unwrap();
        let own = vec!["http://127.0.0.1:5101".to_string()];
        let probes = probe_origins(&own, &base);
        assert!(
            probes.iter().all(|p| p.kind != ProbeKind::Allowed),
            "{probes:?}"
        );
        // A real front end beside it is still demanded.
        let both = vec![own[0].clone(), "https://app.example.test".to_string()];
        let probes = probe_origins(&both, &base);
        let allowed: Vec<_> = probes
            .iter()
            .filter(|p| p.kind == ProbeKind::Allowed)
            .collect();
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].origin, "https://app.example.test");
        assert!(same_origin(
            "https://staging.acme.example",
            &Url::parse("https://staging.acme.example/x").unwrap()
        ));
        assert!(!same_origin(
            "https://staging.acme.example:8443",
            &Url::parse("https://staging.acme.example/").unwrap()
        ));
    }

    #[test]
    fn hosting_origins_are_foreign_and_skip_allowed_ones() {
        let vercel = "https://readinessprobe.vercel.app";
        let got = classify(
            ProbeKind::Hosting,
            vercel,
            &answer(vercel, true, true),
            true,
        );
        assert_eq!(got[0].code, "cors.origin-reflected-with-credentials");
        assert!(classify(ProbeKind::Hosting, vercel, &Answer::default(), true).is_empty());
        let all = hosting_origins(&[]);
        assert_eq!(all.len(), HOSTING_ORIGINS.len());
        let fewer = hosting_origins(&["https://codepen.io".to_string()]);
        assert_eq!(fewer.len(), HOSTING_ORIGINS.len() - 1);
    }
}
