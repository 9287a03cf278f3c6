//! The deployed site as a source of leaked credentials: which scripts and
//! stylesheets a page links, which further stylesheets (`@import`) and lazy
//! chunks (`import("./chunk.js")`) a bundle names literally, where a bundle's
//! source map is (a URL, or inline as a `data:` URL), and what a source map's
//! `sourcesContent` holds.
//!
//! Chunk names a bundler computes at run time (webpack's
//! `"chunk-" + id + ".js"`, a manifest lookup) are out of reach of a literal
//! reading: only chunks named whole in the bundle's text are followed.
//!
//! These are pure functions over fetched text; the check does the fetching
//! through the scoped client. Exposure of paths such as `/.env` or `/.git`
//! is the `hygiene` check's; this module only finds what the bundles and the
//! source maps they point at carry.

use serde::Deserialize;
use url::Url;

use super::rules::decode_base64_lenient;

use crate::html::scan_tags;

/// Why a link was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A same-origin or in-scope bundle to fetch.
    Fetch(Url),
    /// Outside the scope: never fetched.
    OutOfScope(Url),
}

/// The `rel` values of `<link>` elements that load code or styles.
const CODE_RELS: &[&str] = &["stylesheet", "modulepreload", "preload", "prefetch"];

/// Scripts (`<script src>`) and stylesheets or preloaded code (`<link href>`)
/// of a page, resolved against its URL, in document order without repeats.
/// `in_scope` decides which may be fetched.
pub fn bundle_links(html: &str, page: &Url, in_scope: impl Fn(&Url) -> bool) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    for tag in scan_tags(html) {
        let target = match tag.name.as_str() {
            "script" => tag.attribute("src"),
            "link" => {
                let rel = tag.attribute("rel").unwrap_or("").to_ascii_lowercase();
                let loads_code = rel.split_ascii_whitespace().any(|r| CODE_RELS.contains(&r));
                let kind = tag.attribute("as").unwrap_or("script").to_ascii_lowercase();
                let preload_ok =
                    !rel.contains("preload") || matches!(kind.as_str(), "script" | "style");
                if loads_code && preload_ok {
                    tag.attribute("href")
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some(target) = target.map(str::trim).filter(|t| !t.is_empty()) else {
            continue;
        };
        let Ok(mut url) = page.join(target) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        url.set_fragment(None);
        let link = if in_scope(&url) {
            Link::Fetch(url)
        } else {
            Link::OutOfScope(url)
        };
        if !out.contains(&link) {
            out.push(link);
        }
    }
    out
}

/// The target of the last `sourceMappingURL` comment of a script or
/// stylesheet (`//# sourceMappingURL=…` or `/*# sourceMappingURL=… */`).
pub fn source_map_reference(body: &[u8]) -> Option<String> {
    const MARK: &[u8] = b"sourceMappingURL=";
    let at = body.windows(MARK.len()).rposition(|w| w == MARK)?;
    let before = &body[at.saturating_sub(4)..at];
    let is_comment = before.ends_with(b"//# ")
        || before.ends_with(b"//@ ")
        || before.ends_with(b"/*# ")
        || before.ends_with(b"/*@ ");
    if !is_comment {
        return None;
    }
    let rest = &body[at + MARK.len()..];
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'*')
        .unwrap_or(rest.len());
    let target = std::str::from_utf8(&rest[..end]).ok()?.trim();
    (!target.is_empty()).then(|| target.to_string())
}

/// Where a bundle's source map is: its own reference, the `SourceMap`
/// header, or `<bundle>.map` beside it. `None` for an inline `data:` map.
pub fn source_map_url(bundle: &Url, reference: Option<&str>, header: Option<&str>) -> Option<Url> {
    if let Some(r) = reference.or(header) {
        if r.starts_with("data:") {
            return None;
        }
        return bundle.join(r).ok();
    }
    let mut url = bundle.clone();
    url.set_query(None);
    let path = format!("{}.map", url.path());
    url.set_path(&path);
    Some(url)
}

/// Longest `@import` or `import()` target read.
const MAX_SPECIFIER: usize = 2048;

/// The bytes of an inline source map (`data:application/json;base64,…`, or
/// a percent-encoded `data:application/json,…`). `None` for any other URL.
pub fn inline_source_map(reference: &str) -> Option<Vec<u8>> {
    let rest = reference.strip_prefix("data:")?;
    let (meta, payload) = rest.split_once(',')?;
    let mut params = meta.split(';');
    let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
    if !mime.is_empty() && mime != "application/json" && mime != "text/plain" {
        return None;
    }
    if params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Some(decode_base64_lenient(payload.as_bytes()));
    }
    Some(crate::util::percent_decode(payload.as_bytes()))
}

