//! Response bodies streamed from a blocking reader: an evidence file of hundreds of MB is
//! decrypted from the vault one segment at a time on a blocking thread and sent as it is
//! read, never whole in memory.
//!
//! Why a channel: the vault's reader is blocking file IO and AES-GCM; a blocking thread reads
//! chunks and a bounded channel hands them to the response, so a slow client holds back the
//! reader (at most [`CHUNKS_IN_FLIGHT`] chunks wait) instead of filling memory. A segment that
//! fails authentication mid-stream ends the body with an error: the client sees a body shorter
//! than its `Content-Length`, never bytes that did not authenticate. (Downloads read the whole
//! file through once before the response starts, so this only happens if the file changes
//! between the two reads.)

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use caravan_assistance_node::at_rest::EvidenceContent;
use hyper::body::Frame;
use tokio::sync::mpsc;

/// Bytes per chunk sent.
const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the client.
const CHUNKS_IN_FLIGHT: usize = 4;

struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// A body that streams `content` decrypted from the vault.
pub(crate) fn evidence_body(content: EvidenceContent) -> Body {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut reader = match content.reader() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(code = e.code, error = %e.message, "evidence stream");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.code)));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            let result = loop {
                match reader.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == CHUNK {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "evidence stream ended early");
                let _ = tx.blocking_send(Err(e));
                return;
            }
            if filled == 0 {
                return;
            }
            buf.truncate(filled);
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                // The client went away.
                return;
            }
            if filled < CHUNK {
                return;
            }
        }
    });
    Body::new(ChannelBody { rx })
}

/// The other direction: a request body read on a blocking thread as a `Read`, chunk by
/// chunk as it arrives, so an upload streams into the vault. The async side forwards each
/// frame through a bounded channel (a slow disk holds back the client).
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

impl BodyReader {
    /// A reader, and the task that feeds it from `body` (run it beside the blocking reader).
    pub(crate) fn new(body: Body) -> (BodyReader, impl Future<Output = ()> + Send) {
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let feed = async move {
            let mut body = body;
            loop {
                let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                let item = match frame {
                    None => return,
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => Ok(data),
                        Err(_) => continue, // trailers carry no content
                    },
                    Some(Err(e)) => Err(std::io::Error::other(format!("request body: {e}"))),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        };
        (
            BodyReader {
                rx,
                current: Bytes::new(),
            },
            feed,
        )
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
