//! Node-to-node exchange between customs administrations (spec exchange-and-log §1–§9):
//! the channel over which everything in a mutual-assistance agreement travels.
//!
//! Why a crate of its own: the envelope (`caravan-envelope`) says what the bytes are and
//! is pure; this crate owns every side effect of moving them — keys on disk, the partner
//! registry in the store, mutual TLS, the durable outbox and inbox, the log entries each
//! side writes and the receipts. It knows the store only through
//! `caravan_store::exchange::ExchangeStore` and the log through `caravan_log::LogNode`,
//! and no HTTP router: `caravan-web::exchange` mounts its handlers.
//!
//! - [`identity`]: the node's keys per purpose, rotation, revocation, the signed key
//!   manifest.
//! - [`partner`]: the partner registry, onboarding by manifest and root fingerprint, the
//!   assurance gate, sender keys for verification.
//! - [`parts`]: large parts — sealed from a file into a spool, uploaded in segments,
//!   verified segment by segment before the message is accepted.
//! - [`tls`]: the node's TLS CA and leaf (rcgen) and the rustls configurations that pin
//!   partner CAs.
//! - [`transport`]: the keep-alive mTLS client and the mTLS server loop.
//! - [`retry`]: the profile's retry schedule with jitter and horizon.
//! - [`group`]: group commit — concurrent outbox and inbox writes share one transaction.
//! - [`node`]: the engine — `send`, `delivery_state`, the outbox loop, the receiver
//!   procedure, receipts, hand-over to the layers above.

pub mod group;
pub mod identity;
pub mod node;
pub mod partner;
pub mod parts;
pub mod retry;
pub mod tls;
pub mod transport;
