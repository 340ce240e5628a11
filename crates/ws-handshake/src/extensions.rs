use std::fmt;

/// One extension from a `Sec-WebSocket-Extensions` header: a name and its
/// parameters ([RFC 6455 section 9.1]), e.g.
/// `permessage-deflate; client_max_window_bits; server_max_window_bits=10`.
///
/// [RFC 6455 section 9.1]: https://www.rfc-editor.org/rfc/rfc6455#section-9.1
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token.
    pub name: String,
    /// Parameters in order, each with its value if it has one (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Extension {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push((name.into(), value));
        self
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(value) if value.bytes().all(is_token_byte) && !value.is_empty() => {
                    write!(f, "; {name}={value}")?
                }
                Some(value) => write!(
                    f,
                    "; {name}=\"{}\"",
                    value.replace('\\', "\\\\").replace('"', "\\\"")
                )?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// `Sec-WebSocket-Extensions` does not follow the RFC 6455 section 9.1 grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExtensionParseError(&'static str);

/// Whether a byte may appear in an HTTP token ([RFC 9110 section 5.6.2]).
///
/// [RFC 9110 section 5.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Parses one `Sec-WebSocket-Extensions` header value into its extensions.
///
/// ```
/// let offers = ws_handshake::parse_extensions("permessage-deflate; client_max_window_bits, foo; x=\"1\"").unwrap();
/// assert_eq!(offers[0].name, "permessage-deflate");
/// assert_eq!(offers[0].params, [("client_max_window_bits".to_string(), None)]);
/// assert_eq!(offers[1].params, [("x".to_string(), Some("1".to_string()))]);
/// ```
///
/// # Errors
///
/// [`ExtensionParseError`] where the value breaks the grammar.
pub fn parse_extensions(value: &str) -> Result<Vec<Extension>, ExtensionParseError> {
    let mut parser = Parser {
        bytes: value.as_bytes(),
        at: 0,
    };
    let mut extensions = Vec::new();
    loop {
        parser.skip_space();
        if parser.eat(b',') {
            continue; // empty list elements are allowed by the list rule
        }
        if parser.done() {
            return Ok(extensions);
        }
        let mut extension = Extension::new(parser.token()?);
        loop {
            parser.skip_space();
            if !parser.eat(b';') {
                break;
            }
            parser.skip_space();
            let name = parser.token()?;
            parser.skip_space();
            let value = if parser.eat(b'=') {
                parser.skip_space();
                Some(if parser.peek() == Some(b'"') {
                    parser.quoted()?
                } else {
                    parser.token()?
                })
            } else {
                None
            };
            extension.params.push((name, value));
        }
        extensions.push(extension);
        parser.skip_space();
        if !parser.done() && !parser.eat(b',') {
            return Err(ExtensionParseError(
                "expected `,` or `;` after an extension",
            ));
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        self.at += usize::from(matched);
        matched
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Result<String, ExtensionParseError> {
        let start = self.at;
        while self.peek().is_some_and(is_token_byte) {
            self.at += 1;
        }
        if start == self.at {
            return Err(ExtensionParseError("expected a token"));
        }
        Ok(String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned())
    }

    fn quoted(&mut self) -> Result<String, ExtensionParseError> {
        self.at += 1; // opening quote
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ExtensionParseError("unterminated quoted string")),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    self.at += 1;
                    let Some(escaped) = self.peek() else {
                        return Err(ExtensionParseError("unterminated quoted string"));
                    };
                    value.push(escaped);
                    self.at += 1;
                }
                Some(byte) => {
                    value.push(byte);
                    self.at += 1;
                }
            }
        }
        // RFC 6455 section 9.1: a quoted value must still be a token once unquoted.
        if value.is_empty() || !value.iter().copied().all(is_token_byte) {
            return Err(ExtensionParseError("quoted parameter value is not a token"));
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_offers_with_parameters_parse() {
        let parsed = parse_extensions(
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10, permessage-deflate",
        )
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed[0].params,
            [
                ("client_no_context_takeover".into(), None),
                ("server_max_window_bits".into(), Some("10".into()))
            ]
        );
        assert!(parsed[1].params.is_empty());
    }

    #[test]
    fn malformed_values_are_rejected() {
        for bad in [
            "; x",
            "a;",
            "a b",
            "a; x=\"1",
            "a; x=\"\"",
            "a; =1",
            "a; x=\"a b\"",
        ] {
            assert!(parse_extensions(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        let extension = Extension::new("permessage-deflate")
            .param("client_max_window_bits", None)
            .param("x", Some("9".into()));
        assert_eq!(
            extension.to_string(),
            "permessage-deflate; client_max_window_bits; x=9"
        );
        assert_eq!(
            parse_extensions(&extension.to_string()).unwrap(),
            [extension]
        );
    }
}
