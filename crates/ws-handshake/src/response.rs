use std::io::Write;

/// Appends an HTTP/1.1 response head for `response`, then `body`, to `out`.
///
/// A `Content-Length` is added when the body is not empty and the response
/// does not already carry one.
pub fn write_response(response: &http::Response<()>, body: &[u8], out: &mut Vec<u8>) {
    let status = response.status();
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty()
        && !response
            .headers()
            .contains_key(http::header::CONTENT_LENGTH)
    {
        let _ = write!(out, "content-length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}
