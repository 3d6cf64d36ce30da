//! Evidence files at rest (assistance spec §6 "encrypted at rest"; exchange spec §7 "evidence
//! files of hundreds of MB"): one encrypted file per evidence item under the node's data
//! directory, written and read one segment at a time, never whole in memory.
//!
//! Why a file per item and not a database blob: a court file of 1 GiB does not fit in a
//! row, in a transaction or in memory, and the exchange already streams detached parts from
//! and to files. The database row keeps the digest, the record and the custody list; the
//! row's `reference` is [`AT_REST_REFERENCE`] while the file is held here.
//!
//! The format of `<dir>/<evidence id>.ct`:
//! * `MAGIC` (8 bytes), then a fresh random 32-byte salt;
//! * segments of [`SEGMENT_LEN`] plaintext bytes (the last one shorter, possibly empty),
//!   each sealed with AES-256-GCM and stored as `ciphertext ‖ tag`.
//!
//! The key of a file is derived from the node's [`EvidenceKey`] (its
//! `subkey("evidence-at-rest-v1")`), the evidence id and the salt, so each file has its own
//! key and the per-segment nonce can be a counter. Each segment's nonce and associated data
//! carry its index and a last-segment flag, and the associated data the evidence id: a
//! reordered, dropped or duplicated segment, a truncated file (the new last segment does
//! not carry the flag), a file extended past its last segment, and a file copied onto
//! another row's name all fail with `evidence_at_rest_corrupt`. The SHA-256 of the
//! plaintext is computed while writing; readers that need a digest (custody events) hash as
//! they read.
//!
//! Why "temp file, fsync, rename, then commit the row": a row never names a file that is not
//! whole on disk. The other way round — a whole file with no row, because the transaction
//! failed or the process died between rename and commit — is handled twice: a
//! [`StoredFile`] that is dropped without [`StoredFile::keep`] removes its file (the failed
//! transaction), and [`EvidenceVault::sweep`] removes files and temp files that no row
//! refers to and that are older than [`SWEEP_MIN_AGE_MS`] (the crash; `caravan serve` runs it
//! with its hourly duties, the first at start; the age keeps it clear of an upload still being written by
//! another process such as the CLI).

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use caravan_store::Store;
use caravan_store::assistance::EvidenceRow;
use sha2::{Digest, Sha256};

use crate::crypto::EvidenceKey;
use crate::error::{AssistError, ErrorKind};

/// Plaintext bytes per segment (the exchange's STREAM segment size as well).
pub const SEGMENT_LEN: usize = 1 << 20;
const TAG_LEN: usize = 16;
const SALT_LEN: usize = 32;
const MAGIC: &[u8; 8] = b"CRVEVD01";
/// Header: magic and salt.
pub const HEADER_LEN: usize = MAGIC.len() + SALT_LEN;
/// `EvidenceRow::reference` of an item whose file is held in the vault.
pub const AT_REST_REFERENCE: &str = "at-rest:v1";
/// Files and temp files younger than this are never swept (an upload may be under way).
pub const SWEEP_MIN_AGE_MS: i64 = 60 * 60 * 1000;
/// Default largest evidence file accepted from an officer (2 GiB).
pub const DEFAULT_MAX_UPLOAD: u64 = 2 << 30;

/// The refusal of a file that does not open: altered, truncated, extended or moved.
pub fn corrupt(id: &str, what: &str) -> AssistError {
    AssistError::new(
        ErrorKind::Internal,
        "evidence_at_rest_corrupt",
        format!("the stored file of evidence {id} does not open: {what}"),
    )
}

/// An evidence file larger than the node accepts.
pub fn too_large(limit: u64) -> AssistError {
    AssistError::new(
        ErrorKind::Refused,
        "evidence_too_large",
        format!("an evidence file may be at most {limit} bytes"),
    )
}

/// An [`AssistError`] carried through `io::Error` (the `Read`/`Write` traits), and back.
pub fn to_io(e: AssistError) -> io::Error {
    io::Error::other(e)
}