/// Stylesheets a stylesheet pulls in with `@import "x.css"` or
/// `@import url(x.css)`, resolved against its URL, in order without repeats.
pub fn css_imports(css: &[u8], sheet: &Url) -> Vec<Url> {
    const MARK: &[u8] = b"@import";
    let mut out: Vec<Url> = Vec::new();
    let mut at = 0;
    while let Some(found) = find_ignore_case(&css[at..], MARK) {
        let mut i = at + found + MARK.len();
        at = i;
        i += skip_space(&css[i..]);
        let target = if css[i..].len() >= 4 && css[i..i + 4].eq_ignore_ascii_case(b"url(") {
            i += 4;
            i += skip_space(&css[i..]);
            match css.get(i) {
                Some(q @ (b'"' | b'\'')) => quoted(&css[i + 1..], *q),
                Some(_) => {
                    let len = css[i..]
                        .iter()
                        .take(MAX_SPECIFIER)
                        .take_while(|b| **b != b')' && !b.is_ascii_whitespace())
                        .count();
                    std::str::from_utf8(&css[i..i + len]).ok()
                }
                None => None,
            }
        } else {
            match css.get(i) {
                Some(q @ (b'"' | b'\'')) => quoted(&css[i + 1..], *q),
                _ => None,
            }
        };
        if let Some(url) = target.and_then(|t| resolve(sheet, t))
            && !out.contains(&url)
        {
            out.push(url);
        }
    }
    out
}

