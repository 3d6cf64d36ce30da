//! Parts sealed segment by segment with the STREAM construction (spec §4.3, §7).
//!
//! Evidence files run to hundreds of megabytes and must never be held whole in memory, so
//! every part, inline or uploaded, is cut into 1 MiB plaintext segments sealed with
//! AES-128-GCM under a per-part key exported from the message's HPKE context. The nonce
//! is an 11-byte big-endian segment counter followed by a last-segment flag, as in age:
//! reordering changes the counter, dropping the tail leaves no flagged segment, and
//! appending after the flagged one has no valid nonce, so all three fail authentication.
//! The `aad` of every segment is `SHA-256(hdr) || part_id`, binding the part to its
//! message and its name. `PartSealer`/`PartOpener` work over `Read`/`Write` with two
//! segment buffers, so memory stays flat whatever the part size.
//!
//! Non-final segments are exactly [`SEGMENT_LEN`] bytes of plaintext and the final one is
//! 1..=`SEGMENT_LEN` bytes, except an empty part, which is one empty final segment. So a
//! plaintext has exactly one ciphertext length ([`ciphertext_len`]).

use std::io::{Read, Write};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::EnvelopeError;
use crate::header::PartInfo;
use crate::hpke::{self, TAG_LEN};

/// Plaintext bytes per segment (spec §3.1: 1 MiB).
pub const SEGMENT_LEN: usize = 1 << 20;
/// Ciphertext bytes of a full segment.
pub const SEGMENT_CT_LEN: usize = SEGMENT_LEN + TAG_LEN;

/// Number of segments for a plaintext of `length` bytes.
pub fn segment_count(length: u64) -> u64 {
    length.div_ceil(SEGMENT_LEN as u64).max(1)
}

/// Ciphertext length of a plaintext of `length` bytes.
pub fn ciphertext_len(length: u64) -> u64 {
    length + segment_count(length) * TAG_LEN as u64
}

/// A `part_ref` (the SHA-256 of a detached part's ciphertext, which names its segment
/// uploads `PUT /caravan/v1/parts/{part_ref}/{n}`, spec §7) from its 64-character
/// lower-case hex form; `None` for anything else, so one part has one address.
pub fn parse_part_ref(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// The exporter context for a part key: `"caravan/v1 part" || part_id`.
fn exporter_context(part_id: &str) -> Vec<u8> {
    let mut context = b"caravan/v1 part".to_vec();
    context.extend_from_slice(part_id.as_bytes());
    context
}

/// A part's key and associated data: `K = Export("caravan/v1 part" || part_id, 16)` and
/// `aad = SHA-256(hdr) || part_id`.
#[derive(Clone)]
pub struct PartKey {
    part_id: String,
    key: Zeroizing<[u8; 16]>,
    aad: Vec<u8>,
}

impl std::fmt::Debug for PartKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartKey({}, key redacted)", self.part_id)
    }
}

impl PartKey {
    pub(crate) fn derive(context: &hpke::Context, hdr_sha256: &[u8; 32], part_id: &str) -> PartKey {
        let mut key = Zeroizing::new([0u8; 16]);
        context.export(&exporter_context(part_id), key.as_mut());
        let mut aad = hdr_sha256.to_vec();
        aad.extend_from_slice(part_id.as_bytes());
        PartKey {
            part_id: part_id.to_owned(),
            key,
            aad,
        }
    }

    /// The part this key is for.
    pub fn part_id(&self) -> &str {
        &self.part_id
    }

    fn cipher(&self) -> Aes128Gcm {
        Aes128Gcm::new_from_slice(self.key.as_ref()).expect("16-byte AES key")
    }
}

/// `nonce = I2OSP(segment, 11) || last_flag`.
fn segment_nonce(segment: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&segment.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// What sealing or opening a whole part saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSummary {
    /// Plaintext bytes.
    pub length: u64,
    /// SHA-256 of the plaintext.
    pub sha256: [u8; 32],
    /// Ciphertext bytes.
    pub ct_len: u64,
    /// SHA-256 of the whole ciphertext: the `part_ref` of spec §7.
    pub ct_sha256: [u8; 32],
    /// Segments.
    pub segments: u64,
}

fn io_error(e: std::io::Error) -> EnvelopeError {
    EnvelopeError::Io(e.to_string())
}

/// Replaces `buf` with the next (up to) `chunk_len` bytes of `reader`; returns how many.
/// The buffer grows only as far as the data does, so a 1 KiB inline part costs 1 KiB,
/// and keeps its capacity between calls, so a large part reuses one allocation.
fn fill(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    chunk_len: usize,
) -> Result<usize, EnvelopeError> {
    buf.clear();
    reader
        .by_ref()
        .take(chunk_len as u64)
        .read_to_end(buf)
        .map_err(io_error)?;
    // Room for the tag sealing appends, without the doubling `push` would do.
    buf.reserve_exact(TAG_LEN);
    Ok(buf.len())
}

