//! The header both examples seal: UZ customs informing US CBP, as in the demo corridor.
//! Shared by `#[path]` so the fuzz seeds and the benchmark measure the same message.

use caravan_envelope::{EncryptionSecretKey, Header, Party};

/// A UZ → US `Spontaneous.Inform` header addressed to `recipient`'s encryption key.
pub(crate) fn demo_header(recipient: &EncryptionSecretKey) -> Header {
    Header {
        message_id: "0190f6c2-7d1e-7000-8000-000000000001@caravan.customs.uz".into(),
        conversation_id: "case-1".into(),
        ref_to: None,
        from: Party::new("caravan:admin", "UZ-CUSTOMS"),
        to: Party::new("caravan:admin", "US-CBP"),
        role: "informing".into(),
        service: "caravan:cmaa/v1".into(),
        action: "Spontaneous.Inform".into(),
        agreement_id: "us-uz-cmaa-2024".into(),
        profile_id: "us-uz-v1".into(),
        created_at: 1_790_000_000_000,
        expires_at: None,
        enc_kid: recipient.kid(),
    }
}
