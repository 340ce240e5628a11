/// Decides when a head that arrives in pieces is worth parsing, so that a
/// reader parses it once it is whole rather than again on every read.
///
/// A reader that calls [`parse_request`](crate::parse_request) (or
/// [`ClientHandshake::parse_response`](crate::ClientHandshake::parse_response))
/// after each read parses the first bytes again each time: a head trickled
/// in `n` pieces costs `n` parses of up to the whole limit, which is
/// quadratic in the head's length. That is tungstenite's
/// [RUSTSEC-2023-0065] (CVE-2023-43669). With a scanner each byte is looked
/// at once to find the end of the head (an empty line, [RFC 9112 section 2.1]),
/// and the parser runs at most three times per head: on the first bytes
/// (so that a peer that does not speak HTTP is refused at once), at the end
/// of the head, and when the head has outgrown its limit (to refuse it with
/// 431).
///
/// ```
/// use ws_handshake::{parse_request, HeadScanner, HeaderLimits, Parse};
///
/// let limits = HeaderLimits::default();
/// let request = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
/// let mut scanner = HeadScanner::new();
/// let (mut buffer, mut parses) = (Vec::new(), 0);
/// for byte in request {
///     buffer.push(*byte); // one byte per read
///     if scanner.should_parse(&buffer, limits.max_header_bytes) {
///         parses += 1;
///         if let Parse::Complete(_) = parse_request(&buffer, &limits).unwrap() {
///             break;
///         }
///     }
/// }
/// assert_eq!(parses, 2); // the first byte, then the whole head
/// ```
///
/// [RUSTSEC-2023-0065]: https://rustsec.org/advisories/RUSTSEC-2023-0065.html
/// [RFC 9112 section 2.1]: https://www.rfc-editor.org/rfc/rfc9112#section-2.1
#[derive(Debug, Clone, Default)]
pub struct HeadScanner {
    /// How many bytes of the head have been searched for its end.
    searched: usize,
    /// Whether the first bytes were offered to the parser.
    started: bool,
    /// Whether the head's length was offered to the parser past the limit.
    oversized: bool,
}

impl HeadScanner {
    /// A scanner for a new head.
    pub fn new() -> Self {
        HeadScanner::default()
    }

    /// Whether `input`, all of the head read so far (it only grows between
    /// calls), should be parsed now: it is the first input, or it holds an
    /// empty line (CRLF CRLF, or the LF LF that parsers also accept), or it
    /// is longer than `limit` bytes. Only the bytes added since the last call
    /// are searched.
    pub fn should_parse(&mut self, input: &[u8], limit: usize) -> bool {
        if input.is_empty() {
            return false;
        }
        // An empty line ends in "\n\n" or "\n\r\n": start far enough back
        // to see one that straddles the previous input's end.
        let from = self.searched.saturating_sub(2).min(input.len());
        self.searched = input.len();
        let ended = has_empty_line(&input[from..]);
        if !self.started {
            self.started = true;
            return true;
        }
        if input.len() > limit && !self.oversized {
            self.oversized = true;
            return true;
        }
        ended
    }
}

fn has_empty_line(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .any(|(at, _)| match bytes.get(at + 1) {
            Some(b'\n') => true,
            Some(b'\r') => bytes.get(at + 2) == Some(&b'\n'),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses_for(head: &[u8], piece: usize, limit: usize) -> usize {
        let mut scanner = HeadScanner::new();
        let mut parses = 0;
        let ends = (piece..head.len()).step_by(piece);
        for end in ends.chain(std::iter::once(head.len())) {
            if scanner.should_parse(&head[..end], limit) {
                parses += 1;
            }
        }
        parses
    }

    #[test]
    fn server_reading_a_head_byte_by_byte_parses_it_at_its_first_byte_and_its_end() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
        assert_eq!(parses_for(head, 1, 8192), 2);
        let bare = b"GET / HTTP/1.1\nHost: a\n\n";
        assert_eq!(parses_for(bare, 1, 8192), 2);
    }

    #[test]
    fn server_reading_a_20_mb_header_in_100_byte_pieces_parses_it_twice() {
        let mut head = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        head.resize(20_000_000, b'a');
        // The first piece, then once past the limit; never again after.
        assert_eq!(parses_for(&head, 100, 8192), 2);
    }

    #[test]
    fn server_reading_many_short_headers_in_pieces_does_not_parse_at_each_line() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..2000 {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert_eq!(parses_for(&head, 100, usize::MAX), 2);
    }
}
