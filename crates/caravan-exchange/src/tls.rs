//! Mutual TLS between nodes (spec §2): the node's own TLS CA and leaf, and the rustls
//! configurations that pin each partner's CA.
//!
//! Why a CA per node and not just a pinned leaf: partners trust the issuing CA from the
//! key manifest, so a node can renew its short-lived leaf without a new onboarding (spec
//! §8.3). The CA and leaf are generated with rcgen at key generation (ECDSA P-256); no
//! OpenSSL anywhere. The server accepts only client certificates that chain to a pinned
//! partner CA (`WebPkiClientVerifier`); afterwards [`PeerIdentity::party`] tells the
//! message handler which partner's CA the presented chain verifies against, so the
//! handler can refuse a message whose `hdr.from` is another party (403). The client pins
//! the partner's CA as its only root, so no public CA can impersonate a partner.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use sha2::{Digest, Sha256};

/// Why TLS material could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("generating TLS certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration (bad certificate or key).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// A pinned CA certificate is not usable.
    #[error("pinned CA of {party} is not a usable trust anchor: {reason}")]
    BadAnchor {
        /// Partner.
        party: String,
        /// Why.
        reason: String,
    },
    /// No partner is registered, so no client could be verified.
    #[error("no partner CA is pinned; mutual TLS needs at least one")]
    NoPartners,
    /// The client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(String),
}

/// A node's TLS material, all DER.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The node's CA certificate (what partners pin).
    pub ca_der: Vec<u8>,
    /// The leaf certificate, CN = party id, SANs = host names; server and client auth.
    pub leaf_der: Vec<u8>,
    /// The leaf's PKCS#8 private key.
    pub leaf_key_pkcs8: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("ca_der_len", &self.ca_der.len())
            .field("leaf_der_len", &self.leaf_der.len())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Generates a CA for `party` and a leaf for `hosts` (DNS names or IP literals).
    pub fn generate(party: &str, hosts: &[String]) -> Result<Self, TlsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.distinguished_name = dn(&format!("{party} Caravan node CA"));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, &ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut leaf_params = CertificateParams::new(hosts.to_vec())?;
        leaf_params.distinguished_name = dn(party);
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;
        Ok(Self {
            ca_der: ca_cert.der().to_vec(),
            leaf_der: leaf.der().to_vec(),
            leaf_key_pkcs8: leaf_key.serialize_der(),
        })
    }

    fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![
            CertificateDer::from(self.leaf_der.clone()),
            CertificateDer::from(self.ca_der.clone()),
        ]
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_pkcs8.clone()))
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "Caravan");
    dn
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(party: &str, ca_der: &[u8], store: &mut RootCertStore) -> Result<(), TlsError> {
    store
        .add(CertificateDer::from(ca_der.to_vec()))
        .map_err(|err| TlsError::BadAnchor {
            party: party.to_owned(),
            reason: err.to_string(),
        })
}

/// A pinned partner CA: party id and CA certificate (DER).
#[derive(Debug, Clone)]
pub struct PinnedCa {
    /// Party id the CA speaks for.
    pub party: String,
    /// CA certificate.
    pub ca_der: Vec<u8>,
}

