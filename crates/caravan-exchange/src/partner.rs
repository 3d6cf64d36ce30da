//! The partner registry (spec §8.2, assistance.md §1.9): who may send to us, with which
//! keys, over which TLS CA, and whether we may send to them.
//!
//! Why manifests and fingerprints: a partner is onboarded from its signed key manifest,
//! and only if the manifest's root-key fingerprint equals the one read out at the key
//! ceremony; later manifests (rotations, revocations) must be signed by that pinned root
//! and carry a higher version. The registry is durable in the store and cached in memory
//! for the hot path: every received message asks it for the sender's key valid at the
//! message's `created_at` ([`SenderKeys`]), and every send asks the assurance gate.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use caravan_envelope::envelope::SenderKeys;
use caravan_envelope::error::KeyRefusal;
use caravan_envelope::header::Party;
use caravan_envelope::keys::{EncryptionPublicKey, Kid, MessageVerifyingKey};
use caravan_store::StoreError;
use caravan_store::exchange::{ExchangeStore, PartnerKey, PartnerRecord};

use crate::identity::{KeyManifest, ManifestError, fingerprint};
use crate::tls::PinnedCa;

/// The party-id type of an administration's node.
pub const PARTY_TYPE: &str = "caravan:admin";

/// Assurance states (assistance.md §1.9).
pub const ASSURANCE_STATES: [&str; 3] = ["good_standing", "under_review", "violated"];

/// Actions that may still be sent while assurances are violated: requests for
/// information and retraction/erasure messages (assistance.md §1.9).
const ALLOWED_WHILE_VIOLATED: [&str; 3] = ["Request.Submit", "Data.Retract", "Data.Erase"];

/// Actions paused while a partner is under review (bulk feeds).
const PAUSED_UNDER_REVIEW: [&str; 1] = ["Bulk.Batch"];

/// Why a registry operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The manifest is not acceptable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The store failed.
    #[error("partner registry store: {0}")]
    Store(#[from] StoreError),
    /// No such partner.
    #[error("no partner {party} in agreement {agreement}")]
    UnknownPartner {
        /// Agreement.
        agreement: String,
        /// Party.
        party: String,
    },
    /// A rotation manifest is not newer than the stored one.
    #[error("manifest version {offered} of {party} is not newer than the stored {stored}")]
    StaleManifest {
        /// Party.
        party: String,
        /// Offered version.
        offered: u64,
        /// Stored version.
        stored: u64,
    },
    /// A rotation manifest names another party.
    #[error("manifest is for party {got}, not {expected}")]
    WrongParty {
        /// Expected.
        expected: String,
        /// Found.
        got: String,
    },
    /// Not a known assurance state or status.
    #[error("{0:?} is not one of {1}")]
    BadState(String, &'static str),
}

/// Why sending to a partner is blocked now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// Not registered.
    #[error("{0} is not a registered partner")]
    UnknownPartner(String),
    /// Registration suspended.
    #[error("partner {0} is suspended")]
    Suspended(String),
    /// Assurances violated: only requests for information and retraction/erasure pass.
    #[error("partner {party} violated its assurances; {action} may not be sent")]
    AssuranceViolated {
        /// Partner.
        party: String,
        /// Refused action.
        action: String,
    },
    /// Under review: bulk feeds pause.
    #[error("partner {party} is under review; {action} is paused")]
    UnderReview {
        /// Partner.
        party: String,
        /// Refused action.
        action: String,
    },
    /// The partner publishes no encryption key valid now.
    #[error("partner {0} has no encryption key valid now")]
    NoEncryptionKey(String),
}

impl GateRefusal {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            GateRefusal::UnknownPartner(_) => "unknown_partner",
            GateRefusal::Suspended(_) => "partner_suspended",
            GateRefusal::AssuranceViolated { .. } => "assurance_violated",
            GateRefusal::UnderReview { .. } => "assurance_under_review",
            GateRefusal::NoEncryptionKey(_) => "no_partner_encryption_key",
        }
    }
}

/// The partners of one agreement, durable in the store, cached for the hot path.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn ExchangeStore>,
    agreement: String,
    cache: Arc<RwLock<HashMap<String, PartnerRecord>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("agreement", &self.agreement)
            .finish_non_exhaustive()
    }
}

fn decode_b64(what: &str, text: &str) -> Result<Vec<u8>, ManifestError> {
    STANDARD
        .decode(text)
        .map_err(|e| ManifestError::Payload(format!("{what}: {e}")))
}