/// The [`AssistError`] inside an `io::Error` made by [`to_io`], or an internal error saying
/// what was being done.
pub fn from_io(e: io::Error, what: &str) -> AssistError {
    if e.get_ref().is_some_and(|inner| inner.is::<AssistError>()) {
        if let Some(inner) = e.into_inner()
            && let Ok(assist) = inner.downcast::<AssistError>()
        {
            return *assist;
        }
        return AssistError::internal(format!("{what}: unreadable error"));
    }
    AssistError::internal(format!("{what}: {e}"))
}

/// Whether `id` is usable as a file name as it is: ids are `EV-<uuid>-<n>` on both nodes,
/// but a partner's id is foreign input, so anything else is refused rather than escaped.
fn check_id(id: &str) -> Result<(), AssistError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(AssistError::bad_input(
            "evidence_id_invalid",
            "an evidence id is 1 to 128 letters, digits, '-', '_' or '.'",
        ))
    }
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The encrypted evidence files of one node.
#[derive(Clone)]
pub struct EvidenceVault {
    dir: PathBuf,
    root: [u8; 32],
}

impl EvidenceVault {
    /// The vault in `dir` (created on first write), keyed from the node's evidence key.
    pub fn new(dir: impl Into<PathBuf>, key: &EvidenceKey) -> EvidenceVault {
        EvidenceVault {
            dir: dir.into(),
            root: key.subkey("evidence-at-rest-v1"),
        }
    }

    /// Where the files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of evidence `id` (which need not exist).
    pub fn path_of(&self, id: &str) -> Result<PathBuf, AssistError> {
        check_id(id)?;
        Ok(self.dir.join(format!("{id}.ct")))
    }

    fn cipher(&self, id: &str, salt: &[u8; SALT_LEN]) -> Aes256Gcm {
        let mut h = Sha256::new();
        h.update(b"caravan-evidence-file-v1");
        h.update(self.root);
        h.update((id.len() as u64).to_be_bytes());
        h.update(id.as_bytes());
        h.update(salt);
        let key: [u8; 32] = h.finalize().into();
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))
    }

    /// A writer for evidence `id`, refusing more than `limit` plaintext bytes
    /// (`evidence_too_large`). Nothing is visible under the final name until
    /// [`VaultWriter::finish`].
    pub fn writer(&self, id: &str, limit: u64) -> Result<VaultWriter, AssistError> {
        let target = self.path_of(id)?;
        let io_err = |e: io::Error| AssistError::internal(format!("evidence vault: {e}"));
        fs::create_dir_all(&self.dir).map_err(io_err)?;
        let mut salt = [0u8; SALT_LEN];
        let mut tmp_name = [0u8; 12];
        for buf in [&mut salt[..], &mut tmp_name[..]] {
            getrandom::getrandom(buf)
                .map_err(|e| AssistError::internal(format!("OS randomness: {e}")))?;
        }
        let tmp = self.dir.join(format!(
            "{}.tmp",
            tmp_name
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err)?;
        let mut out = BufWriter::with_capacity(SEGMENT_LEN + TAG_LEN, file);
        let header = [&MAGIC[..], &salt[..]].concat();
        if let Err(e) = out.write_all(&header) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(e));
        }
        Ok(VaultWriter {
            cipher: self.cipher(id, &salt),
            id: id.to_owned(),
            tmp,
            target,
            dir: self.dir.clone(),
            out: Some(out),
            segment: Vec::with_capacity(SEGMENT_LEN),
            index: 0,
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// A file already in the vault that no row refers to yet (an officer's staged upload),
    /// read through once to check it opens and to take its digest; dropped unkept, it is
    /// removed like any other [`StoredFile`]. An id with no file is `evidence_upload_unknown`
    /// (never staged, or swept after [`SWEEP_MIN_AGE_MS`]).
    pub fn adopt(&self, id: &str) -> Result<StoredFile, AssistError> {
        let path = self.path_of(id)?;
        if !path.is_file() {
            return Err(AssistError::new(
                ErrorKind::NotFound,
                "evidence_upload_unknown",
                format!("no staged upload {id} (uploads unused for an hour are removed)"),
            ));
        }
        let (sha256, size) = self.digest(id)?;
        Ok(StoredFile {
            evidence_id: id.to_owned(),
            sha256,
            size,
            path: Some(path),
        })
    }

    /// Writes all of `reader` as evidence `id`; see [`EvidenceVault::writer`].
    pub fn store_from(
        &self,
        id: &str,
        reader: &mut dyn Read,
        limit: u64,
    ) -> Result<StoredFile, AssistError> {
        let mut writer = self.writer(id, limit)?;
        io::copy(reader, &mut writer).map_err(|e| from_io(e, "storing evidence"))?;
        writer.finish()
    }

    /// A decrypting reader of evidence `id`'s file.
    pub fn reader(&self, id: &str) -> Result<VaultReader<BufReader<File>>, AssistError> {
        let path = self.path_of(id)?;
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => corrupt(id, "the file is missing"),
            _ => AssistError::internal(format!("evidence vault: {e}")),
        })?;
        VaultReader::new(
            self,
            id,
            BufReader::with_capacity(SEGMENT_LEN + TAG_LEN, file),
        )
    }

    /// Reads evidence `id` through, checking every segment: its SHA-256 (hex) and length.
    pub fn digest(&self, id: &str) -> Result<(String, u64), AssistError> {
        let mut reader = self.reader(id)?;
        let mut hashing = HashingWriter::new(io::sink());
        io::copy(&mut reader, &mut hashing).map_err(|e| from_io(e, "reading evidence"))?;
        Ok(hashing.finish())
    }

    /// Removes evidence `id`'s file (after its erasure committed); a missing file is fine.
    pub fn remove(&self, id: &str) -> Result<(), AssistError> {
        let path = self.path_of(id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AssistError::internal(format!("removing evidence: {e}"))),
        }
    }

    /// Removes what no row refers to and is older than [`SWEEP_MIN_AGE_MS`] at `now` (ms):
    /// temp files of writes that never finished, and files whose row does not exist (the
    /// transaction failed or never ran) or no longer names the vault (erased). Returns the
    /// number of files removed.
    pub fn sweep(&self, store: &dyn Store, now: i64) -> Result<u32, AssistError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(AssistError::internal(format!("evidence vault: {e}"))),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| AssistError::internal(format!("evidence vault: {e}")))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let modified_ms = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(i64::MAX, |d| d.as_millis() as i64);
            if now.saturating_sub(modified_ms) < SWEEP_MIN_AGE_MS {
                continue;
            }
            let orphan = if name.ends_with(".tmp") {
                true
            } else if let Some(id) = name.strip_suffix(".ct") {
                match store.evidence_row(id) {
                    Ok(row) => !holds_file(&row),
                    Err(caravan_store::StoreError::NotFound) => true,
                    Err(e) => return Err(e.into()),
                }
            } else {
                false
            };
            if orphan && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Whether a row's file is held in the vault.
