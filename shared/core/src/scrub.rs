//! Finds credentials in free text a client sends (issue reports) and replaces them, however they
//! are written: plainly, percent-encoded (once or more, `+` for a space), as JSON string escapes,
//! or inside base64 or base64url.
//!
//! The text is read through decoded views, each byte of a view knowing the span of the original
//! it came from; a credential found in any view is replaced in the original over the span it
//! came from. So `?next=%2Fcb%3Fkey%3Dsk_...` loses the key (found in the percent-decoded view,
//! where `=` stands before it) and keeps the rest as it was sent.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::keys::secret::{BODY_CHARS, KeyPrefix, PresentedKey};

/// What replaces a credential of each kind.
const KEY_MARKER: &str = "[redacted key]";
const TOKEN_MARKER: &str = "[redacted token]";
const VALUE_MARKER: &str = "[redacted]";

/// Runs shorter than this are not read as base64: a key is 75 characters, 100 in base64.
const MIN_BASE64_RUN: usize = 20;
/// Decoding layers tried on top of one another (`%253D` is two).
const MAX_DEPTH: usize = 4;

static ANY_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[a-z0-9]{1,16}_[0-9A-Za-z]{40,}").expect("valid"));
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").expect("valid")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]+)").expect("valid"));
static API_KEY_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)x-api-key\\?"?\s*[:=]\s*\\?"?(?P<secret>[^\s"\\,;}]+)"#).expect("valid")
});
static BASE64_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_-]{20,}={0,2}").expect("valid"));

/// Replaces whatever looks like a credential with a marker: Latchkey keys (this deployment's
/// prefix, or any prefix with a key-length body), bearer tokens, JWTs, and `X-API-KEY` values.
#[derive(Debug, Clone)]
pub struct Scrubber {
    prefix: KeyPrefix,
    own_keys: Regex,
    /// A whole key of this deployment wherever it stands, even glued to other text: its
    /// checksum tells it from chance.
    whole_keys: Regex,
}

/// A text as a decoding layer left it: its bytes, and for each the span of the original text
/// it came from.
struct View {
    bytes: Vec<u8>,
    origin: Vec<(usize, usize)>,
}

impl View {
    fn of(text: &[u8]) -> Self {
        Self {
            bytes: text.to_vec(),
            origin: (0..text.len()).map(|i| (i, i + 1)).collect(),
        }
    }

    /// The original span of `start..end` of this view.
    fn span(&self, start: usize, end: usize) -> (usize, usize) {
        (self.origin[start].0, self.origin[end - 1].1)
    }

    /// Percent-decoded, `+` read as a space; `None` when nothing changes.
    fn percent_decoded(&self) -> Option<Self> {
        let (b, mut out) = (&self.bytes, Self::empty());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            match b[i] {
                b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8, self.span(i, i + 3));
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%', self.origin[i]),
                },
                b'+' => out.push(b' ', self.origin[i]),
                other => out.push(other, self.origin[i]),
            }
            i += 1;
        }
        (out.bytes != self.bytes).then_some(out)
    }

    /// JSON string escapes read (`\u0073`, `\/`, `\n`, ...); `None` when nothing changes.
    fn json_unescaped(&self) -> Option<Self> {
        let (b, mut out) = (&self.bytes, Self::empty());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && i + 1 < b.len() {
                let simple = match b[i + 1] {
                    b'n' => Some(b'\n'),
                    b't' => Some(b'\t'),
                    b'r' => Some(b'\r'),
                    b'b' => Some(0x08),
                    b'f' => Some(0x0c),
                    b'/' | b'\\' | b'"' | b'\'' => Some(b[i + 1]),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte, self.span(i, i + 2));
                    i += 2;
                    continue;
                }
                if b[i + 1] == b'u'
                    && i + 6 <= b.len()
                    && let Some(code) = std::str::from_utf8(&b[i + 2..i + 6])
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                {
                    let c = char::from_u32(code).unwrap_or('?');
                    let mut buf = [0; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push(byte, self.span(i, i + 6));
                    }
                    i += 6;
                    continue;
                }
            }
            out.push(b[i], self.origin[i]);
            i += 1;
        }
        (out.bytes != self.bytes).then_some(out)
    }

    fn empty() -> Self {
        Self {
            bytes: Vec::new(),
            origin: Vec::new(),
        }
    }

    fn push(&mut self, byte: u8, origin: (usize, usize)) {
        self.bytes.push(byte);
        self.origin.push(origin);
    }
}

/// Every decoded view of `text`: itself, and each combination of decoding layers that changes
/// something, up to [`MAX_DEPTH`] layers.
fn views(text: &[u8]) -> Vec<View> {
    let mut views = vec![View::of(text)];
    let mut frontier = 0;
    for _ in 0..MAX_DEPTH {
        let end = views.len();
        for i in frontier..end {
            let decoded = [views[i].percent_decoded(), views[i].json_unescaped()];
            for view in decoded.into_iter().flatten() {
                if !views.iter().any(|v| v.bytes == view.bytes) {
                    views.push(view);
                }
            }
        }
        if views.len() == end {
            break;
        }
        frontier = end;
    }
    views
}

