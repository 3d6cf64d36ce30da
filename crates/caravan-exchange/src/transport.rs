//! HTTPS with mutual TLS between nodes (spec §2): a keep-alive client per partner and a
//! server loop that hands each request the peer's verified certificate chain.
//!
//! Why hand-rolled on hyper rather than a client library: the client must pin one CA per
//! partner and present our certificate, and the server must tell the handler which chain
//! the peer presented so `hdr.from` can be checked against it; both are a few lines over
//! `tokio-rustls` and hyper's connection API, which axum already brings in. Connections
//! are kept alive and reused (the witness protocol asks for that too).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Largest response body a client accepts (receipts and signed errors are small).
pub const MAX_RESPONSE: usize = 1 << 20;

/// Why a call did not produce an HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The endpoint is not `https://host:port[/]`.
    #[error("endpoint {0:?} is not https://host:port")]
    BadEndpoint(String),
    /// Connecting or the TLS handshake failed (partner offline, wrong CA, …).
    #[error("connect to {endpoint}: {reason}")]
    Connect {
        /// Endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The exchange broke off.
    #[error("HTTP exchange with {endpoint}: {reason}")]
    Http {
        /// Endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// No answer in time.
    #[error("no answer from {0} within the timeout")]
    Timeout(String),
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status.
    pub status: u16,
    /// Body.
    pub body: Bytes,
}

/// The peer's certificate chain, as a request extension on the server side.
#[derive(Debug, Clone)]
pub struct PeerChain(pub Arc<Vec<CertificateDer<'static>>>);

/// A keep-alive mTLS client towards one partner.
pub struct PartnerClient {
    endpoint: String,
    host: String,
    server_name: ServerName<'static>,
    connector: TlsConnector,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    timeout: Duration,
}

impl std::fmt::Debug for PartnerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Splits `https://host:port[/]` into (`host:port`, `host`).
pub fn parse_endpoint(endpoint: &str) -> Result<(String, String), TransportError> {
    let bad = || TransportError::BadEndpoint(endpoint.to_owned());
    let rest = endpoint.strip_prefix("https://").ok_or_else(bad)?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(bad());
    }
    let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
    port.parse::<u16>().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((authority.to_owned(), host.to_owned()))
}

impl PartnerClient {
    /// A client for `endpoint` with the partner-pinned TLS configuration.
    pub fn new(
        endpoint: &str,
        config: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let (authority, host) = parse_endpoint(endpoint)?;
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| TransportError::BadEndpoint(endpoint.to_owned()))?;
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            host: authority,
            server_name,
            connector: TlsConnector::from(Arc::new(config)),
            idle: Mutex::new(Vec::new()),
            timeout,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let err = |reason: String| TransportError::Connect {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let tcp = TcpStream::connect(&self.host)
            .await
            .map_err(|e| err(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| err(format!("TLS: {e}")))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| err(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request and reads the whole (bounded) response.
    pub async fn call(
        &self,
        method: hyper::Method,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<Response, TransportError> {
        let exchange = async {
            let http = |reason: String| TransportError::Http {
                endpoint: self.endpoint.clone(),
                reason,
            };
            let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut sender = match pooled {
                Some(s) if s.is_ready() => s,
                _ => self.connect().await?,
            };
            let request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, &self.host)
                .header(hyper::header::CONTENT_TYPE, content_type)
                .body(Full::new(body))
                .map_err(|e| http(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| http(e.to_string()))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| http(e.to_string()))?
                .to_bytes();
            if sender.is_ready()
                && let Ok(mut idle) = self.idle.lock()
            {
                idle.push(sender);
            }
            Ok(Response { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout(self.endpoint.clone()))?
    }
}

/// Serves `router` over mutual TLS on `listener` until `shutdown` resolves. Each request
/// carries the peer's chain as a [`PeerChain`] extension. A client without a certificate
/// chaining to a pinned partner CA fails the handshake and never reaches the router.
pub async fn serve_mtls(
    listener: tokio::net::TcpListener,
    config: rustls::ServerConfig,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let _ = tcp.set_nodelay(true);
            let handshake =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await;
            let tls = match handshake {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::warn!(%peer, code = "tls_client_rejected", error = %err, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::warn!(%peer, code = "tls_handshake_timeout", "TLS handshake timed out");
                    return;
                }
            };
            let chain: Vec<CertificateDer<'static>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            serve_connection(tls, router, PeerChain(Arc::new(chain)), peer, &mut stopped).await;
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    router: Router,
    chain: PeerChain,
    peer: SocketAddr,
    stopped: &mut tokio::sync::watch::Receiver<bool>,
) {
    let service =
        hyper_util::service::TowerToHyperService::new(router.layer(axum::Extension(chain)));
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended");
            }
        }
        () = async { let _ = stopped.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_strictly() {
        assert_eq!(
            parse_endpoint("https://localhost:8443/").unwrap(),
            ("localhost:8443".into(), "localhost".into())
        );
        assert_eq!(
            parse_endpoint("https://127.0.0.1:1").unwrap().1,
            "127.0.0.1"
        );
        for bad in [
            "http://localhost:1",
            "https://localhost",
            "https://:1",
            "https://h:99999",
            "https://h:1/path",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