/// Seals a part segment by segment.
pub struct PartSealer {
    key: PartKey,
    cipher: Aes128Gcm,
    next: u64,
    finished: bool,
}

impl PartSealer {
    /// A sealer for the part `key` belongs to.
    pub fn new(key: PartKey) -> PartSealer {
        let cipher = key.cipher();
        PartSealer {
            key,
            cipher,
            next: 0,
            finished: false,
        }
    }

    /// Seals the next segment in place (`buf` grows by the 16-byte tag). Non-final
    /// segments must be exactly [`SEGMENT_LEN`] bytes; the final one must be non-empty
    /// unless it is the only one.
    pub fn seal_segment_in_place(
        &mut self,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), EnvelopeError> {
        let part_id = self.key.part_id.clone();
        let bad = |reason: &str| EnvelopeError::PartMismatch {
            part_id: part_id.clone(),
            reason: reason.to_owned(),
        };
        if self.finished {
            return Err(bad("a segment after the last one"));
        }
        if !last && buf.len() != SEGMENT_LEN {
            return Err(bad(
                "a non-final segment that is not exactly one segment long",
            ));
        }
        if last && (buf.len() > SEGMENT_LEN || (buf.is_empty() && self.next > 0)) {
            return Err(bad(
                "a final segment that is empty or longer than a segment",
            ));
        }
        let nonce = segment_nonce(self.next, last);
        self.cipher
            .encrypt_in_place(Nonce::from_slice(&nonce), &self.key.aad, buf)
            .map_err(|_| bad("segment too long to seal"))?;
        self.next += 1;
        self.finished = last;
        Ok(())
    }

    /// Seals everything `reader` yields into `writer`, one segment in memory at a time.
    pub fn seal_stream(
        mut self,
        reader: impl Read,
        writer: impl Write,
    ) -> Result<PartSummary, EnvelopeError> {
        let pumped = pump(reader, writer, SEGMENT_LEN, |segment, last| {
            self.seal_segment_in_place(segment, last)
        })?;
        Ok(PartSummary {
            length: pumped.read_len,
            sha256: pumped.read_sha256,
            ct_len: pumped.written_len,
            ct_sha256: pumped.written_sha256,
            segments: self.next,
        })
    }
}

/// What [`pump`] read and wrote.
struct Pumped {
    read_len: u64,
    read_sha256: [u8; 32],
    written_len: u64,
    written_sha256: [u8; 32],
}

/// Moves `reader` to `writer` in chunks of `chunk_len`, transforming each in place with
/// `step(chunk, last)`, and hashes both sides. It reads one chunk ahead, because a chunk
/// is last exactly when nothing follows it; so two chunk buffers are all it holds.
fn pump(
    mut reader: impl Read,
    mut writer: impl Write,
    chunk_len: usize,
    mut step: impl FnMut(&mut Vec<u8>, bool) -> Result<(), EnvelopeError>,
) -> Result<Pumped, EnvelopeError> {
    let (mut read_hash, mut written_hash) = (Sha256::new(), Sha256::new());
    let (mut read_len, mut written_len) = (0u64, 0u64);
    let (mut current, mut next) = (Vec::new(), Vec::new());
    fill(&mut reader, &mut current, chunk_len)?;
    loop {
        if current.len() == chunk_len {
            fill(&mut reader, &mut next, chunk_len)?;
        } else {
            next.clear();
        }
        let last = next.is_empty();
        read_hash.update(&current);
        read_len += current.len() as u64;
        step(&mut current, last)?;
        written_hash.update(&current);
        written_len += current.len() as u64;
        writer.write_all(&current).map_err(io_error)?;
        if last {
            break;
        }
        std::mem::swap(&mut current, &mut next);
    }
    writer.flush().map_err(io_error)?;
    Ok(Pumped {
        read_len,
        read_sha256: read_hash.finalize().into(),
        written_len,
        written_sha256: written_hash.finalize().into(),
    })
}

/// Opens a part segment by segment.
pub struct PartOpener {
    key: PartKey,
    cipher: Aes128Gcm,
    next: u64,
    finished: bool,
}

impl PartOpener {
    /// An opener for the part `key` belongs to.
    pub fn new(key: PartKey) -> PartOpener {
        let cipher = key.cipher();
        PartOpener {
            key,
            cipher,
            next: 0,
            finished: false,
        }
    }

