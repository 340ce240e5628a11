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
pub(crate) fn to_header_map(parsed: &[httparse::Header<'_>]) -> Result<HeaderMap, http::Error> {
    let mut map = HeaderMap::with_capacity(parsed.len());
    for header in parsed {
        let name = HeaderName::from_bytes(header.name.as_bytes())?;
        let value = http::HeaderValue::from_bytes(header.value)?;
        map.append(name, value);
    }
    Ok(map)
}
