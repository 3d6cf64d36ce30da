//! The node side of mutual assistance: the pure rules of `caravan-assistance` applied to the
//! store and the exchange.
//!
//! Why a crate between the pure core and the edges: the CLI, the JSON API, the pages and the
//! demo all do the same things — create a request, send it, acknowledge it, reply with
//! evidence, ask for and grant consent — and each of those is several steps that must happen
//! together: check the officer's role, apply the state machine, write the case, its history,
//! the message to the partner and the audit row in one store transaction, then hand the
//! message to the exchange. [`service::AssistanceNode`] is that sequence, once. The edges only
//! translate input and output.
//!
//! Two promises shape it:
//! - **One transaction per user action.** Every change goes through
//!   `AssistanceStore::commit_assistance` with its audit event; a refusal writes nothing but
//!   its own audit row, with a stable code.
//! - **No lost message.** An outbound message is first a `queued` row written with the case
//!   change, then handed to the exchange's durable outbox ([`service::AssistanceNode::pump`]);
//!   an inbound message is applied and recorded under its workflow id before the exchange
//!   inbox row is acknowledged, so a crash in between re-delivers it and the duplicate is
//!   recognised rather than applied twice.
//!
//! Evidence files are stored encrypted at rest in segments ([`at_rest::EvidenceVault`]:
//! AES-256-GCM under a per-file key derived from the node's [`crypto::EvidenceKey`], bound to
//! their evidence id), and travel to the partner as detached parts of the exchange, so a
//! file of hundreds of MB is never whole in memory.

pub mod approval;
pub mod at_rest;
pub mod bulk;
pub mod crypto;
pub mod directory;
pub mod disclosure;
pub mod error;
pub mod feedback;
pub mod governance_story;
pub mod hitnohit;
pub mod inbound;
pub mod marking_change;
pub mod oral;
pub mod originals;
pub mod retention;
pub mod runtime;
pub mod service;
pub mod story;
pub mod views;
pub mod wire;
pub mod wire_story;
