//! The part of an adapter's public API that is the same on every runtime,
//! written once: type aliases and the accept/handshake entry points.

/// Defines, in an adapter crate, the type aliases `WebSocket<S>`,
/// `WebSocketReader<S>`, `WebSocketWriter<S>` and the functions `accept`,
/// `accept_with`, `accept_with_callback`, `read_request` (and `HttpRequest<S>`),
/// `upgrade` and `connect_with` for the runtime
/// marker `$runtime`, so that every adapter offers the same API;
/// `adapter_api!(connect: $runtime)` adds `connect` and `connect_with_config`.
#[macro_export]
#[doc(hidden)]
macro_rules! adapter_api {
    // `connect` and `connect_with_config`, for a runtime that implements
    // `ws_driver::Connect`.
    (connect: $runtime:ty) => {
        /// Connects to a `ws://` or `wss://` URI with the default
        /// configuration: resolves the host, opens TCP (with `TCP_NODELAY`),
        /// sets up TLS for `wss://`, and performs the opening handshake.
        /// Returns the socket and the server's 101 response.
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the connection.
        pub async fn connect(
            request: impl $crate::IntoClientRequest,
        ) -> Result<
            (
                WebSocket<<$runtime as $crate::Connect>::Stream>,
                $crate::http::Response<()>,
            ),
            $crate::Error,
        > {
            $crate::connect::<$runtime>(request, &$crate::ClientConfig::default()).await
        }

        /// Connects with a configuration. See [`connect`]. The handshake
        /// timeout covers DNS, TCP, TLS and the opening handshake together.
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the connection.
        pub async fn connect_with_config(
            request: impl $crate::IntoClientRequest,
            config: &$crate::ClientConfig,
        ) -> Result<
            (
                WebSocket<<$runtime as $crate::Connect>::Stream>,
                $crate::http::Response<()>,
            ),
            $crate::Error,
        > {
            $crate::connect::<$runtime>(request, config).await
        }
    };
    ($runtime:ty) => {
        /// A WebSocket connection on this runtime: a `Stream` of received
        /// messages and a `Sink` of messages to send. Its methods are those of
        /// `ws_driver::WebSocket`.
        pub type WebSocket<S> = $crate::WebSocket<S, $runtime>;
        /// The receiving half of a split [`WebSocket`].
        pub type WebSocketReader<S> = $crate::WebSocketReader<S, $runtime>;
        /// The sending half of a split [`WebSocket`].
        pub type WebSocketWriter<S> = $crate::WebSocketWriter<S, $runtime>;

        /// Accepts a WebSocket on a stream with the default configuration:
        /// reads the client's opening handshake, answers it, and returns the
        /// connection.
        ///
        /// Invalid requests are answered with their HTTP status (400, 405,
        /// 426, 431, ...) before the error is returned.
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the stream.
        pub async fn accept<S>(stream: S) -> Result<WebSocket<S>, $crate::Error>
        where
            S: Unpin,
            $runtime: $crate::Transport<S>,
        {
            accept_with(stream, $crate::ServerConfig::shared_default()).await
        }

        /// Accepts a WebSocket with a configuration (limits, subprotocols,
        /// origin policy, handshake timeout).
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the stream.
        pub async fn accept_with<S>(
            stream: S,
            config: &$crate::ServerConfig,
        ) -> Result<WebSocket<S>, $crate::Error>
        where
            S: Unpin,
            $runtime: $crate::Transport<S>,
        {
            $crate::accept_with_callback::<S, $runtime, _>(stream, config, |_, _| Ok(())).await
        }

        /// Accepts a WebSocket, letting `callback` inspect the request (path,
        /// query, cookies, authorization) and either adjust the 101 response
        /// or refuse with `RequestError::Rejected` and a status of its choosing.
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the stream.
        pub async fn accept_with_callback<S, F>(
            stream: S,
            config: &$crate::ServerConfig,
            callback: F,
        ) -> Result<WebSocket<S>, $crate::Error>
        where
            S: Unpin,
            $runtime: $crate::Transport<S>,
            F: FnOnce(
                &$crate::http::Request<()>,
                &mut $crate::http::Response<()>,
            ) -> Result<(), $crate::ws_handshake::RequestError>,
        {
            $crate::accept_with_callback::<S, $runtime, F>(stream, config, callback).await
        }

        /// An HTTP request read off a stream and not yet answered: upgrade
        /// it ([`HttpRequest::accept`](ws_driver::HttpRequest::accept)) or
        /// answer it with a page ([`HttpRequest::respond`](ws_driver::HttpRequest::respond)).
        pub type HttpRequest<S> = $crate::HttpRequest<S, $runtime>;

        /// Reads an HTTP request head without answering it, for a server that
        /// serves plain HTTP and WebSocket on one port:
        ///
        /// ```text
        /// let request = read_request(tcp, &config).await?;
        /// if request.request().uri().path() == "/ws" && request.is_websocket() {
        ///     let socket = request.accept(&config).await?;
        ///     // ...
        /// } else {
        ///     request.respond(http::Response::new(()), b"hello").await?;
        /// }
        /// ```
        ///
        /// A head past the limits is answered with 431, a malformed one with
        /// 400; a client slower than the handshake timeout is dropped.
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the stream.
        pub async fn read_request<S>(
            stream: S,
            config: &$crate::ServerConfig,
        ) -> Result<HttpRequest<S>, $crate::Error>
        where
            S: Unpin,
            $runtime: $crate::Transport<S>,
        {
            $crate::read_request::<S, $runtime>(stream, config).await
        }

        pub use $crate::{upgrade, Shutdown, Tracked, Upgrade};

        /// Waits until every connection tracked by `shutdown` has ended, or
        /// `deadline` passes; returns how many were still alive. See
        /// [`Shutdown`].
        ///
        /// Cancel safety: cancel-safe; it only waits.
        pub async fn drain(shutdown: &$crate::Shutdown, deadline: std::time::Duration) -> usize {
            shutdown.drain::<$runtime>(deadline).await
        }

        /// Performs the client's opening handshake on a stream the caller
        /// connected (a proxy tunnel, a Unix socket, a custom TLS stack). The
        /// request's URI says the host and path; its scheme only has to be
        /// `ws` or `wss`. Returns the socket and the server's 101 response.
        ///
        /// Cancel safety: not cancel-safe; dropping the future drops the stream.
        pub async fn connect_with<S>(
            stream: S,
            request: impl $crate::IntoClientRequest,
            config: &$crate::ClientConfig,
        ) -> Result<(WebSocket<S>, $crate::http::Response<()>), $crate::Error>
        where
            S: Unpin,
            $runtime: $crate::Transport<S>,
        {
            let request = request.into_client_request()?;
            $crate::client_handshake::<S, $runtime>(stream, &request, config).await
        }
    };
}