    fn try_open(&self, buf: &mut Vec<u8>, segment: u64, last: bool) -> bool {
        let nonce = segment_nonce(segment, last);
        self.cipher
            .decrypt_in_place(Nonce::from_slice(&nonce), &self.key.aad, buf)
            .is_ok()
    }

    /// Opens the next segment in place (`buf` shrinks by the tag). `last` says whether
    /// the caller has seen the end of the part after this segment. When authentication
    /// fails, the opposite flag is tried only to name the failure: a
    /// non-final segment where the end was expected is truncation; a final segment with
    /// more data after it is trailing data; anything else is tampering or reordering.
    pub fn open_segment_in_place(
        &mut self,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), EnvelopeError> {
        let segment = self.next;
        let part_id = self.key.part_id.clone();
        if self.finished {
            return Err(EnvelopeError::StreamTrailing {
                part_id,
                segment: segment.saturating_sub(1),
            });
        }
        if !self.try_open(buf, segment, last) {
            // aes-gcm checks the tag before decrypting, so a failed open leaves `buf`
            // as it was and the other flag can be tried on the same bytes.
            let flipped = self.try_open(buf, segment, !last);
            return Err(match (flipped, last) {
                (true, true) => EnvelopeError::StreamTruncated {
                    part_id,
                    segments: segment + 1,
                },
                (true, false) => EnvelopeError::StreamTrailing { part_id, segment },
                (false, _) => EnvelopeError::PartTampered { part_id, segment },
            });
        }
        let plaintext_len = buf.len();
        if (!last && plaintext_len != SEGMENT_LEN) || (last && plaintext_len == 0 && segment > 0) {
            return Err(EnvelopeError::PartTampered { part_id, segment });
        }
        self.next += 1;
        self.finished = last;
        Ok(())
    }

    /// Opens everything `reader` yields into `writer`, one segment in memory at a time,
    /// and, when `expected` is given, checks length and SHA-256 against the manifest.
    ///
    /// Each segment is authenticated before it is written, but the part as a whole is
    /// only known to be complete and to match the manifest when this returns `Ok`; a
    /// caller streaming to a file must discard it on `Err`.
    pub fn open_stream(
        mut self,
        reader: impl Read,
        writer: impl Write,
        expected: Option<&PartInfo>,
    ) -> Result<PartSummary, EnvelopeError> {
        let mut length = 0u64;
        let pumped = pump(reader, writer, SEGMENT_CT_LEN, |segment, last| {
            if segment.len() < TAG_LEN {
                return Err(EnvelopeError::StreamTruncated {
                    part_id: self.key.part_id.clone(),
                    segments: self.next,
                });
            }
            self.open_segment_in_place(segment, last)?;
            length += segment.len() as u64;
            match expected {
                Some(info) if length > info.length => Err(EnvelopeError::PartMismatch {
                    part_id: info.part_id.clone(),
                    reason: format!(
                        "longer than the {} bytes the manifest declares",
                        info.length
                    ),
                }),
                _ => Ok(()),
            }
        })?;
        let summary = PartSummary {
            length: pumped.written_len,
            sha256: pumped.written_sha256,
            ct_len: pumped.read_len,
            ct_sha256: pumped.read_sha256,
            segments: self.next,
        };
        if let Some(info) = expected {
            check_against_manifest(&summary, info)?;
        }
        Ok(summary)
    }
}