pub fn holds_file(row: &EvidenceRow) -> bool {
    row.erased_at.is_none() && row.reference.as_deref() == Some(AT_REST_REFERENCE)
}

fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

fn aad(id: &str, index: u64, last: bool) -> Vec<u8> {
    let mut a = Vec::with_capacity(MAGIC.len() + 8 + id.len() + 9);
    a.extend_from_slice(MAGIC);
    a.extend_from_slice(&(id.len() as u64).to_be_bytes());
    a.extend_from_slice(id.as_bytes());
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

/// Writes one evidence file: segments sealed as they fill, SHA-256 of the plaintext
/// computed on the way. Dropped before [`VaultWriter::finish`], it removes its temp file.
pub struct VaultWriter {
    cipher: Aes256Gcm,
    id: String,
    tmp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    out: Option<BufWriter<File>>,
    segment: Vec<u8>,
    index: u64,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl VaultWriter {
    /// The evidence id this file is bound to.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Plaintext bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn seal_segment(&mut self, last: bool) -> io::Result<()> {
        let aad = aad(&self.id, self.index, last);
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce(self.index, last)),
                &aad,
                &mut self.segment,
            )
            .map_err(|_| io::Error::other("evidence segment encryption failed"))?;
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("evidence writer already finished"))?;
        out.write_all(&self.segment)?;
        out.write_all(&tag)?;
        self.segment.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the last segment, fsyncs, and moves the file to its final name (never over an
    /// existing file). The returned [`StoredFile`] removes it again unless kept.
    pub fn finish(mut self) -> Result<StoredFile, AssistError> {
        let io_err = |e: io::Error| AssistError::internal(format!("evidence vault: {e}"));
        self.seal_segment(true).map_err(io_err)?;
        let out = self
            .out
            .take()
            .ok_or_else(|| AssistError::internal("evidence writer already finished"))?;
        let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        // A hard link fails when the target exists, so a second file for one id can never
        // replace the file a committed row refers to.
        fs::hard_link(&self.tmp, &self.target).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => AssistError::new(
                ErrorKind::Conflict,
                "evidence_file_exists",
                format!("evidence {} already has a stored file", self.id),
            ),
            _ => io_err(e),
        })?;
        let _ = fs::remove_file(&self.tmp);
        fsync_dir(&self.dir).map_err(io_err)?;
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        Ok(StoredFile {
            evidence_id: self.id.clone(),
            sha256,
            size: self.size,
            path: Some(self.target.clone()),
        })
    }
}

