//! Copying a message in pieces between the application's own readers and
//! writers and a socket ([RFC 6455 section 5.4]): what `send_from` and
//! `recv_into` share. The reader and writer are any stream the runtime can
//! read or write (a file, a pipe, a `&[u8]`), through the same
//! [`ReadTransport`] and [`WriteTransport`] the socket's stream goes through.
//!
//! [RFC 6455 section 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.4

use std::future::{poll_fn, Future};
use std::pin::Pin;

use bytes::BytesMut;
use ws_core::{Chunk, MessageKind};

use crate::runtime::{ReadTransport, WriteTransport};
use crate::Error;

/// `send_from` reads, and sends as one frame, at most this much at a time.
pub(crate) const PIECE: usize = 64 * 1024;

/// Reads the next piece into `buffer` (empty on entry): one read of at
/// most [`PIECE`], whatever the reader has ready, so that a slow source's
/// bytes go out as they come. True when the reader ended, so that this
/// (empty) piece is the message's last.
pub(crate) async fn read_piece<T: Unpin, R: ReadTransport<T>>(
    reader: &mut T,
    buffer: &mut BytesMut,
) -> Result<bool, Error> {
    buffer.reserve(PIECE);
    let read = poll_fn(|cx| R::poll_read(Pin::new(&mut *reader), cx, buffer))
        .await
        .map_err(Error::Copy)?;
    Ok(read == 0)
}

/// Writes a received piece to `writer`, and flushes it after the last.
pub(crate) async fn write_chunk<W: Unpin, R: WriteTransport<W>>(
    writer: &mut W,
    chunk: &Chunk,
) -> Result<(), Error> {
    let mut data = &chunk.data[..];
    while !data.is_empty() {
        let written = poll_fn(|cx| R::poll_write(Pin::new(&mut *writer), cx, data))
            .await
            .map_err(Error::Copy)?;
        if written == 0 {
            return Err(Error::Copy(std::io::ErrorKind::WriteZero.into()));
        }
        data = &data[written..];
    }
    if chunk.fin {
        poll_fn(|cx| R::poll_flush(Pin::new(&mut *writer), cx))
            .await
            .map_err(Error::Copy)?;
    }
    Ok(())
}

/// What receives a message in pieces: a whole socket or its reader half.
pub(crate) trait ReceivesChunks {
    fn next_chunk(&mut self, limit: u64) -> impl Future<Output = Option<Result<Chunk, Error>>>;
}

/// What sends a message in pieces: a whole socket or its writer half.
pub(crate) trait SendsFragments {
    fn fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> impl Future<Output = Result<(), Error>>;
}

/// `recv_into`: the next message, piece by piece, into `writer`.
pub(crate) async fn recv_into<T: ReceivesChunks, W: Unpin, R: WriteTransport<W>>(
    socket: &mut T,
    writer: &mut W,
    limit: u64,
) -> Option<Result<(MessageKind, u64), Error>> {
    let mut total = 0;
    loop {
        let chunk = match socket.next_chunk(limit).await {
            Some(Ok(chunk)) => chunk,
            Some(Err(error)) => return Some(Err(error)),
            None if total == 0 => return None,
            None => return Some(Err(Error::Closed)),
        };
        total += chunk.data.len() as u64;
        if let Err(error) = write_chunk::<W, R>(writer, &chunk).await {
            return Some(Err(error));
        }
        if chunk.fin {
            return Some(Ok((chunk.kind, total)));
        }
    }
}

/// `send_from`: what `reader` gives, to its end, as one message in pieces.
pub(crate) async fn send_from<T: SendsFragments, F: Unpin, R: ReadTransport<F>>(
    socket: &mut T,
    kind: MessageKind,
    reader: &mut F,
) -> Result<u64, Error> {
    let mut buffer = BytesMut::with_capacity(PIECE);
    let mut total = 0;
    loop {
        let fin = read_piece::<F, R>(reader, &mut buffer).await?;
        total += buffer.len() as u64;
        socket.fragment(kind, &buffer, fin).await?;
        if fin {
            return Ok(total);
        }
        buffer.clear();
    }
}
