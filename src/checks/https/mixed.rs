//! Mixed content and Subresource Integrity on an HTTPS page.
//!
//! An HTTPS page that loads a script, stylesheet, frame or form target over
//! plain `http://` gives a network attacker the page (active mixed content:
//! browsers block it, so the page also breaks). Images and media over
//! `http://` leak and can be swapped (passive: browsers upgrade or warn).
//! Scripts from other origins without an `integrity` attribute run whatever
//! that origin serves; that is reported as information.

use url::Url;

use super::{Level, Observation};
use crate::html::{Tag, scan_tags};

/// Whether browsers block the resource or only warn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixedKind {
    /// Script, stylesheet, frame, plugin or form target: blocked, attacker controls the page.
    Active,
    /// Image, audio, video: upgraded or shown with a warning.
    Passive,
}

/// One `http://` reference on an HTTPS page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedContent {
    /// Active or passive.
    pub kind: MixedKind,
    /// Lowercase tag name.
    pub tag: String,
    /// Lowercase attribute name.
    pub attribute: String,
    /// The URL as written (trimmed).
    pub url: String,
    /// `Fail` for active, `Warn` for passive content.
    pub level: Level,
    /// Human-readable reason.
    pub reason: String,
}

/// Finds `http://` resource references in the HTML of an HTTPS page.
///
/// Relative references are insecure too when the page declares an
/// `http://` `<base href>`.
pub fn find_mixed_content(html: &str) -> Vec<MixedContent> {
    let tags = scan_tags(html);
    let insecure_base = tags
        .iter()
        .find(|t| t.name == "base" && t.attribute("href").is_some())
        .and_then(|t| t.attribute("href"))
        .filter(|href| is_http(href))
        .map(str::to_string);

    let mut found = Vec::new();
    for tag in &tags {
        for (attribute, kind) in resource_attributes(tag) {
            let Some(value) = tag.attribute(attribute) else {
                continue;
            };
            let candidates: Vec<&str> = if attribute == "srcset" {
                srcset_urls(value)
            } else {
                vec![value.trim()]
            };
            for url in candidates {
                if let Some(via_base) = insecure_reference(url, insecure_base.as_deref()) {
                    found.push(describe(tag, attribute, kind, url, via_base));
                }
            }
        }
    }
    found
}

/// The attributes of `tag` that load a resource, with their kind.
fn resource_attributes(tag: &Tag) -> Vec<(&'static str, MixedKind)> {
    use MixedKind::{Active, Passive};
    match tag.name.as_str() {
        "script" | "iframe" | "frame" | "embed" => vec![("src", Active)],
        "object" => vec![("data", Active)],
        "form" => vec![("action", Active)],
        "link" if rel_has(tag, "stylesheet") => vec![("href", Active)],
        "img" => vec![("src", Passive), ("srcset", Passive)],
        "audio" | "track" => vec![("src", Passive)],
        "video" => vec![("src", Passive), ("poster", Passive)],
        "source" => vec![("src", Passive), ("srcset", Passive)],
        _ => Vec::new(),
    }
}

fn rel_has(tag: &Tag, token: &str) -> bool {
    tag.attribute("rel").is_some_and(|rel| {
        rel.split_ascii_whitespace()
            .any(|t| t.eq_ignore_ascii_case(token))
    })
}

fn srcset_urls(srcset: &str) -> Vec<&str> {
    srcset
        .split(',')
        .filter_map(|candidate| candidate.split_ascii_whitespace().next())
        .collect()
}

fn is_http(url: &str) -> bool {
    let trimmed = url.trim();
    trimmed
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// `Some(false)` for an `http://` URL, `Some(true)` for a relative URL made
/// insecure by an `http://` base, `None` when the reference is fine.
fn insecure_reference(url: &str, insecure_base: Option<&str>) -> Option<bool> {
    if url.is_empty() {
        return None;
    }
    if is_http(url) {
        return Some(false);
    }

    let has_scheme = url
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.contains('/') && !scheme.is_empty());
    (insecure_base.is_some() && !has_scheme && !url.starts_with("//")).then_some(true)
}