impl Write for VaultWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.size + buf.len() as u64 > self.limit {
            return Err(to_io(too_large(self.limit)));
        }
        // A full segment is sealed only when more bytes follow, so the last segment is
        // always sealed by `finish` with its flag.
        if self.segment.len() == SEGMENT_LEN {
            self.seal_segment(false)?;
        }
        let n = buf.len().min(SEGMENT_LEN - self.segment.len());
        self.segment.extend_from_slice(&buf[..n]);
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for VaultWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A whole evidence file under its final name, not yet referred to by a committed row.
/// Dropped without [`StoredFile::keep`] (the transaction failed, the action was refused), it
/// removes the file.
#[derive(Debug)]
pub struct StoredFile {
    /// The evidence id.
    pub evidence_id: String,
    /// Hex SHA-256 of the plaintext.
    pub sha256: String,
    /// Plaintext length.
    pub size: u64,
    path: Option<PathBuf>,
}

impl StoredFile {
    /// The row now refers to the file: keep it.
    pub fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for StoredFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Decrypts an evidence file one segment at a time.
pub struct VaultReader<R> {
    cipher: Aes256Gcm,
    id: String,
    inner: R,
    segment: Vec<u8>,
    pos: usize,
    index: u64,
    done: bool,
}

impl<R: BufRead> VaultReader<R> {
    /// A reader over an evidence file's bytes (`inner` starts at the header).
    pub fn new(vault: &EvidenceVault, id: &str, mut inner: R) -> Result<Self, AssistError> {
        let mut header = [0u8; HEADER_LEN];
        read_full(&mut inner, &mut header)
            .map_err(|e| AssistError::internal(format!("evidence vault: {e}")))
            .and_then(|n| {
                if n == HEADER_LEN && &header[..MAGIC.len()] == MAGIC {
                    Ok(())
                } else {
                    Err(corrupt(id, "not an evidence file"))
                }
            })?;
        let salt: [u8; SALT_LEN] = header[MAGIC.len()..]
            .try_into()
            .map_err(|_| corrupt(id, "header"))?;
        Ok(VaultReader {
            cipher: vault.cipher(id, &salt),
            id: id.to_owned(),
            inner,
            segment: Vec::with_capacity(SEGMENT_LEN + TAG_LEN),
            pos: 0,
            index: 0,
            done: false,
        })
    }

    fn next_segment(&mut self) -> io::Result<()> {
        self.segment.resize(SEGMENT_LEN + TAG_LEN, 0);
        let n = read_full(&mut self.inner, &mut self.segment)?;
        // A short read is the end; a full one is the end when nothing follows.
        let last = n < self.segment.len() || self.inner.fill_buf()?.is_empty();
        if n < TAG_LEN {
            return Err(to_io(corrupt(&self.id, "truncated")));
        }
        let tag = Tag::clone_from_slice(&self.segment[n - TAG_LEN..n]);
        self.segment.truncate(n - TAG_LEN);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce(self.index, last)),
                &aad(&self.id, self.index, last),
                &mut self.segment,
                &tag,
            )
            .map_err(|_| {
                to_io(corrupt(
                    &self.id,
                    &format!("segment {} fails authentication", self.index),
                ))
            })?;
        self.index += 1;
        self.pos = 0;
        self.done = last;
        Ok(())
    }
}