/// Builds a registration from an opened manifest.
fn record_from(
    agreement: &str,
    name: &str,
    manifest: &KeyManifest,
    status: &str,
    assurance: &str,
    now: u64,
) -> Result<PartnerRecord, ManifestError> {
    let keys = manifest
        .keys
        .iter()
        .map(|k| {
            Ok(PartnerKey {
                purpose: k.purpose.clone(),
                kid: k.kid.clone(),
                public: decode_b64("key", &k.public)?,
                not_before: k.validity.not_before,
                not_after: k.validity.not_after,
                revoked_at: k.validity.revoked_at,
            })
        })
        .collect::<Result<Vec<_>, ManifestError>>()?;
    Ok(PartnerRecord {
        agreement_id: agreement.to_owned(),
        party: manifest.party.clone(),
        name: name.to_owned(),
        endpoint: manifest.endpoint.clone(),
        tls_ca_der: decode_b64("tls_ca", &manifest.tls_ca)?,
        root_key: decode_b64("root_key", &manifest.root_key)?,
        log_vkey: manifest.log.as_ref().map(|l| l.log_vkey.clone()),
        manifest_version: manifest.version,
        status: status.to_owned(),
        assurance: assurance.to_owned(),
        keys,
        updated_at: now,
    })
}

impl Registry {
    /// Loads the registrations of `agreement` from the store.
    pub fn load(store: Arc<dyn ExchangeStore>, agreement: &str) -> Result<Self, StoreError> {
        let registry = Self {
            store,
            agreement: agreement.to_owned(),
            cache: Arc::default(),
        };
        registry.reload()?;
        Ok(registry)
    }

    /// Re-reads the store (after a CLI changed it).
    pub fn reload(&self) -> Result<(), StoreError> {
        let partners: HashMap<String, PartnerRecord> = self
            .store
            .partners()?
            .into_iter()
            .filter(|p| p.agreement_id == self.agreement)
            .map(|p| (p.party.clone(), p))
            .collect();
        if let Ok(mut cache) = self.cache.write() {
            *cache = partners;
        }
        Ok(())
    }

    /// The agreement.
    pub fn agreement(&self) -> &str {
        &self.agreement
    }