fn describe(
    tag: &Tag,
    attribute: &str,
    kind: MixedKind,
    url: &str,
    via_base: bool,
) -> MixedContent {
    let (level, effect) = match kind {
        MixedKind::Active => (
            Level::Fail,
            "active mixed content: browsers block it, and a network attacker could \
             otherwise control the page",
        ),
        MixedKind::Passive => (
            Level::Warn,
            "passive mixed content: it can be read or swapped on the network",
        ),
    };
    let how = if via_base {
        " (relative, resolved against an http:// <base href>)"
    } else {
        ""
    };
    MixedContent {
        kind,
        tag: tag.name.clone(),
        attribute: attribute.to_string(),
        url: url.to_string(),
        level,
        reason: format!("<{} {attribute}=\"{url}\">{how}: {effect}", tag.name),
    }
}

/// One `<script src>` of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRef {
    /// `src` as written.
    pub src: String,
    /// `src` resolved against the page URL, when it resolves.
    pub resolved: Option<Url>,
    /// Same origin (scheme, host, port) as the page.
    pub same_origin: bool,
    /// Loaded over `https` (or another non-`http` scheme).
    pub secure: bool,
    /// The `integrity` attribute, when present and not empty.
    pub integrity: Option<String>,
}

/// The overall Subresource Integrity situation of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SriVerdict {
    /// No `<script src>` at all.
    NoScripts,
    /// Every script comes from the page's own origin (SRI not needed).
    SameOriginOnly,
    /// Every external script carries `integrity`.
    ExternalWithIntegrity,
    /// Some external script has no `integrity`.
    ExternalWithoutIntegrity,
    /// Some external script is loaded over plain `http`.
    ExternalInsecure,
}

/// The result of [`check_sri`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SriReport {
    /// All `<script src>` elements in order.
    pub scripts: Vec<ScriptRef>,
    /// Overall verdict.
    pub verdict: SriVerdict,
    /// The verdict as an observation (information unless scripts use http).
    pub observation: Observation,
}