impl<R: BufRead> Read for VaultReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.segment.len() {
            if self.done {
                return Ok(0);
            }
            self.next_segment()?;
        }
        let n = buf.len().min(self.segment.len() - self.pos);
        buf[..n].copy_from_slice(&self.segment[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the end; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Passes writes through to `inner` while hashing them.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The hex SHA-256 and length of what was written.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.size)
    }

    /// The writer inside.
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The content of one evidence item, to be read (streamed) after its use was recorded.
pub enum EvidenceContent {
    /// A file in the vault.
    Vault {
        vault: EvidenceVault,
        id: String,
        size: u64,
    },
    /// A row written before files moved to the vault and not yet moved
    /// ([`crate::service::AssistanceNode::move_blobs_at_rest`]): decrypted in memory.
    Legacy(Vec<u8>),
}

impl std::fmt::Debug for EvidenceContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the content itself.
        match self {
            EvidenceContent::Vault { id, size, .. } => {
                write!(f, "EvidenceContent::Vault({id}, {size} bytes)")
            }
            EvidenceContent::Legacy(bytes) => {
                write!(f, "EvidenceContent::Legacy({} bytes)", bytes.len())
            }
        }
    }
}

impl EvidenceContent {
    /// Plaintext length.
    pub fn size(&self) -> u64 {
        match self {
            EvidenceContent::Vault { size, .. } => *size,
            EvidenceContent::Legacy(bytes) => bytes.len() as u64,
        }
    }

    /// A reader of the plaintext; a tampered segment fails the read with
    /// `evidence_at_rest_corrupt` inside the `io::Error` (see [`from_io`]).
    pub fn reader(&self) -> Result<Box<dyn Read + Send>, AssistError> {
        Ok(match self {
            EvidenceContent::Vault { vault, id, .. } => Box::new(vault.reader(id)?),
            EvidenceContent::Legacy(bytes) => Box::new(io::Cursor::new(bytes.clone())),
        })
    }

    /// Writes the plaintext into `writer`, one segment at a time; returns its length.
    pub fn copy_to(&self, writer: &mut dyn Write) -> Result<u64, AssistError> {
        let mut reader = self.reader()?;
        io::copy(&mut reader, writer).map_err(|e| from_io(e, "reading evidence"))
    }

    /// The whole plaintext in memory: for small files only (loopback parts, tests).
    pub fn read_all(&self) -> Result<Vec<u8>, AssistError> {
        let mut out = Vec::with_capacity(usize::try_from(self.size()).unwrap_or(0));
        self.copy_to(&mut out)?;
        Ok(out)
    }
}

/// Plaintext length of a vault file of `file_len` bytes.
fn plaintext_len(file_len: u64) -> u64 {
    let ct = file_len.saturating_sub(HEADER_LEN as u64);
    let segments = ct.div_ceil((SEGMENT_LEN + TAG_LEN) as u64).max(1);
    ct.saturating_sub(segments * TAG_LEN as u64)
}

impl crate::service::AssistanceNode {
    /// The node's evidence vault.
    pub fn vault(&self) -> &EvidenceVault {
        &self.vault
    }

