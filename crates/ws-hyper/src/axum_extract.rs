//! The axum extractor: a WebSocket request, HTTP/1.1 or HTTP/2, upgraded
//! with [`WebSocketUpgrade::on_upgrade`].

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Request, StatusCode, Version};

use crate::{PendingWebSocket, Rejected, ServerConfig, WebSocket};

/// A WebSocket request in an axum handler: an HTTP/1.1 upgrade (`GET`) or
/// an HTTP/2 extended CONNECT, which browsers send on an HTTP/2 connection
/// whose server enabled it ([`server_builder`](crate::server_builder); RFC
/// 8441). Route it with `any(handler)` (or `get(handler).connect(handler)`):
/// a `get(handler)` route answers the CONNECT with 405.
///
/// ```no_run
/// use axum::{routing::any, Router};
/// use ws_hyper::WebSocketUpgrade;
///
/// async fn echo(upgrade: WebSocketUpgrade) -> axum::response::Response {
///     upgrade.protocols(["echo"]).on_upgrade(|mut socket, _version| async move {
///         while let Some(Ok(message)) = socket.recv().await {
///             if message.is_data() && socket.send(message).await.is_err() {
///                 break;
///             }
///         }
///     })
/// }
///
/// let app: Router = Router::new().route("/ws", any(echo));
/// ```
///
/// The request is checked when [`on_upgrade`](Self::on_upgrade) runs, with
/// the configuration given by then ([`config`](Self::config),
/// [`protocols`](Self::protocols)): a bad one is answered with the status
/// `ws_tokio::accept` would give (400, 403, 405, 426).
#[derive(Debug)]
pub struct WebSocketUpgrade {
    request: Request<()>,
    config: ServerConfig,
}

/// Why [`WebSocketUpgrade`] could not be extracted: the connection cannot
/// be upgraded (hyper gave no upgrade handle). 426.
#[derive(Debug)]
pub struct WebSocketUpgradeRejection;

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        (
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded to a WebSocket\n",
        )
            .into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or(WebSocketUpgradeRejection)?;
        let mut request = Request::new(());
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        if let Some(protocol) = parts.extensions.get::<hyper::ext::Protocol>() {
            request.extensions_mut().insert(protocol.clone());
        }
        request.extensions_mut().insert(on_upgrade);
        Ok(WebSocketUpgrade {
            request,
            config: ServerConfig::default(),
        })
    }
}

impl WebSocketUpgrade {
    /// The settings to accept with (subprotocols, origin policy,
    /// permessage-deflate, connection limits). Default:
    /// `ServerConfig::default()`.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The subprotocols we speak, in order of preference.
    pub fn protocols<I: IntoIterator<Item = P>, P: Into<String>>(mut self, protocols: I) -> Self {
        self.config.handshake = self.config.handshake.subprotocols(protocols);
        self
    }

    /// The HTTP version the request came over.
    pub fn http_version(&self) -> Version {
        self.request.version()
    }

    /// The request's head.
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// Checks the request and answers it: the 101 (HTTP/1.1) or 200
    /// (HTTP/2) response, with `on_socket` run on a task of its own with
    /// the socket and the HTTP version once axum hands the connection over;
    /// or the refusal.
    pub fn on_upgrade<F, Fut>(self, on_socket: F) -> Response
    where
        F: FnOnce(WebSocket, Version) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        match self.accept() {
            Ok((response, pending)) => {
                tokio::spawn(async move {
                    let version = pending.http_version();
                    if let Ok(socket) = pending.into_websocket().await {
                        on_socket(socket, version).await;
                    }
                });
                response
            }
            Err(rejected) => rejected.into_response().map(axum::body::Body::new),
        }
    }

    /// Checks the request: the response to return and the socket to be,
    /// for a handler that runs the socket itself.
    ///
    /// # Errors
    ///
    /// [`Rejected`], with the answer to return.
    pub fn accept(mut self) -> Result<(Response, PendingWebSocket), Rejected> {
        let (response, pending) = crate::upgrade(&mut self.request, &self.config)?;
        Ok((response.map(axum::body::Body::new), pending))
    }
}