/// Checks an opened part's length and digest against its manifest line.
pub fn check_against_manifest(summary: &PartSummary, info: &PartInfo) -> Result<(), EnvelopeError> {
    let reason = if summary.length != info.length {
        format!(
            "{} plaintext bytes; the manifest declares {}",
            summary.length, info.length
        )
    } else if summary.sha256 != info.sha256 {
        "plaintext SHA-256 differs from the manifest".to_owned()
    } else {
        return Ok(());
    };
    Err(EnvelopeError::PartMismatch {
        part_id: info.part_id.clone(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(part_id: &str) -> PartKey {
        let context = hpke::key_schedule(&[9; 32], b"stream tests");
        PartKey::derive(&context, &[1; 32], part_id)
    }

    fn seal(plaintext: &[u8]) -> (Vec<u8>, PartSummary) {
        let mut out = Vec::new();
        let summary = PartSealer::new(key("p"))
            .seal_stream(plaintext, &mut out)
            .unwrap();
        (out, summary)
    }

    fn open(ciphertext: &[u8]) -> Result<(Vec<u8>, PartSummary), EnvelopeError> {
        let mut out = Vec::new();
        let summary = PartOpener::new(key("p")).open_stream(ciphertext, &mut out, None)?;
        Ok((out, summary))
    }

    #[test]
    fn boundary_lengths_round_trip_with_the_predicted_size() {
        for length in [
            0,
            1,
            SEGMENT_LEN - 1,
            SEGMENT_LEN,
            SEGMENT_LEN + 1,
            2 * SEGMENT_LEN,
        ] {
            let plaintext: Vec<u8> = (0..length).map(|i| (i % 251) as u8).collect();
            let (ciphertext, sealed) = seal(&plaintext);
            assert_eq!(
                ciphertext.len() as u64,
                ciphertext_len(length as u64),
                "{length}"
            );
            assert_eq!(sealed.segments, segment_count(length as u64));
            assert_eq!(
                sealed.ct_sha256,
                <[u8; 32]>::from(Sha256::digest(&ciphertext))
            );
            let (back, opened) = open(&ciphertext).unwrap();
            assert_eq!(back, plaintext);
            assert_eq!(opened, sealed);
        }
    }

    #[test]
    fn truncation_at_a_segment_boundary_is_named() {
        let plaintext = vec![7u8; 2 * SEGMENT_LEN + 5];
        let (ciphertext, _) = seal(&plaintext);
        let err = open(&ciphertext[..2 * SEGMENT_CT_LEN]).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::StreamTruncated {
                part_id: "p".into(),
                segments: 2
            }
        );
        // Cut inside a segment: shorter than a tag, it cannot even be tried.
        let err = open(&ciphertext[..SEGMENT_CT_LEN + 3]).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::StreamTruncated {
                part_id: "p".into(),
                segments: 1
            }
        );
        // Longer than a tag, it fails authentication under either flag.
        let err = open(&ciphertext[..SEGMENT_CT_LEN + 100]).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::PartTampered {
                part_id: "p".into(),
                segment: 1
            }
        );
    }

    #[test]
    fn reordered_segments_are_refused() {
        let plaintext: Vec<u8> = (0..3 * SEGMENT_LEN)
            .map(|i| (i / SEGMENT_LEN) as u8)
            .collect();
        let (ciphertext, _) = seal(&plaintext);
        let mut swapped = ciphertext[SEGMENT_CT_LEN..2 * SEGMENT_CT_LEN].to_vec();
        swapped.extend_from_slice(&ciphertext[..SEGMENT_CT_LEN]);
        swapped.extend_from_slice(&ciphertext[2 * SEGMENT_CT_LEN..]);
        assert_eq!(
            open(&swapped).unwrap_err(),
            EnvelopeError::PartTampered {
                part_id: "p".into(),
                segment: 0
            }
        );
    }

    #[test]
    fn data_after_the_last_segment_is_refused() {
        let (mut ciphertext, _) = seal(&vec![1u8; SEGMENT_LEN]);
        let (tail, _) = seal(b"more");
        ciphertext.extend_from_slice(&tail);
        assert_eq!(
            open(&ciphertext).unwrap_err(),
            EnvelopeError::StreamTrailing {
                part_id: "p".into(),
                segment: 0
            }
        );
    }

    #[test]
    fn another_part_id_or_header_does_not_open() {
        let (ciphertext, _) = seal(b"evidence");
        let mut out = Vec::new();
        let err = PartOpener::new(key("q"))
            .open_stream(&ciphertext[..], &mut out, None)
            .unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::PartTampered {
                part_id: "q".into(),
                segment: 0
            }
        );
        let context = hpke::key_schedule(&[9; 32], b"stream tests");
        let other_header = PartKey::derive(&context, &[2; 32], "p");
        let err = PartOpener::new(other_header)
            .open_stream(&ciphertext[..], &mut out, None)
            .unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::PartTampered {
                part_id: "p".into(),
                segment: 0
            }
        );
    }

    #[test]
    fn the_manifest_is_enforced() {
        let (ciphertext, sealed) = seal(b"declared");
        let mut info = PartInfo {
            part_id: "p".into(),
            media_type: "text/plain".into(),
            length: sealed.length,
            sha256: sealed.sha256,
            compression: crate::header::Compression::None,
        };
        let open_with = |info: &PartInfo| {
            PartOpener::new(key("p")).open_stream(&ciphertext[..], Vec::new(), Some(info))
        };
        assert!(open_with(&info).is_ok());
        info.sha256[0] ^= 1;
        assert!(matches!(
            open_with(&info),
            Err(EnvelopeError::PartMismatch { .. })
        ));
        info.sha256[0] ^= 1;
        info.length = 3;
        assert!(matches!(
            open_with(&info),
            Err(EnvelopeError::PartMismatch { .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_flipped_byte_is_refused(plaintext in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), at in 0usize..1000, bit in 0u8..8) {
            let (mut ciphertext, _) = seal(&plaintext);
            let at = at % ciphertext.len();
            ciphertext[at] ^= 1 << bit;
            proptest::prop_assert!(open(&ciphertext).is_err());
        }
    }
}