    /// The content of an evidence row; `None` once erased (or when only a reference is
    /// held elsewhere).
    pub fn content_of(&self, row: &EvidenceRow) -> Result<Option<EvidenceContent>, AssistError> {
        if row.erased_at.is_some() {
            return Ok(None);
        }
        if let Some(blob) = row.blob.as_deref() {
            return Ok(Some(EvidenceContent::Legacy(
                self.key.open(&row.evidence_id, blob)?,
            )));
        }
        if !holds_file(row) {
            return Ok(None);
        }
        let path = self.vault.path_of(&row.evidence_id)?;
        let len = fs::metadata(&path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => corrupt(&row.evidence_id, "the file is missing"),
                _ => AssistError::internal(format!("evidence vault: {e}")),
            })?
            .len();
        Ok(Some(EvidenceContent::Vault {
            vault: self.vault.clone(),
            id: row.evidence_id.clone(),
            size: plaintext_len(len),
        }))
    }

    /// The content of a row that must still have it (`evidence_erased` otherwise).
    pub(crate) fn content_required(
        &self,
        row: &EvidenceRow,
    ) -> Result<EvidenceContent, AssistError> {
        self.content_of(row)?.ok_or_else(|| {
            AssistError::refused(
                "evidence_erased",
                format!("{} has been erased", row.evidence_id),
            )
        })
    }

    /// Reads a row's file through, checking every segment, and returns the hex SHA-256 of
    /// the plaintext (what a custody event records).
    pub(crate) fn content_digest(&self, content: &EvidenceContent) -> Result<String, AssistError> {
        let mut hashing = HashingWriter::new(io::sink());
        content.copy_to(&mut hashing)?;
        Ok(hashing.finish().0)
    }

    /// The digest of a row's file, which must still be held (`evidence_erased`).
    pub(crate) fn required_digest(&self, row: &EvidenceRow) -> Result<String, AssistError> {
        let content = self.content_required(row)?;
        self.content_digest(&content)
    }

    /// Commits `change`, then keeps `files` (the rows now refer to them) and removes the
    /// files of items the change erased. A failed commit drops `files`, which removes them.
    pub(crate) fn commit_with_files(
        &self,
        change: &caravan_store::assistance::AssistanceChange,
        files: Vec<StoredFile>,
    ) -> Result<(), AssistError> {
        self.store.commit_assistance(change)?;
        files.into_iter().for_each(StoredFile::keep);
        for row in change.evidence.iter().filter(|r| r.erased_at.is_some()) {
            // A file left behind by a failure here is swept later: its row no longer
            // names the vault.
            let _ = self.vault.remove(&row.evidence_id);
        }
        Ok(())
    }

    /// Moves evidence still stored as a database blob (rows written before files were kept
    /// at rest in segments) into the vault, one row per transaction: the file is written
    /// and fsynced, then the row drops its blob and names the vault. Idempotent; `caravan
    /// serve` runs it at start. Returns the number of rows moved.
    pub fn move_blobs_at_rest(&self, now: i64) -> Result<u32, AssistError> {
        let mut moved = 0;
        let cases = self
            .store
            .case_rows(&caravan_store::assistance::CaseQuery {
                limit: u32::MAX,
                ..Default::default()
            })?;
        for case in cases {
            for row in self.store.case_evidence(&case.case_id)? {
                let Some(blob) = row.blob.as_deref() else {
                    continue;
                };
                let plain = self.key.open(&row.evidence_id, blob)?;
                let stored =
                    self.vault
                        .store_from(&row.evidence_id, &mut plain.as_slice(), u64::MAX)?;
                if stored.sha256 != row.sha256 {
                    return Err(corrupt(
                        &row.evidence_id,
                        "the stored blob does not match its digest",
                    ));
                }
                let change = caravan_store::assistance::AssistanceChange {
                    evidence: vec![EvidenceRow {
                        blob: None,
                        reference: Some(AT_REST_REFERENCE.to_owned()),
                        updated_at: now,
                        version: row.version + 1,
                        ..row.clone()
                    }],
                    ..Default::default()
                };
                self.commit_with_files(&change, vec![stored])?;
                moved += 1;
            }
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::{EvidenceVault, SEGMENT_LEN, from_io};
    use crate::crypto::EvidenceKey;

    fn vault(dir: &std::path::Path) -> EvidenceVault {
        EvidenceVault::new(dir, &EvidenceKey::from_bytes(&[5; 32]))
    }

    /// A few segments and a bit: each byte differs so a misplaced segment shows.
    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn read(vault: &EvidenceVault, id: &str) -> Result<Vec<u8>, crate::error::AssistError> {
        let mut out = Vec::new();
        vault
            .reader(id)?
            .read_to_end(&mut out)
            .map_err(|e| from_io(e, "read"))?;
        Ok(out)
    }

    #[test]
    fn round_trip_in_segments_with_digest() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        for (id, len) in [
            ("EV-a-01", 0),
            ("EV-a-02", 10),
            ("EV-a-03", SEGMENT_LEN),
            ("EV-a-04", 3 * SEGMENT_LEN + 17),
        ] {
            let plain = sample(len);
            let mut writer = vault.writer(id, u64::MAX).unwrap();
            // Odd-sized writes cross segment boundaries.
            for chunk in plain.chunks(7_777) {
                writer.write_all(chunk).unwrap();
            }
            let stored = writer.finish().unwrap();
            assert_eq!(stored.size, len as u64);
            assert_eq!(
                stored.sha256,
                caravan_assistance::evidence::sha256_hex(&plain)
            );
            stored.keep();
            assert_eq!(read(&vault, id).unwrap(), plain, "{id}");
            assert_eq!(
                vault.digest(id).unwrap(),
                (caravan_assistance::evidence::sha256_hex(&plain), len as u64)
            );
            let at_rest = std::fs::read(vault.path_of(id).unwrap()).unwrap();
            if len >= 64 {
                assert!(
                    !at_rest.windows(64).any(|w| w == &plain[..64]),
                    "no plaintext at rest"
                );
            }
        }
    }

    #[test]
    fn tampering_truncation_extension_and_swaps_fail() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let plain = sample(2 * SEGMENT_LEN + 100);
        for id in ["EV-b-01", "EV-b-02"] {
            vault
                .store_from(id, &mut plain.as_slice(), u64::MAX)
                .unwrap()
                .keep();
        }
        let path = vault.path_of("EV-b-01").unwrap();
        let good = std::fs::read(&path).unwrap();
        let segment_ct = SEGMENT_LEN + 16;
        let header = super::HEADER_LEN;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("flipped byte", {
                let mut b = good.clone();
                b[header + segment_ct + 5] ^= 1;
                b
            }),
            (
                "truncated to whole segments",
                good[..header + 2 * segment_ct].to_vec(),
            ),
            ("cut mid-segment", good[..good.len() - 50].to_vec()),
            ("extended", [good.clone(), vec![0; 40]].concat()),
            ("segments swapped", {
                let mut b = good[..header].to_vec();
                b.extend_from_slice(&good[header + segment_ct..header + 2 * segment_ct]);
                b.extend_from_slice(&good[header..header + segment_ct]);
                b.extend_from_slice(&good[header + 2 * segment_ct..]);
                b
            }),
            ("header only", good[..header].to_vec()),
            ("not an evidence file", b"%PDF-1.7".to_vec()),
        ];
        for (what, bytes) in cases {
            std::fs::write(&path, &bytes).unwrap();
            let err = read(&vault, "EV-b-01").unwrap_err();
            assert_eq!(err.code, "evidence_at_rest_corrupt", "{what}");
        }
        // Another item's file copied onto this one's name: bound to its own id.
        std::fs::copy(vault.path_of("EV-b-02").unwrap(), &path).unwrap();
        assert_eq!(
            read(&vault, "EV-b-01").unwrap_err().code,
            "evidence_at_rest_corrupt"
        );
        // Another node's key opens nothing.
        let other = EvidenceVault::new(dir.path(), &EvidenceKey::from_bytes(&[6; 32]));
        assert_eq!(
            read(&other, "EV-b-02").unwrap_err().code,
            "evidence_at_rest_corrupt"
        );
    }

    #[test]
    fn unfinished_or_unkept_files_disappear_and_names_never_clash() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let mut writer = vault.writer("EV-c-01", u64::MAX).unwrap();
        writer.write_all(b"half").unwrap();
        drop(writer);
        // The file that was never kept (a refused reply, a failed commit) goes too.
        drop(
            vault
                .store_from("EV-c-02", &mut &b"x"[..], u64::MAX)
                .unwrap(),
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        vault
            .store_from("EV-c-03", &mut &b"x"[..], u64::MAX)
            .unwrap()
            .keep();
        let again = vault.store_from("EV-c-03", &mut &b"y"[..], u64::MAX);
        assert_eq!(again.unwrap_err().code, "evidence_file_exists");
        assert_eq!(read(&vault, "EV-c-03").unwrap(), b"x");
        // Over the limit: refused with its code, nothing left behind.
        let big = vault.store_from("EV-c-04", &mut &[0u8; 100][..], 99);
        assert_eq!(big.unwrap_err().code, "evidence_too_large");
        assert!(!vault.path_of("EV-c-04").unwrap().exists());
        // Ids that are not plain names are refused.
        for bad in ["../x", "", ".hidden", "a/b"] {
            assert_eq!(
                vault.writer(bad, 1).err().unwrap().code,
                "evidence_id_invalid"
            );
        }
    }
}
