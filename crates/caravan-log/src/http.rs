//! A minimal HTTP/1.1 client for node-to-node log calls (witness `add-checkpoint`).
//!
//! Nodes talk plain HTTP on localhost for now; mutual TLS arrives with the exchange
//! issue, and with it a real client. Until then one request per connection with
//! `Connection: close` and a bounded response is all the witness protocol needs, and it
//! keeps a large client library out of the log crate.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest response body accepted (cosignature lines or a size).
pub const MAX_RESPONSE: usize = 64 * 1024;

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The base URL is not `http://host:port[/prefix]`.
    #[error("unsupported URL {0:?}; only http://host:port is supported until mutual TLS")]
    BadUrl(String),
    /// Connecting, sending or receiving failed.
    #[error("HTTP call failed: {0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer is not HTTP/1.1 as expected, or too large.
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
}

/// POSTs `body` to `base_url` + `path` and reads the whole response.
pub async fn post(
    base_url: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, HttpError> {
    let rest = base_url
        .strip_prefix("http://")
        .ok_or_else(|| HttpError::BadUrl(base_url.to_owned()))?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(HttpError::BadUrl(base_url.to_owned()));
    }
    let target = format!("{}{path}", prefix.trim_end_matches('/'));
    let call = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut raw = Vec::new();
        (&mut stream)
            .take(MAX_RESPONSE as u64 + 4096)
            .read_to_end(&mut raw)
            .await?;
        parse_response(&raw)
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

fn parse_response(raw: &[u8]) -> Result<Response, HttpError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(HttpError::Malformed("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| HttpError::Malformed("headers"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Malformed("status line"))?;
    let mut content_type = None;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_owned()),
            "content-length" => content_length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let rest = &raw[split + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else {
        match content_length {
            Some(n) if n <= rest.len() => rest[..n].to_vec(),
            Some(_) => return Err(HttpError::Malformed("body shorter than Content-Length")),
            None => rest.to_vec(),
        }
    };
    if body.len() > MAX_RESPONSE {
        return Err(HttpError::Malformed("body too large"));
    }
    Ok(Response {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(HttpError::Malformed("chunk size"))?;
        let size_text =
            std::str::from_utf8(&rest[..end]).map_err(|_| HttpError::Malformed("chunk size"))?;
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
                .map_err(|_| HttpError::Malformed("chunk size"))?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 {
            return Err(HttpError::Malformed("truncated chunk"));
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