    fn put(&self, record: PartnerRecord) -> Result<PartnerRecord, RegistryError> {
        self.store.put_partner(&record)?;
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(record.party.clone(), record.clone());
        }
        Ok(record)
    }

    /// Onboards a partner from its signed manifest, if its root key has the fingerprint
    /// confirmed out of band. Replaces an earlier registration of the same party.
    pub fn onboard(
        &self,
        signed_manifest: &[u8],
        root_fingerprint: &str,
        name: &str,
        now: u64,
    ) -> Result<PartnerRecord, RegistryError> {
        let (manifest, _) = KeyManifest::open(signed_manifest, None, Some(root_fingerprint))?;
        let record = record_from(
            &self.agreement,
            name,
            &manifest,
            "active",
            "good_standing",
            now,
        )?;
        self.put(record)
    }

    /// Applies a newer manifest of a registered partner (rotation or revocation): it must
    /// be signed by the pinned root key and have a higher version.
    pub fn update_keys(
        &self,
        party: &str,
        signed_manifest: &[u8],
        now: u64,
    ) -> Result<PartnerRecord, RegistryError> {
        let stored = self.get(party)?;
        let (manifest, _) = KeyManifest::open(signed_manifest, Some(&stored.root_key), None)?;
        if manifest.party != party {
            return Err(RegistryError::WrongParty {
                expected: party.to_owned(),
                got: manifest.party,
            });
        }
        if manifest.version <= stored.manifest_version {
            return Err(RegistryError::StaleManifest {
                party: party.to_owned(),
                offered: manifest.version,
                stored: stored.manifest_version,
            });
        }
        let record = record_from(
            &self.agreement,
            &stored.name,
            &manifest,
            &stored.status,
            &stored.assurance,
            now,
        )?;
        self.put(record)
    }

    /// Sets the assurance state (`good_standing`, `under_review`, `violated`).
    pub fn set_assurance(
        &self,
        party: &str,
        state: &str,
        now: u64,
    ) -> Result<PartnerRecord, RegistryError> {
        if !ASSURANCE_STATES.contains(&state) {
            return Err(RegistryError::BadState(
                state.to_owned(),
                "good_standing, under_review, violated",
            ));
        }
        let mut record = self.get(party)?;
        record.assurance = state.to_owned();
        record.updated_at = now;
        self.put(record)
    }

    /// Sets the registration status (`active`, `suspended`).
    pub fn set_status(
        &self,
        party: &str,
        status: &str,
        now: u64,
    ) -> Result<PartnerRecord, RegistryError> {
        if !["active", "suspended"].contains(&status) {
            return Err(RegistryError::BadState(
                status.to_owned(),
                "active, suspended",
            ));
        }
        let mut record = self.get(party)?;
        record.status = status.to_owned();
        record.updated_at = now;
        self.put(record)
    }

    /// One registration.
    pub fn get(&self, party: &str) -> Result<PartnerRecord, RegistryError> {
        self.cache
            .read()
            .ok()
            .and_then(|c| c.get(party).cloned())
            .ok_or_else(|| RegistryError::UnknownPartner {
                agreement: self.agreement.clone(),
                party: party.to_owned(),
            })
    }

    /// Every registration of the agreement, by party.
    pub fn all(&self) -> Vec<PartnerRecord> {
        let mut all: Vec<PartnerRecord> = self
            .cache
            .read()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.party.cmp(&b.party));
        all
    }

    /// The pinned TLS CAs of every active partner.
    pub fn pinned_cas(&self) -> Vec<PinnedCa> {
        self.all()
            .into_iter()
            .map(|p| PinnedCa {
                party: p.party,
                ca_der: p.tls_ca_der,
            })
            .collect()
    }

    /// The assurance gate and registration status for sending `action` to `party`.
    pub fn may_send(&self, party: &str, action: &str) -> Result<PartnerRecord, GateRefusal> {
        let partner = self
            .get(party)
            .map_err(|_| GateRefusal::UnknownPartner(party.to_owned()))?;
        if partner.status != "active" {
            return Err(GateRefusal::Suspended(party.to_owned()));
        }
        match partner.assurance.as_str() {
            "good_standing" => Ok(partner),
            "under_review" if !PAUSED_UNDER_REVIEW.contains(&action) => Ok(partner),
            "under_review" => Err(GateRefusal::UnderReview {
                party: party.to_owned(),
                action: action.to_owned(),
            }),
            _ if ALLOWED_WHILE_VIOLATED.contains(&action) => Ok(partner),
            _ => Err(GateRefusal::AssuranceViolated {
                party: party.to_owned(),
                action: action.to_owned(),
            }),
        }
    }

    /// The partner's encryption key to seal to at `now`: the newest valid at `now`.
    pub fn encryption_key(
        &self,
        partner: &PartnerRecord,
        now: u64,
    ) -> Result<EncryptionPublicKey, GateRefusal> {
        partner
            .keys
            .iter()
            .filter(|k| k.purpose == "encryption" && covers(k, now))
            .max_by_key(|k| k.not_before)
            .and_then(|k| EncryptionPublicKey::from_bytes(&k.public).ok())
            .ok_or_else(|| GateRefusal::NoEncryptionKey(partner.party.clone()))
    }

    /// The partner's signing key `kid` valid at `at` (receipts are checked with it).
    pub fn signing_key(
        &self,
        party: &str,
        kid: &Kid,
        at: u64,
    ) -> Result<MessageVerifyingKey, KeyRefusal> {
        let partner = self.get(party).map_err(|_| KeyRefusal::UnknownSender)?;
        let key = partner
            .keys
            .iter()
            .find(|k| k.purpose == "signing" && k.kid == kid.to_string())
            .ok_or(KeyRefusal::UnknownKey)?;
        if key.revoked_at.is_some_and(|r| at >= r) {
            return Err(KeyRefusal::Revoked);
        }
        if key.not_after.is_some_and(|end| at >= end) {
            return Err(KeyRefusal::RotatedOut);
        }
        if at < key.not_before {
            return Err(KeyRefusal::NotYetValid);
        }
        MessageVerifyingKey::from_bytes(&key.public).map_err(|_| KeyRefusal::UnknownKey)
    }

    /// Key fingerprints of a registration, for out-of-band comparison.
    pub fn fingerprints(partner: &PartnerRecord) -> Vec<(String, String)> {
        let mut out = vec![("root".to_owned(), fingerprint(&partner.root_key))];
        out.push(("tls-ca".to_owned(), fingerprint(&partner.tls_ca_der)));
        for k in &partner.keys {
            out.push((format!("{} {}", k.purpose, k.kid), fingerprint(&k.public)));
        }
        out
    }
}

fn covers(k: &PartnerKey, t: u64) -> bool {
    t >= k.not_before && k.not_after.is_none_or(|e| t < e) && k.revoked_at.is_none_or(|r| t < r)
}

impl SenderKeys for Registry {
    fn verifying_key(
        &self,
        party: &Party,
        kid: &Kid,
        created_at: u64,
    ) -> Result<MessageVerifyingKey, KeyRefusal> {
        if party.kind != PARTY_TYPE {
            return Err(KeyRefusal::UnknownSender);
        }
        self.signing_key(&party.id, kid, created_at)
    }
}