/// Lists scripts from other origins and whether they carry `integrity`.
pub fn check_sri(html: &str, page: &Url) -> SriReport {
    let scripts: Vec<ScriptRef> = scan_tags(html)
        .into_iter()
        .filter(|t| t.name == "script")
        .filter_map(|t| {
            let src = t.attribute("src")?.trim().to_string();
            if src.is_empty() {
                return None;
            }
            let resolved = page.join(&src).ok();
            let same_origin = resolved
                .as_ref()
                .is_some_and(|u| u.origin() == page.origin());
            let secure = resolved.as_ref().is_none_or(|u| u.scheme() != "http");
            let integrity = t
                .attribute("integrity")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            Some(ScriptRef {
                src,
                resolved,
                same_origin,
                secure,
                integrity,
            })
        })
        .collect();

    let external: Vec<&ScriptRef> = scripts.iter().filter(|s| !s.same_origin).collect();
    let insecure: Vec<&str> = external
        .iter()
        .filter(|s| !s.secure)
        .map(|s| s.src.as_str())
        .collect();
    let missing: Vec<&str> = external
        .iter()
        .filter(|s| s.integrity.is_none())
        .map(|s| s.src.as_str())
        .collect();

    let (verdict, observation) = if scripts.is_empty() {
        (
            SriVerdict::NoScripts,
            Observation::new(Level::Pass, "sri-no-scripts", "the page loads no scripts"),
        )
    } else if external.is_empty() {
        (
            SriVerdict::SameOriginOnly,
            Observation::new(
                Level::Pass,
                "sri-same-origin",
                format!(
                    "all {} scripts come from the page's own origin",
                    scripts.len()
                ),
            ),
        )
    } else if !insecure.is_empty() {
        (
            SriVerdict::ExternalInsecure,
            Observation::new(
                Level::Fail,
                "sri-insecure-script",
                format!("external scripts over plain http: {}", insecure.join(" ")),
            ),
        )
    } else if !missing.is_empty() {
        (
            SriVerdict::ExternalWithoutIntegrity,
            Observation::new(
                Level::Info,
                "sri-missing",
                format!(
                    "{} external script(s) without an integrity attribute: {}",
                    missing.len(),
                    missing.join(" ")
                ),
            ),
        )
    } else {
        (
            SriVerdict::ExternalWithIntegrity,
            Observation::new(
                Level::Pass,
                "sri-ok",
                format!("all {} external scripts carry integrity", external.len()),
            ),
        )
    };

    SriReport {
        scripts,
        verdict,
        observation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_active_and_passive_http_references() {
        let html = r#"
            <SCRIPT SRC="http://cdn.test/a.js"></SCRIPT>
            <link rel="preload stylesheet" href=HTTP://cdn.test/a.css>
            <link rel="icon" href="http://cdn.test/favicon.ico">
            <iframe src='http://frame.test/'></iframe>
            <form action="http://login.test/post"></form>
            <img src="http://img.test/a.png"
                 srcset="https://img.test/b.png 2x, http://img.test/c.png 3x">
            <video poster="http://img.test/p.png"><source src="http://media.test/v.mp4"></video>
            <!-- <script src="http://commented.test/x.js"></script> -->
            <p>see http://text.test/ for details</p>
        "#;
        let found = find_mixed_content(html);
        let summary: Vec<(MixedKind, &str, &str)> = found
            .iter()
            .map(|m| (m.kind, m.tag.as_str(), m.url.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (MixedKind::Active, "script", "http://cdn.test/a.js"),
                (MixedKind::Active, "link", "HTTP://cdn.test/a.css"),
                (MixedKind::Active, "iframe", "http://frame.test/"),
                (MixedKind::Active, "form", "http://login.test/post"),
                (MixedKind::Passive, "img", "http://img.test/a.png"),
                (MixedKind::Passive, "img", "http://img.test/c.png"),
                (MixedKind::Passive, "video", "http://img.test/p.png"),
                (MixedKind::Passive, "source", "http://media.test/v.mp4"),
            ]
        );
        assert_eq!(found[0].level, Level::Fail);
        assert_eq!(found[4].level, Level::Warn);
        assert_eq!(found[0].attribute, "src");
    }

    #[test]
    fn clean_page_has_no_mixed_content() {
        let html = r#"<script src="https://cdn.test/a.js"></script><script src="/b.js"></script>
            <script src="//cdn.test/c.js"></script><link rel=stylesheet href="/s.css">
            <a href="http://example.test/">a plain link is not a subresource</a>
            <img src="data:image/png;base64,AAAA"><script>var u = "http://x.test/";</script>"#;
        assert!(find_mixed_content(html).is_empty());
    }

    #[test]
    fn insecure_base_makes_relative_urls_insecure() {
        let html = r#"<base href="http://old.test/"><script src="app.js"></script>
            <script src="https://ok.test/x.js"></script>"#;
        let found = find_mixed_content(html);
        assert_eq!(found.len(), 1);
        assert!(found[0].reason.contains("<base href>"));
    }

    #[test]
    fn sri_verdicts() {
        let page = Url::parse("https://app.test/").expect("url");
        let verdict = |html: &str| check_sri(html, &page).verdict;
        assert_eq!(verdict("<p>hi</p>"), SriVerdict::NoScripts);
        assert_eq!(verdict("<script>inline()</script>"), SriVerdict::NoScripts);
        assert_eq!(
            verdict("<script src=/a.js></script><script src=https://app.test/b.js></script>"),
            SriVerdict::SameOriginOnly
        );
        assert_eq!(
            verdict("<script src=https://cdn.test/a.js integrity=sha384-x></script>"),
            SriVerdict::ExternalWithIntegrity
        );
        let report = check_sri("<script src=https://cdn.test/a.js></script>", &page);
        assert_eq!(report.verdict, SriVerdict::ExternalWithoutIntegrity);
        assert_eq!(report.observation.level, Level::Info);
        assert!(report.observation.reason.contains("https://cdn.test/a.js"));
        assert_eq!(
            verdict("<script src=http://cdn.test/a.js integrity=sha384-x></script>"),
            SriVerdict::ExternalInsecure
        );
    }
}
