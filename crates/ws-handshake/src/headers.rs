//! Header helpers shared by the request and response sides.

use http::header::{HeaderMap, HeaderName};

/// Whether a comma-separated header (all its occurrences) lists `token`,
/// compared case-insensitively ([RFC 9110 section 5.6.1]).
///
/// [RFC 9110 section 5.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// All the comma-separated items of every occurrence of a header, trimmed.
pub(crate) fn list_items<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// The single value of a header that must appear at most once.
pub(crate) enum Single<'a> {
    Missing,
    One(&'a [u8]),
    Duplicated,
}

pub(crate) fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Single<'a> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Single::Missing,
        (Some(value), None) => Single::One(value.as_bytes()),
        (Some(_), Some(_)) => Single::Duplicated,
    }
}

/// Converts httparse's borrowed headers into a `HeaderMap`.
pub(crate) fn to_header_map(parsed: &[httparse::Header<'_>]) -> Result<HeaderMap, MalformedHead> {
    let mut map = HeaderMap::with_capacity(parsed.len());
    for header in parsed {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|error| MalformedHead::because("invalid header name", error))?;
        let value = http::HeaderValue::from_bytes(header.value)
            .map_err(|error| MalformedHead::because("invalid header value", error))?;
        map.append(name, value);
    }
    Ok(map)
}

/// How many header slots to give httparse for `input`: the limit, but no
/// more than the input can hold (a header line takes at least 3 bytes), so
/// that a limit set to `usize::MAX` allocates by the input, not the limit.
pub(crate) fn header_slots(limits: &crate::HeaderLimits, input: usize) -> usize {
    limits.max_headers.min(input / 3 + 1)
}

/// Why a request or response head is not HTTP/1.x. The parser's error
/// (httparse's, or the `http` crate's for a method, URI, status or header
/// it refuses) is kept as the [`source`](std::error::Error::source).
#[derive(Debug, Clone)]
pub struct MalformedHead {
    what: &'static str,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl MalformedHead {
    /// A malformed head, for a reason that has no error of its own.
    pub(crate) fn new(what: &'static str) -> Self {
        MalformedHead { what, source: None }
    }

    /// A malformed head, because of `source`.
    pub(crate) fn because(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        MalformedHead {
            what,
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// What was wrong, without the source's details.
    pub fn what(&self) -> &'static str {
        self.what
    }
}

impl std::fmt::Display for MalformedHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.what),
            None => f.write_str(self.what),
        }
    }
}

impl std::error::Error for MalformedHead {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Two are equal when they name the same fault (sources are compared by
/// what they are about, not by their internals, which have no `PartialEq`).
impl PartialEq for MalformedHead {
    fn eq(&self, other: &Self) -> bool {
        self.what == other.what
    }
}

impl Eq for MalformedHead {}