/// Lenient base64 of either alphabet, padding ignored; `None` when a character is of neither.
fn base64_decoded(run: &[u8]) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let mut digits: Vec<u8> = run
        .iter()
        .filter(|c| **c != b'=')
        .map(|c| value(*c))
        .collect::<Option<_>>()?;
    // A character glued to the end would leave a length no encoding makes: the rest decodes.
    if digits.len() % 4 == 1 {
        digits.pop();
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

impl Scrubber {
    /// A scrubber for keys with `prefix`.
    pub fn new(prefix: &KeyPrefix) -> Self {
        let escaped = regex::escape(prefix.as_str());
        let own = format!(r"\b{escaped}_[0-9A-Za-z]{{12,}}");
        let whole = format!(r"{escaped}_[0-9A-Za-z]{{{BODY_CHARS}}}");
        Self {
            prefix: prefix.clone(),
            own_keys: Regex::new(&own).expect("an escaped prefix is a valid pattern"),
            whole_keys: Regex::new(&whole).expect("an escaped prefix is a valid pattern"),
        }
    }

    /// The credentials in `view`: spans of the view and the marker for each.
    fn found(&self, view: &View) -> Vec<(usize, usize, &'static str)> {
        let mut found = Vec::new();
        for m in self.whole_keys.find_iter(&view.bytes) {
            let key = std::str::from_utf8(m.as_bytes()).unwrap_or_default();
            if PresentedKey::parse(&self.prefix, key).is_some() {
                found.push((m.start(), m.end(), KEY_MARKER));
            }
        }
        for (pattern, marker) in [
            (&self.own_keys, KEY_MARKER),
            (&*ANY_KEY, KEY_MARKER),
            (&*JWT, TOKEN_MARKER),
        ] {
            for m in pattern.find_iter(&view.bytes) {
                found.push((m.start(), m.end(), marker));
            }
        }
        for pattern in [&*BEARER, &*API_KEY_HEADER] {
            for c in pattern.captures_iter(&view.bytes) {
                if let Some(m) = c.name("secret") {
                    found.push((m.start(), m.end(), VALUE_MARKER));
                }
            }
        }
        found
    }

    /// Whether `bytes` hold a credential in any view, base64 within base64 included up to
    /// `depth` more layers.
    fn holds_secret(&self, bytes: &[u8], depth: usize) -> bool {
        views(bytes).iter().any(|view| {
            !self.found(view).is_empty()
                || (depth > 0 && !self.base64_runs(view, depth - 1).is_empty())
        })
    }

    /// The runs of `view` that decode, as base64 from any of their first four characters, to
    /// something holding a credential.
    fn base64_runs(&self, view: &View, depth: usize) -> Vec<(usize, usize)> {
        BASE64_RUN
            .find_iter(&view.bytes)
            .filter(|run| {
                let run = run.as_bytes();
                (0..4).any(|skip| {
                    run.len() >= skip + MIN_BASE64_RUN
                        && base64_decoded(&run[skip..])
                            .is_some_and(|decoded| self.holds_secret(&decoded, depth))
                })
            })
            .map(|run| (run.start(), run.end()))
            .collect()
    }

    /// `text` with every credential-like run replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut spans: Vec<(usize, usize, &'static str)> = Vec::new();
        for view in views(text.as_bytes()) {
            for (start, end, marker) in self.found(&view) {
                let (start, end) = view.span(start, end);
                spans.push((start, end, marker));
            }
            for (start, end) in self.base64_runs(&view, 1) {
                let (start, end) = view.span(start, end);
                spans.push((start, end, VALUE_MARKER));
            }
        }
        if spans.is_empty() {
            return text.to_owned();
        }
        spans.sort_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
        let mut merged: Vec<(usize, usize, &'static str)> = Vec::new();
        for (start, end, marker) in spans {
            let (start, end) = (floor_char(text, start), ceil_char(text, end));
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end, marker)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, marker) in merged {
            out.push_str(&text[at..start]);
            out.push_str(marker);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    //! The scrubber against secrets hidden the ways a client may hide them. The encoders here
    //! are written apart from the decoders above (base64ct, form_urlencoded, serde_json), so a
    //! decoder's mistake cannot hide itself.

    use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
    use proptest::prelude::*;

    use super::*;
    use crate::{ids::KeyId, keys::secret::PlainKey};

    fn scrubber() -> Scrubber {
        Scrubber::new(&KeyPrefix::default())
    }

    fn key() -> String {
        PlainKey::generate(&KeyPrefix::default(), KeyId::new())
            .expose()
            .to_owned()
    }

    /// Every byte percent-encoded, as a careful client would for a query value.
    fn percent_all(text: &str) -> String {
        text.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    /// `\uXXXX` for every character, as a JSON encoder with ASCII-only output may write it.
    fn json_u(text: &str) -> String {
        text.chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect()
    }

    /// The ways of hiding `secret` this scrubber must see through.
    fn hidden(secret: &str, way: usize) -> String {
        match way {
            0 => secret.to_owned(),
            // The report's own example: a query inside a percent-encoded query.
            1 => format!(
                "https://app.example/?next={}",
                form_urlencoded::byte_serialize(format!("/cb?key={secret}&x=1").as_bytes())
                    .collect::<String>()
            ),
            2 => form_urlencoded::byte_serialize(
                form_urlencoded::byte_serialize(format!("key={secret}").as_bytes())
                    .collect::<String>()
                    .as_bytes(),
            )
            .collect(),
            3 => percent_all(secret),
            4 => format!("x{}", percent_all(&format!("={secret}"))),
            5 => format!("{{\"k\":\"{}\"}}", json_u(secret)),
            6 => serde_json::to_string(&format!("line\n{secret}")).unwrap(),
            7 => Base64UrlUnpadded::encode_string(format!("{{\"key\":\"{secret}\"}}").as_bytes()),
            8 => Base64::encode_string(secret.as_bytes()),
            9 => Base64Url::encode_string(format!("token={secret}").as_bytes()),
            10 => format!(
                "data={}",
                Base64Unpadded::encode_string(format!("Bearer+{}", percent_all(secret)).as_bytes())
            ),
            _ => format!("Authorization: Bearer+{secret}"),
        }
    }

    /// Whether `secret` can still be read out of `text` by undoing the encoding `way` used.
    fn readable(text: &str, secret: &str, way: usize) -> bool {
        let percent = |t: &str| {
            form_urlencoded::parse(format!("v={t}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .collect::<String>()
        };
        let once = percent(text);
        let twice = percent(&once);
        let json = serde_json::from_str::<serde_json::Value>(text)
            .map(|v| v.to_string().replace("\\n", "\n"))
            .unwrap_or_default();
        let base64 = [
            Base64::decode_vec(text.trim_start_matches("data=")).ok(),
            Base64Unpadded::decode_vec(text.trim_start_matches("data=")).ok(),
            Base64UrlUnpadded::decode_vec(text).ok(),
            Base64Url::decode_vec(text).ok(),
        ]
        .into_iter()
        .flatten()
        .map(|bytes| percent(&String::from_utf8_lossy(&bytes)))
        .collect::<Vec<_>>();
        let _ = way;
        [text.to_owned(), once, twice, json]
            .iter()
            .chain(base64.iter())
            .any(|t| t.contains(&secret[3..]))
    }

    #[test]
    fn every_way_of_hiding_a_key_is_seen_through() {
        let scrubber = scrubber();
        for way in 0..=11 {
            let secret = key();
            let text = hidden(&secret, way);
            assert!(
                readable(&text, &secret, way),
                "way {way} hides nothing: {text}"
            );
            let clean = scrubber.scrub(&text);
            assert!(
                !readable(&clean, &secret, way),
                "way {way}: {text} -> {clean}"
            );
        }
    }

    #[test]
    fn the_rest_of_the_text_stays_as_sent() {
        let secret = key();
        let text = format!("https://app.example/?next=%2Fcb%3Fkey%3D{secret}%26mode%3Dfast&page=2");
        assert_eq!(
            scrubber().scrub(&text),
            "https://app.example/?next=%2Fcb%3Fkey%3D[redacted key]%26mode%3Dfast&page=2"
        );
        assert_eq!(
            scrubber().scrub("a+b%20c \\u0041 aGVsbG8gd29ybGQgaGVsbG8="),
            "a+b%20c \\u0041 aGVsbG8gd29ybGQgaGVsbG8="
        );
    }

    proptest! {
        /// A key hidden any of the ways, between any text, cannot be read back out.
        #[test]
        fn a_hidden_key_cannot_be_read_back(
            way in 0usize..=11,
            before in "[ -~]{0,30}",
            after in "[ -~]{0,30}",
        ) {
            let secret = key();
            let hidden = hidden(&secret, way);
            let clean = scrubber().scrub(&format!("{before}{hidden}{after}"));
            prop_assert!(!clean.contains(&secret[3..]), "{}", clean);
            prop_assert!(!readable(clean.trim_start_matches(&before[..]).trim_end_matches(&after[..]), &secret, way), "{}", clean);
        }

        /// Any text scrubs without a panic, and text holding nothing secret comes back as sent.
        #[test]
        fn any_text_scrubs_and_plain_words_stay(raw in "\\PC{0,300}", words in "[a-z ]{0,80}") {
            let _ = scrubber().scrub(&raw);
            prop_assert_eq!(scrubber().scrub(&words), words);
        }
    }
}