/// Lazy chunks a script names whole in a dynamic import with a string
/// literal (`import("./chunk-3.js")`, `import('/assets/x.mjs')`), resolved
/// against the script's URL. Bare module names and computed names are left out.
pub fn lazy_chunks(js: &[u8], script: &Url) -> Vec<Url> {
    const MARK: &[u8] = b"import(";
    let mut out: Vec<Url> = Vec::new();
    let mut at = 0;
    while let Some(found) = find(&js[at..], MARK) {
        let start = at + found;
        at = start + MARK.len();
        let prev = start.checked_sub(1).map(|p| js[p]);
        if prev.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.')) {
            continue;
        }
        let mut i = at;
        i += skip_space(&js[i..]);
        let Some(q @ (b'"' | b'\'' | b'`')) = js.get(i).copied() else {
            continue;
        };
        let Some(spec) = quoted(&js[i + 1..], q) else {
            continue;
        };
        if q == b'`' && spec.contains("${") {
            continue;
        }
        let relative = ["./", "../", "/", "http://", "https://"]
            .iter()
            .any(|p| spec.starts_with(p));
        let path = spec.split(['?', '#']).next().unwrap_or("");
        let script_like = path.ends_with(".js") || path.ends_with(".mjs");
        if !relative || !script_like {
            continue;
        }
        if let Some(url) = resolve(script, spec)
            && !out.contains(&url)
        {
            out.push(url);
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn skip_space(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// The text up to the closing `quote` (no line breaks, bounded length).
fn quoted(bytes: &[u8], quote: u8) -> Option<&str> {
    let len = bytes
        .iter()
        .take(MAX_SPECIFIER)
        .position(|b| *b == quote || *b == b'\n')?;
    if bytes[len] != quote {
        return None;
    }
    std::str::from_utf8(&bytes[..len]).ok()
}

fn resolve(base: &Url, target: &str) -> Option<Url> {
    let target = target.trim();
    if target.is_empty() || target.starts_with("data:") {
        return None;
    }
    let mut url = base.join(target).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

/// The original sources a map carries: (file name, content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSources {
    pub sources: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct RawMap {
    version: Option<u32>,
    #[serde(default)]
    sources: Vec<Option<String>>,
    #[serde(default, rename = "sourcesContent")]
    sources_content: Vec<Option<String>>,
    mappings: Option<String>,
    #[serde(default)]
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
struct RawSection {
    map: Option<RawMap>,
}

/// Parses a source map (v3, indexed maps included). `None` when the body is
/// not one (an HTML catch-all page answering `*.map` is not a source map).
pub fn parse_source_map(body: &[u8]) -> Option<MapSources> {
    let body = body.strip_prefix(b")]}'").unwrap_or(body);
    let raw: RawMap = serde_json::from_slice(body).ok()?;
    let is_map = raw.version == Some(3) && (raw.mappings.is_some() || !raw.sections.is_empty());
    if !is_map {
        return None;
    }
    let mut sources = Vec::new();
    collect(&raw, &mut sources);
    Some(MapSources { sources })
}

fn collect(raw: &RawMap, out: &mut Vec<(String, String)>) {
    for (i, content) in raw.sources_content.iter().enumerate() {
        let Some(content) = content else { continue };
        let name = raw
            .sources
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("source {i}"));
        out.push((name, content.clone()));
    }
    for section in &raw.sections {
        if let Some(map) = &section.map {
            collect(map, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://app.example.test/dash/").unwrap()
    }

    #[test]
    fn finds_scripts_styles_and_preloads_in_scope_only() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="/static/app.css">
            <link rel="modulepreload" href="chunk.js#x">
            <link rel="preload" as="font" href="/f.woff2">
            <link rel="icon" href="/favicon.ico">
            <script src="https://cdn.other.test/lib.js"></script>
            <script src="/static/app.js"></script><script src="/static/app.js"></script>
            <script>var inline = 1;</script>
            <script src="javascript:void(0)"></script>
            </head></html>"#;
        let links = bundle_links(html, &page(), |u| u.host_str() == Some("app.example.test"));
        let want = vec![
            Link::Fetch(Url::parse("https://app.example.test/static/app.css").unwrap()),
            Link::Fetch(Url::parse("https://app.example.test/dash/chunk.js").unwrap()),
            Link::OutOfScope(Url::parse("https://cdn.other.test/lib.js").unwrap()),
            Link::Fetch(Url::parse("https://app.example.test/static/app.js").unwrap()),
        ];
        assert_eq!(links, want);
    }

    #[test]
    fn a_page_without_bundles_links_nothing() {
        let html = "<p>hello <a href=\"/x.js\">not a script</a></p>";
        assert!(bundle_links(html, &page(), |_| true).is_empty());
    }

    #[test]
    fn source_map_comments_are_read_from_the_end() {
        let js = b"var a=1;\n//# sourceMappingURL=app.js.map\n";
        assert_eq!(source_map_reference(js).as_deref(), Some("app.js.map"));
        let css = b"a{}\n/*# sourceMappingURL=app.css.map */";
        assert_eq!(source_map_reference(css).as_deref(), Some("app.css.map"));
        // A string that merely mentions the marker is not a reference.
        let decoy = b"var s = \"sourceMappingURL=nope.map\";";
        assert_eq!(source_map_reference(decoy), None);
        assert_eq!(source_map_reference(b"var a=1;"), None);
    }

    #[test]
    fn map_url_from_reference_header_or_neighbour() {
        let b = Url::parse("https://app.example.test/static/app.js?v=3").unwrap();
        assert_eq!(
            source_map_url(&b, Some("maps/app.map"), None)
                .unwrap()
                .as_str(),
            "https://app.example.test/static/maps/app.map"
        );
        assert_eq!(
            source_map_url(&b, None, Some("/sm/app.map"))
                .unwrap()
                .as_str(),
            "https://app.example.test/sm/app.map"
        );
        assert_eq!(
            source_map_url(&b, None, None).unwrap().as_str(),
            "https://app.example.test/static/app.js.map"
        );
        assert_eq!(
            source_map_url(&b, Some("data:application/json;base64,e30="), None),
            None
        );
    }

    use base64::Engine as _;

    #[test]
    fn inline_maps_decode_from_base64_or_percent_encoding() {
        let json = br#"{"version":3,"sources":["a.js"],"sourcesContent":["x"],"mappings":""}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let got = inline_source_map(&format!("data:application/json;charset=utf-8;base64,{b64}"));
        assert_eq!(got.as_deref(), Some(&json[..]));
        let pct = inline_source_map("data:application/json,%7B%22version%22%3A3%7D").unwrap();
        assert_eq!(pct, br#"{"version":3}"#);
        assert_eq!(inline_source_map("app.js.map"), None);
        assert_eq!(inline_source_map("data:image/png;base64,AAAA"), None);
    }

    #[test]
    fn css_imports_are_read_in_every_form() {
        let sheet = Url::parse("https://app.example.test/css/main.css").unwrap();
        let css = br#"@import "base.css"; @IMPORT url('/theme.css') screen;
            @import url(fonts.css); @import url( "base.css" );
            .a { content: "@import nothing" }"#;
        let got: Vec<String> = css_imports(css, &sheet)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                "https://app.example.test/css/base.css",
                "https://app.example.test/theme.css",
                "https://app.example.test/css/fonts.css",
            ]
        );
        assert!(css_imports(b".a { color: red }", &sheet).is_empty());
    }

    #[test]
    fn lazy_chunks_named_literally_are_found_and_computed_ones_are_not() {
        let js = Url::parse("https://app.example.test/assets/app.js").unwrap();
        let body = br#"const a = () => import("./chunk-a.js");
            const b = () => import( '/static/b.mjs?v=2' );
            const c = () => import(`./c.js`);
            const d = () => import("react");
            const e = () => import("./chunk-" + id + ".js");
            const f = () => import(`./${name}.js`);
            obj.import("./not-dynamic.js"); reimport("./no.js");
            __webpack_require__.e(42).then(x);"#;
        let got: Vec<String> = lazy_chunks(body, &js)
            .iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                "https://app.example.test/assets/chunk-a.js",
                "https://app.example.test/static/b.mjs?v=2",
                "https://app.example.test/assets/c.js",
            ]
        );
    }

    #[test]
    fn source_maps_parse_and_catch_all_pages_do_not() {
        let map = br#"{"version":3,"sources":["src/a.ts",null],"sourcesContent":["const a = 1;",
            "b"],"mappings":"AAAA"}"#;
        let got = parse_source_map(map).unwrap();
        assert_eq!(
            got.sources[0],
            ("src/a.ts".to_string(), "const a = 1;".to_string())
        );
        assert_eq!(got.sources[1].0, "source 1");
        let indexed = br#"{"version":3,"sections":[{"offset":{"line":0,"column":0},
            "map":{"version":3,"sources":["x.js"],"sourcesContent":["x"],"mappings":""}}]}"#;
        assert_eq!(parse_source_map(indexed).unwrap().sources.len(), 1);
        assert!(parse_source_map(b"<!doctype html><html>app shell</html>").is_none());
        assert!(parse_source_map(br#"{"version":3}"#).is_none());
        assert!(parse_source_map(br#"{"ok":true}"#).is_none());
    }
}
