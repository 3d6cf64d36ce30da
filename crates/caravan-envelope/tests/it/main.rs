//! Integration tests of the envelope crate through its public API only: one binary, one
//! module per concern, shared fixtures here.

mod bad_input;
mod properties;
mod receipts;
mod round_trip;

use caravan_envelope::{
    EncryptionSecretKey, EnvelopeError, Header, KeyRefusal, Kid, Limits, MessageSigningKey,
    MessageVerifyingKey, Opened, Party, SenderKeys, WireView, open,
};

/// One node's two message keys and its party.
pub(crate) struct Node {
    pub(crate) signing: MessageSigningKey,
    pub(crate) encryption: EncryptionSecretKey,
    pub(crate) party: Party,
}

/// The Uzbek customs node (the demo's sender).
pub(crate) fn uz() -> Node {
    Node {
        signing: MessageSigningKey::from_bytes(&[1; 32]),
        encryption: EncryptionSecretKey::from_bytes(&[2; 32]),
        party: Party::new("caravan:admin", "UZ-CUSTOMS"),
    }
}

/// The US CBP node (the demo's receiver).
pub(crate) fn us() -> Node {
    Node {
        signing: MessageSigningKey::from_bytes(&[3; 32]),
        encryption: EncryptionSecretKey::from_bytes(&[4; 32]),
        party: Party::new("caravan:admin", "US-CBP"),
    }
}

/// 2026-09-21T00:00:00Z in Unix ms, the tests' "now".
pub(crate) const NOW: u64 = 1_790_000_000_000;

pub(crate) fn header(from: &Node, to: &Node, message: u32) -> Header {
    Header {
        message_id: format!("0190f6c2-7d1e-7000-8000-{message:012}@caravan.customs.uz"),
        conversation_id: "case-2026-0042".into(),
        ref_to: None,
        from: from.party.clone(),
        to: to.party.clone(),
        role: "informing".into(),
        service: "caravan:cmaa/v1".into(),
        action: "Spontaneous.Inform".into(),
        agreement_id: "us-uz-cmaa-2024".into(),
        profile_id: "us-uz-v1".into(),
        created_at: NOW,
        expires_at: None,
        enc_kid: to.encryption.kid(),
    }
}

/// How the registry regards a key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Valid,
    Revoked,
    RotatedOut,
    NotYetValid,
}

/// A partner registry in miniature: (party, key, status).
pub(crate) struct Registry(pub(crate) Vec<(Party, MessageVerifyingKey, Status)>);

impl Registry {
    pub(crate) fn knowing(node: &Node) -> Registry {
        Registry(vec![(
            node.party.clone(),
            node.signing.verifying_key(),
            Status::Valid,
        )])
    }
}

impl SenderKeys for Registry {
    fn verifying_key(
        &self,
        party: &Party,
        kid: &Kid,
        _created_at: u64,
    ) -> Result<MessageVerifyingKey, KeyRefusal> {
        let mut keys = self.0.iter().filter(|(p, _, _)| p == party).peekable();
        if keys.peek().is_none() {
            return Err(KeyRefusal::UnknownSender);
        }
        let (_, key, status) = keys
            .find(|(_, k, _)| k.kid() == *kid)
            .ok_or(KeyRefusal::UnknownKey)?;
        match status {
            Status::Valid => Ok(*key),
            Status::Revoked => Err(KeyRefusal::Revoked),
            Status::RotatedOut => Err(KeyRefusal::RotatedOut),
            Status::NotYetValid => Err(KeyRefusal::NotYetValid),
        }
    }
}

/// Decode and open as a receiver would.
pub(crate) fn receive(
    wire: &[u8],
    to: &Node,
    senders: &dyn SenderKeys,
) -> Result<Opened, EnvelopeError> {
    let view = WireView::decode(wire, &Limits::default())?;
    open(&view, &to.encryption, senders)
}
