//! What a blocking stream must do beside `Read` and `Write`: take the read
//! and write timeouts the connection's deadlines turn into, and shut its
//! write side down.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A blocking byte stream a [`WebSocket`](crate::WebSocket) runs on: a
/// `TcpStream`, a `UnixStream`, a rustls `StreamOwned` over either, or
/// [`MaybeTlsStream`].
///
/// The stream must be in blocking mode. The socket reads with a timeout set
/// to the connection's next deadline (keepalive, close, message and write
/// timeouts, [`ws_core::Config`]), so those fire while it waits.
pub trait Transport: Read + Write {
    /// Sets how long a read may block; `None` blocks until data arrives.
    ///
    /// # Errors
    ///
    /// The operating system's, for a closed or invalid socket.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets how long a write may block; `None` blocks until it progresses.
    ///
    /// # Errors
    ///
    /// The operating system's, for a closed or invalid socket.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts the write side down: TCP FIN (after TLS `close_notify` on a
    /// TLS stream). Reads still work.
    ///
    /// # Errors
    ///
    /// The operating system's; the peer may already be gone.
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

/// A TLS stream (client or server side) over a blocking transport.
#[cfg(feature = "rustls")]
impl<C, T, D> Transport for rustls::StreamOwned<C, T>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
    T: Transport,
    D: rustls::SideData,
{
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        self.sock.shutdown_write()
    }
}

/// The stream [`connect`](crate::connect) opens: plain TCP for `ws://`,
/// TLS over TCP for `wss://`.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// A plain TCP stream (`ws://`).
    Plain(TcpStream),
    /// A TLS stream through rustls (`wss://`; also `ws://` through an
    /// `https://` proxy, whose TLS this is).
    #[cfg(feature = "rustls")]
    Rustls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// `wss://` through an `https://` proxy: the server's TLS inside the
    /// proxy's.
    #[cfg(feature = "rustls")]
    #[allow(clippy::type_complexity)]
    RustlsInRustls(
        Box<
            rustls::StreamOwned<
                rustls::ClientConnection,
                rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
            >,
        >,
    ),
}

impl MaybeTlsStream {
    /// The TCP stream underneath, for socket options or addresses.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => &tls.sock,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(tls) => &tls.sock.sock,
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.read(buffer),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.read(buffer),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(tls) => tls.read(buffer),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.write(bytes),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.write(bytes),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(tls) => tls.write(bytes),
        }
    }

    fn write_vectored(&mut self, bytes: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.write_vectored(bytes),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.write_vectored(bytes),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(tls) => tls.write_vectored(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(tls) => tls.flush(),
        }
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.shutdown_write(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.shutdown_write(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(tls) => tls.shutdown_write(),
        }
    }
}
