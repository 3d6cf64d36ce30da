//! The partner registry end to end over a real (in-memory SQLite) store: onboarding only
//! with the right root fingerprint, rotations only when signed by the pinned root and
//! newer, the assurance gate, and which sender key verifies a message created when.
//! The two-node exchange over mutual TLS is tested in `caravan-testkit` (it needs the
//! HTTP routes of `caravan-web`).

mod group;

use std::sync::Arc;

use caravan_envelope::{KeyRefusal, Party, SenderKeys};
use caravan_exchange::identity::{NodeIdentity, Purpose};
use caravan_exchange::partner::{GateRefusal, Registry, RegistryError};
use caravan_store_sqlite::SqliteStore;

const T0: u64 = 1_800_000_000_000;
const HOUR: u64 = 3_600_000;

fn uz(dir: &std::path::Path) -> NodeIdentity {
    NodeIdentity::load_or_generate(dir, "UZ-CUSTOMS", &["localhost".into()], T0).unwrap()
}

fn manifest(id: &NodeIdentity, at: u64) -> Vec<u8> {
    id.signed_manifest(&id.manifest("https://localhost:9443", at, None))
}

#[test]
fn onboarding_rotation_gate_and_sender_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let registry = Registry::load(store.clone(), "us-uz").unwrap();
    let mut partner = uz(dir.path());
    let first = manifest(&partner, T0);

    // The wrong fingerprint (a man in the middle's manifest) is refused; nothing stored.
    assert!(matches!(
        registry.onboard(&first, "0000 1111", "UZ Customs", T0),
        Err(RegistryError::Manifest(_))
    ));
    assert!(registry.all().is_empty());
    registry
        .onboard(&first, &partner.root_fingerprint(), "UZ Customs", T0)
        .unwrap();
    // Durable: a fresh registry over the same store sees it.
    let reloaded = Registry::load(store.clone(), "us-uz").unwrap();
    assert_eq!(reloaded.get("UZ-CUSTOMS").unwrap().manifest_version, 1);
    assert!(
        Registry::load(store.clone(), "other-agreement")
            .unwrap()
            .all()
            .is_empty()
    );

    let old_kid = partner.signing_key_at(T0).unwrap().kid();
    let from = Party::new("caravan:admin", "UZ-CUSTOMS");
    assert!(registry.verifying_key(&from, &old_kid, T0 + 1).is_ok());
    assert_eq!(
        registry.verifying_key(&from, &old_kid, T0 - 1).unwrap_err(),
        KeyRefusal::NotYetValid
    );
    assert_eq!(
        registry
            .verifying_key(&Party::new("caravan:admin", "XX"), &old_kid, T0)
            .unwrap_err(),
        KeyRefusal::UnknownSender
    );

    // Rotation: the new key takes over after a one-hour overlap.
    let new_kid = partner.rotate(Purpose::Signing, T0, HOUR).unwrap();
    let second = manifest(&partner, T0);
    registry.update_keys("UZ-CUSTOMS", &second, T0).unwrap();
    assert_eq!(
        registry
            .verifying_key(&from, &old_kid, T0 + 2 * HOUR)
            .unwrap_err(),
        KeyRefusal::RotatedOut
    );
    assert!(
        registry
            .verifying_key(&from, &old_kid, T0 + HOUR - 1)
            .is_ok()
    );
    assert!(registry.verifying_key(&from, &new_kid, T0 + HOUR).is_ok());
    // The same manifest again is stale; one signed by another root is refused.
    assert!(matches!(
        registry.update_keys("UZ-CUSTOMS", &second, T0),
        Err(RegistryError::StaleManifest { .. })
    ));
    let other = tempfile::tempdir().unwrap();
    let mut mallory = uz(other.path());
    mallory.rotate(Purpose::Signing, T0, 0).unwrap();
    mallory.rotate(Purpose::Signing, T0, 0).unwrap();
    assert!(matches!(
        registry.update_keys("UZ-CUSTOMS", &manifest(&mallory, T0), T0),
        Err(RegistryError::Manifest(_))
    ));
    // Revocation.
    partner
        .revoke(Purpose::Signing, &new_kid, T0 + 3 * HOUR)
        .unwrap();
    registry
        .update_keys("UZ-CUSTOMS", &manifest(&partner, T0), T0)
        .unwrap();
    assert_eq!(
        registry
            .verifying_key(&from, &new_kid, T0 + 3 * HOUR)
            .unwrap_err(),
        KeyRefusal::Revoked
    );
    assert!(
        registry
            .verifying_key(&from, &new_kid, T0 + 2 * HOUR)
            .is_ok()
    );

    // The assurance gate.
    assert!(registry.may_send("UZ-CUSTOMS", "Bulk.Batch").is_ok());
    registry
        .set_assurance("UZ-CUSTOMS", "under_review", T0)
        .unwrap();
    assert!(matches!(
        registry.may_send("UZ-CUSTOMS", "Bulk.Batch"),
        Err(GateRefusal::UnderReview { .. })
    ));
    assert!(
        registry
            .may_send("UZ-CUSTOMS", "Spontaneous.Inform")
            .is_ok()
    );
    registry
        .set_assurance("UZ-CUSTOMS", "violated", T0)
        .unwrap();
    for blocked in ["Bulk.Batch", "Spontaneous.Inform", "Request.Reply"] {
        let refusal = registry.may_send("UZ-CUSTOMS", blocked).unwrap_err();
        assert_eq!(refusal.code(), "assurance_violated", "{blocked}");
    }
    for allowed in ["Request.Submit", "Data.Retract", "Data.Erase"] {
        assert!(
            registry.may_send("UZ-CUSTOMS", allowed).is_ok(),
            "{allowed}"
        );
    }
    assert!(matches!(
        registry.set_assurance("UZ-CUSTOMS", "fine", T0),
        Err(RegistryError::BadState(..))
    ));
    registry
        .set_assurance("UZ-CUSTOMS", "good_standing", T0)
        .unwrap();
    registry.set_status("UZ-CUSTOMS", "suspended", T0).unwrap();
    assert_eq!(
        registry
            .may_send("UZ-CUSTOMS", "Bulk.Batch")
            .unwrap_err()
            .code(),
        "partner_suspended"
    );
    assert_eq!(
        registry.may_send("KZ", "Bulk.Batch").unwrap_err().code(),
        "unknown_partner"
    );
    // The gate state is durable too.
    let reloaded = Registry::load(store, "us-uz").unwrap();
    assert_eq!(reloaded.get("UZ-CUSTOMS").unwrap().status, "suspended");
}