/// The server side: TLS 1.3 only, client certificates required and verified against the
/// pinned partner CAs.
pub fn server_config(
    own: &TlsIdentity,
    partners: &[PinnedCa],
) -> Result<rustls::ServerConfig, TlsError> {
    if partners.is_empty() {
        return Err(TlsError::NoPartners);
    }
    let mut store = RootCertStore::empty();
    for p in partners {
        roots(&p.party, &p.ca_der, &mut store)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider())
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(own.chain(), own.key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The client side towards one partner: its CA is the only root; our leaf authenticates us.
pub fn client_config(
    own: &TlsIdentity,
    partner: &PinnedCa,
) -> Result<rustls::ClientConfig, TlsError> {
    let mut store = RootCertStore::empty();
    roots(&partner.party, &partner.ca_der, &mut store)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(store)
        .with_client_auth_cert(own.chain(), own.key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Which partners a presented client chain verifies against, one verifier per pinned CA.
///
/// A chain that verified is remembered for [`PeerIdentity::REMEMBER`]: every message on
/// a connection presents the same chain, and building and checking it again (webpki, an
/// ECDSA verification per certificate) cost a twentieth of a message's CPU. The memory
/// belongs to this set of pinned CAs: a partner change builds a new `PeerIdentity`, so
/// a replaced CA never inherits a verdict. The TLS handshake itself checks the chain,
/// expiry included, for every new connection.
#[derive(Clone)]
pub struct PeerIdentity {
    verifiers: Vec<(String, Arc<dyn ClientCertVerifier>)>,
    verified: Arc<std::sync::Mutex<Remembered>>,
}

/// Verified chains: (party, SHA-256 of the chain) → verified until.
type Remembered = HashMap<(String, [u8; 32]), Instant>;

impl std::fmt::Debug for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parties: Vec<&str> = self.verifiers.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("PeerIdentity")
            .field("parties", &parties)
            .finish()
    }
}

impl PeerIdentity {
    /// One verifier per pinned partner CA.
    pub fn new(partners: &[PinnedCa]) -> Result<Self, TlsError> {
        let mut verifiers = Vec::new();
        for p in partners {
            let mut store = RootCertStore::empty();
            roots(&p.party, &p.ca_der, &mut store)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider())
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
            verifiers.push((p.party.clone(), verifier));
        }
        Ok(Self {
            verifiers,
            verified: Arc::default(),
        })
    }

    /// How long a verified chain is taken as verified again without checking.
    pub const REMEMBER: Duration = Duration::from_secs(60);

    /// Most chains remembered; past this the memory starts afresh.
    const REMEMBER_AT_MOST: usize = 1024;

    /// Whether the peer's chain (end entity first) verifies against `party`'s pinned CA.
    pub fn is(&self, party: &str, chain: &[CertificateDer<'static>]) -> bool {
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return false;
        };
        let mut digest = Sha256::new();
        for cert in chain {
            digest.update((cert.len() as u64).to_be_bytes());
            digest.update(cert.as_ref());
        }
        let key = (party.to_owned(), <[u8; 32]>::from(digest.finalize()));
        let now = Instant::now();
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if verified.get(&key).is_some_and(|until| *until > now) {
            return true;
        }
        let ok = self
            .verifiers
            .iter()
            .filter(|(p, _)| p == party)
            .any(|(_, v)| {
                v.verify_client_cert(end_entity, intermediates, UnixTime::now())
                    .is_ok()
            });
        if ok {
            if verified.len() >= Self::REMEMBER_AT_MOST {
                verified.clear();
            }
            verified.insert(key, now + Self::REMEMBER);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_recognised_only_under_its_own_partners_ca() {
        let us = TlsIdentity::generate("US-CBP", &["localhost".into()]).unwrap();
        let uz = TlsIdentity::generate("UZ-CUSTOMS", &["localhost".into()]).unwrap();
        let ids = PeerIdentity::new(&[
            PinnedCa {
                party: "US-CBP".into(),
                ca_der: us.ca_der.clone(),
            },
            PinnedCa {
                party: "UZ-CUSTOMS".into(),
                ca_der: uz.ca_der.clone(),
            },
        ])
        .unwrap();
        assert!(ids.is("US-CBP", &us.chain()));
        assert!(!ids.is("UZ-CUSTOMS", &us.chain()));
        assert!(ids.is("UZ-CUSTOMS", &uz.chain()));
        assert!(!ids.is("XX", &uz.chain()));
        assert!(!ids.is("US-CBP", &[]));
        // A leaf self-issued by an attacker under the same names does not pass.
        let fake = TlsIdentity::generate("US-CBP", &["localhost".into()]).unwrap();
        assert!(!ids.is("US-CBP", &fake.chain()));
        // Asked again (now from memory), every verdict is the same: a chain remembered
        // for one party says nothing about another, and a refusal is not remembered.
        assert!(ids.is("US-CBP", &us.chain()));
        assert!(!ids.is("UZ-CUSTOMS", &us.chain()));
        assert!(!ids.is("US-CBP", &fake.chain()));
        // A new set of pinned CAs (a partner's CA replaced) remembers nothing.
        let replaced = PeerIdentity::new(&[PinnedCa {
            party: "US-CBP".into(),
            ca_der: fake.ca_der.clone(),
        }])
        .unwrap();
        assert!(!replaced.is("US-CBP", &us.chain()));
        assert!(replaced.is("US-CBP", &fake.chain()));
    }

    #[test]
    fn server_needs_a_partner() {
        let us = TlsIdentity::generate("US-CBP", &["localhost".into()]).unwrap();
        assert!(matches!(server_config(&us, &[]), Err(TlsError::NoPartners)));
        assert!(matches!(
            server_config(
                &us,
                &[PinnedCa {
                    party: "X".into(),
                    ca_der: vec![1, 2, 3]
                }]
            ),
            Err(TlsError::BadAnchor { .. })
        ));
    }
}
