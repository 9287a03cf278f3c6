//! A small HTML start-tag scanner, shared by the checks that read pages.
//!
//! Mixed content, Subresource Integrity, `<meta http-equiv>` policies and
//! bundle links only need the start tags of a page and their attributes. This scanner
//! finds them the way a browser tokenizer would for these purposes: tag and
//! attribute names are case-insensitive, values may be double-quoted,
//! single-quoted or unquoted, comments and doctypes are skipped, and the
//! contents of raw-text elements (`script`, `style`, `textarea`, ...) are
//! not scanned for tags. It does not build a tree and never fails.

/// One start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Lowercase tag name.
    pub name: String,
    /// Attributes in document order: lowercase name, value with character
    /// references decoded (empty for a valueless attribute).
    pub attributes: Vec<(String, String)>,
    /// Byte offset of the `<` in the document.
    pub offset: usize,
}

impl Tag {
    /// The value of an attribute; the first occurrence wins, as in HTML.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Elements whose content is text, not markup.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// Every start tag of `html`, in document order.
pub fn scan_tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let mut tags = Vec::new();
    let mut pos = 0;
    while let Some(found) = html[pos..].find('<') {
        let start = pos + found;
        let rest = &lower[start..];
        if rest.starts_with("<!--") {
            pos = comment_end(&lower, start);
        } else if rest.starts_with("<!") || rest.starts_with("<?") || rest.starts_with("</") {
            pos = find_from(&lower, start + 2, ">").map_or(bytes.len(), |end| end + 1);
        } else if bytes
            .get(start + 1)
            .is_some_and(|b| b.is_ascii_alphabetic())
        {
            let (tag, end) = read_start_tag(html, start);
            pos = end;
            if RAW_TEXT.contains(&tag.name.as_str()) {
                let closing = format!("</{}", tag.name);
                pos = find_from(&lower, pos, &closing).unwrap_or(bytes.len());
            }
            tags.push(tag);
        } else {
            pos = start + 1;
        }
    }
    tags
}

fn find_from(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    haystack.get(from..)?.find(needle).map(|i| from + i)
}

/// Position after a comment starting at `start` (`<!-->` and `<!--->` close at once).
fn comment_end(lower: &str, start: usize) -> usize {
    let rest = &lower[start..];
    if rest.starts_with("<!-->") {
        return start + 5;
    }
    if rest.starts_with("<!--->") {
        return start + 6;
    }

    find_from(lower, start + 4, "-->").map_or(lower.len(), |end| end + 3)
}

fn read_start_tag(html: &str, start: usize) -> (Tag, usize) {
    let bytes = html.as_bytes();
    let mut pos = start + 1;
    let name_start = pos;
    while pos < bytes.len() && !is_space(bytes[pos]) && bytes[pos] != b'/' && bytes[pos] != b'>' {
        pos += 1;
    }
    let name = html[name_start..pos].to_ascii_lowercase();

    let mut attributes = Vec::new();
    loop {
        while pos < bytes.len() && (is_space(bytes[pos]) || bytes[pos] == b'/') {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        if bytes[pos] == b'>' {
            pos += 1;
            break;
        }

        let attr_start = pos;
        pos += 1;
        while pos < bytes.len()
            && !is_space(bytes[pos])
            && !matches!(bytes[pos], b'/' | b'>' | b'=')
        {
            pos += 1;
        }
        let attr_name = html[attr_start..pos].to_ascii_lowercase();

        let mut probe = pos;
        while probe < bytes.len() && is_space(bytes[probe]) {
            probe += 1;
        }
        let mut value = String::new();
        if bytes.get(probe) == Some(&b'=') {
            pos = probe + 1;
            while pos < bytes.len() && is_space(bytes[pos]) {
                pos += 1;
            }
            let (raw, next) = read_value(html, pos);
            value = decode_references(raw);
            pos = next;
        }
        attributes.push((attr_name, value));
    }

    let tag = Tag {
        name,
        attributes,
        offset: start,
    };
    (tag, pos)
}

fn read_value(html: &str, pos: usize) -> (&str, usize) {
    let bytes = html.as_bytes();
    match bytes.get(pos) {
        Some(&quote) if quote == b'"' || quote == b'\'' => {
            let body = pos + 1;
            match html[body..].find(char::from(quote)) {
                Some(len) => (&html[body..body + len], body + len + 1),
                None => (&html[body..], html.len()),
            }
        }
        _ => {
            let mut end = pos;
            while end < bytes.len() && !is_space(bytes[end]) && bytes[end] != b'>' {
                end += 1;
            }
            (&html[pos..end], end)
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Decodes the character references that matter in URLs and policy text.
fn decode_references(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }

    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match decode_one(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(text: &str) -> Option<(char, usize)> {
    const NAMED: [(&str, char); 6] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&apos;", '\''),
        ("&colon;", ':'),
    ];
    for (name, c) in NAMED {
        if text
            .get(..name.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
        {
            return Some((c, name.len()));
        }
    }

    let body = text.strip_prefix("&#")?;
    let (digits, radix, prefix) = match body.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16, 3),
        None => (body, 10, 2),
    };
    let len = digits.chars().take_while(|c| c.is_digit(radix)).count();
    if len == 0 {
        return None;
    }

    let code = u32::from_str_radix(&digits[..len], radix).ok()?;
    let c = char::from_u32(code).unwrap_or('\u{fffd}');
    let semicolon = usize::from(digits[len..].starts_with(';'));
    Some((c, prefix + len + semicolon))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(html: &str) -> Vec<String> {
        scan_tags(html).into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn attribute_forms() {
        let tags = scan_tags(
            "<IMG SRC=http://a.test/x.png alt='it''s' data-x = \"1 2\" hidden>\
             <a href=\"?a=1&amp;b=2\">",
        );
        assert_eq!(tags[0].name, "img");
        assert_eq!(tags[0].attribute("src"), Some("http://a.test/x.png"));
        assert_eq!(tags[0].attribute("alt"), Some("it"));
        assert_eq!(tags[0].attribute("data-x"), Some("1 2"));
        assert_eq!(tags[0].attribute("hidden"), Some(""));
        assert_eq!(tags[1].attribute("href"), Some("?a=1&b=2"));
    }

    #[test]
    fn skips_comments_text_and_raw_text() {
        let html = "<!-- <script src=x> --><p>a < b</p><script>var s = '<img src=y>';</script>\
                    <style>/* <iframe src=z> */</style><!doctype html><br/>";
        assert_eq!(names(html), vec!["p", "script", "style", "br"]);
    }

    #[test]
    fn conditional_comment_trick_is_live_markup() {
        let html = "<!--[if !IE]><!--><script src=\"a.js\"></script><!--<![endif]-->\
                    <!--[if IE 9]><script src=\"b.js\"></script><![endif]-->";
        let tags = scan_tags(html);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].attribute("src"), Some("a.js"));
    }

    #[test]
    fn numeric_references() {
        let tags = scan_tags("<a href=\"http&#58;//x&#x2F;y\">");
        assert_eq!(tags[0].attribute("href"), Some("http://x/y"));
    }

    #[test]
    fn never_panics_on_truncated_markup() {
        let cases = [
            "<",
            "<a",
            "<a href=",
            "<a href=\"x",
            "<!--",
            "<script>",
            "<a\u{e9}=\u{e9}",
        ];
        for html in cases
            .into_iter()
            .chain(["<a b=&\u{e9}\u{e9}>", "<a b='&#x'>"])
        {
            let _ = scan_tags(html);
        }
    }
}
