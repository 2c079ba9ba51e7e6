//! The small, strict URL handling the plugin needs: validating configured endpoints and links
//! SpotDraft returns, and percent-encoding path segments and query values.
//!
//! Deliberately narrow: `scheme://host[:port][/path][?query]`, no userinfo, so a link such as
//! `https://app.spotdraft.com@evil.example/` can never pass as a SpotDraft link.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    /// Path and query, starting with `/` (or empty).
    pub rest: String,
}

impl ParsedUrl {
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]") || self.host.starts_with("127.")
    }

    /// `scheme://host[:port]`, the form browsers compare origins in.
    pub fn origin(&self) -> String {
        match self.port {
            // As a u64: the one integer writer the sidebar's download carries.
            Some(port) => format!("{}://{}:{}", self.scheme, self.host, u64::from(port)),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

/// Parses an absolute http(s) URL; `None` for anything else.
pub fn parse(text: &str) -> Option<ParsedUrl> {
    if text.len() > 2048 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // Found by bytes: a string pattern's searcher brings a panic path, and its formatting and Unicode
    // tables, into the sidebar's download.
    let at = text.as_bytes().windows(3).position(|w| w == b"://")?;
    let (scheme, rest) = (text.get(..at)?, text.get(at + 3..)?);
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    // `split_at_checked`, like every slice here, so no panic path (and its formatting) is linked in.
    let (authority, rest) = rest.split_at_checked(authority_end)?;
    // Bytes again: `contains(char)` may fall back to a string searcher for non-ASCII characters.
    if authority.is_empty() || authority.bytes().any(|b| b == b'@') || rest.bytes().any(|b| b == b'#') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at_checked(close + 1)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => Some(parse_port(port)?),
        None => None,
    };
    let host = host.to_ascii_lowercase();
    let host_ok = !host.is_empty()
        && (host.starts_with('[') || host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
        && !host.starts_with('.')
        && !host.ends_with('.');
    host_ok.then(|| ParsedUrl { scheme, host, port, rest: rest.to_string() })
}

/// A port: ASCII digits, at most 65535.
fn parse_port(text: &str) -> Option<u16> {
    crate::decimal::parse_digits(text.as_bytes()).and_then(|port| u16::try_from(port).ok())
}

/// Whether the URL may carry API traffic or documents: https anywhere, plain http only on loopback
/// (the local sandbox).
pub fn is_secure_or_loopback(url: &ParsedUrl) -> bool {
    url.scheme == "https" || url.is_loopback()
}

/// Parses a configured origin (`https://storage.googleapis.com`, `http://127.0.0.1:8790`): no path,
/// https unless on loopback. Returns it in the canonical form `ParsedUrl::origin` gives.
pub fn parse_origin(text: &str) -> Option<String> {
    let parsed = parse(text.trim_end_matches('/'))?;
    (parsed.rest.is_empty() && is_secure_or_loopback(&parsed)).then(|| parsed.origin())
}

/// The origin of a configured base URL (which may carry a path).
pub fn parse_origin_of(text: &str) -> Option<String> {
    parse(text).filter(is_secure_or_loopback).map(|u| u.origin())
}

/// `text` as a URL a browser may be sent to for a document, in canonical spelling (scheme and host
/// lower-case), or `None`: it must parse (so no `javascript:`, no userinfo), be https (http only on
/// loopback, the sandbox) and its origin must be one of `allowed`. The path and query are kept as
/// given: a signed URL's signature is in them.
pub fn allowed_document_url(text: &str, allowed: &[String]) -> Option<String> {
    let url = parse(text).filter(is_secure_or_loopback)?;
    let origin = url.origin();
    allowed.contains(&origin).then(|| origin + &url.rest)
}

/// Percent-encodes everything except RFC 3986 unreserved characters (for query keys and values).
pub fn encode_component(text: &str) -> String {
    encode(text, b"-._~")
}

/// Decodes a query value: `%XX` escapes (invalid ones stay as written) and `+` as a space, as forms and
/// `URLSearchParams` encode; bytes that are not UTF-8 become U+FFFD.
pub fn decode_query_value(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match (byte, bytes.get(index + 1..index + 3)) {
            (b'%', Some(hex)) => std::str::from_utf8(hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok()),
            _ => None,
        };
        match (byte, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a single path segment; `:` stays literal (RFC 3986 `pchar`), so record keys
/// such as `hubspot:42:deal:7` read naturally in logs.
pub fn encode_path_segment(text: &str) -> String {
    encode(text, b"-._~:")
}

fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Builds `?k=v&…` with every key and value encoded (`$` and brackets in SpotDraft's filter names included).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(&encode_component(key));
        out.push('=');
        out.push_str(&encode_component(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode_escapes_and_plus_and_keep_broken_escapes() {
        assert_eq!(decode_query_value("pat%40acme.example"), "pat@acme.example");
        assert_eq!(decode_query_value("Acme+Widgets%2C+Inc."), "Acme Widgets, Inc.");
        assert_eq!(decode_query_value("100%25"), "100%");
        assert_eq!(decode_query_value("%zz%4"), "%zz%4");
        assert_eq!(decode_query_value("caf%C3%A9"), "café");
        assert_eq!(decode_query_value("%FF"), "\u{FFFD}");
    }

    #[test]
    fn parses_what_we_need_and_nothing_else() {
        let url = parse("https://API.us.spotdraft.com/api/v2.1/public/contracts/?page=1").unwrap();
        assert_eq!((url.scheme.as_str(), url.host.as_str(), url.port), ("https", "api.us.spotdraft.com", None));
        assert_eq!(url.rest, "/api/v2.1/public/contracts/?page=1");
        assert_eq!(parse("http://127.0.0.1:8790").unwrap().port, Some(8790));
        assert_eq!(parse("http://127.0.0.1:65535").unwrap().port, Some(65535));
        assert_eq!(parse("http://127.0.0.1:000080").unwrap().origin(), "http://127.0.0.1:80");
        for bad in ["http://127.0.0.1:65536", "http://127.0.0.1:", "http://127.0.0.1:8a", "http://127.0.0.1:+80"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(parse("http://[::1]:80/x").unwrap().is_loopback());
        for bad in [
            "ftp://x.example",
            "https://app.spotdraft.com@evil.example/",
            "https://",
            "https://a.example:99999/",
            "https://a.example:/",
            "javascript:alert(1)",
            "https://a b.example/",
            "https://a.example/#frag",
            "//a.example/",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_only_on_loopback() {
        assert!(is_secure_or_loopback(&parse("http://localhost:1/").unwrap()));
        assert!(!is_secure_or_loopback(&parse("http://api.us.spotdraft.com/").unwrap()));
        assert!(is_secure_or_loopback(&parse("https://api.us.spotdraft.com/").unwrap()));
    }

    #[test]
    fn origins_and_document_urls() {
        assert_eq!(parse_origin("https://Storage.googleapis.com/").as_deref(), Some("https://storage.googleapis.com"));
        assert_eq!(parse_origin("http://127.0.0.1:8790").as_deref(), Some("http://127.0.0.1:8790"));
        for bad in ["http://storage.googleapis.com", "https://storage.googleapis.com/bucket", "storage.googleapis.com"]
        {
            assert_eq!(parse_origin(bad), None, "{bad}");
        }
        let allowed = vec!["https://storage.googleapis.com".to_string(), "http://127.0.0.1:8790".to_string()];
        let allowed_as = |text: &str| allowed_document_url(text, &allowed);
        assert_eq!(
            allowed_as("https://storage.googleapis.com/b/o.pdf?signature=x%2Fy").as_deref(),
            Some("https://storage.googleapis.com/b/o.pdf?signature=x%2Fy")
        );
        assert_eq!(
            allowed_as("HTTPS://Storage.GoogleAPIs.com/b/O.pdf?X=1").as_deref(),
            Some("https://storage.googleapis.com/b/O.pdf?X=1"),
            "scheme and host are written lower-case, path and query as given"
        );
        assert!(allowed_as("http://127.0.0.1:8790/storage/x.pdf").is_some());
        for refused in [
            "javascript:alert(1)",
            "http://storage.googleapis.com/b/o.pdf",
            "https://evil.example/b/o.pdf",
            "https://storage.googleapis.com.evil.example/o.pdf",
            "https://storage.googleapis.com@evil.example/o.pdf",
            "https://storage.googleapis.com:8443/o.pdf",
            "http://127.0.0.1:9999/storage/x.pdf",
            "data:application/pdf;base64,JVBERi0=",
        ] {
            assert_eq!(allowed_as(refused), None, "{refused}");
        }
    }

    #[test]
    fn encodes_components() {
        assert_eq!(encode_component("hubspot:42:deal:7"), "hubspot%3A42%3Adeal%3A7");
        assert_eq!(encode_component("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_path_segment("hubspot:42:deal:7"), "hubspot:42:deal:7");
        assert_eq!(encode_path_segment("../x?y"), "..%2Fx%3Fy");
        assert_eq!(
            query_string(&[("filter__last_updated_on[$gte]", "2026-01-01T00:00:00Z".into())]),
            "?filter__last_updated_on%5B%24gte%5D=2026-01-01T00%3A00%3A00Z"
        );
    }
}
