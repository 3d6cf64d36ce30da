//! Large parts over the wire (spec §7, "Large Message Split and Join"): the spool of
//! detached parts on both sides, never holding a part whole in memory.
//!
//! Why it is shaped this way:
//! * **Sender.** A file part is sealed with the STREAM construction straight from the
//!   file into `out/<part_ref>.ct` (one segment in memory at a time), and the wire object
//!   carries only its `part_ref` = SHA-256 of the ciphertext. Every attempt uploads the
//!   segments from that file with `PUT /caravan/v1/parts/{part_ref}/{n}` before the
//!   message, so a retry after a crash or a partition re-sends the same bytes; the spool
//!   file goes once the receipt is stored.
//! * **Receiver, upload.** A segment cannot be authenticated on arrival (its key comes
//!   with the message), so it is only size-checked and written to its own file
//!   `in/<party>/<part_ref>/<n>` (temp file + rename: a re-upload is idempotent, a torn
//!   upload leaves no half segment). Nothing of the message is stored yet.
//! * **Receiver, claim.** When the message arrives and has been opened, each detached
//!   part's segments are read in order and opened segment by segment
//!   ([`DetachedPart::open`]: every GCM tag, the last-segment flag against truncation,
//!   the plaintext's length and SHA-256 against the signed manifest, the ciphertext's
//!   against `part_ref`) while the ciphertext is copied to `in/<party>/<part_ref>.ct` and
//!   fsynced. Only when every part verified is the message stored; a missing segment, a
//!   tampered one or a wrong digest refuses it with a specific code and no inbox write.
//!   Parts stay encrypted at rest, like inline parts in the inbox's wire object.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use caravan_envelope::hpke::TAG_LEN;
/// Largest segment upload: one STREAM segment with its tag.
pub use caravan_envelope::stream::SEGMENT_CT_LEN;
use caravan_envelope::{Compression, DetachedPart, EnvelopeError, PartSummary, Sealer};

/// A part of an outbound message read from a file or a stream (evidence files of hundreds
/// of MB).
#[derive(Debug, Clone)]
pub struct OutboundFile {
    /// Part id, unique within the message.
    pub part_id: String,
    /// Media type.
    pub media_type: String,
    /// Where the plaintext comes from; read once, while sealing, in segments.
    pub source: PartSource,
}

/// Opens the plaintext of a streamed part (see [`PartSource::Reader`]).
pub type OpenPart = std::sync::Arc<dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// Where an outbound file part's plaintext is read from.
#[derive(Clone)]
pub enum PartSource {
    /// A plaintext file.
    Path(PathBuf),
    /// A reader opened when the part is sealed, e.g. one that decrypts a file the layer
    /// above keeps encrypted at rest, so the plaintext never touches the disk. A read error
    /// fails the send and nothing is stored.
    Reader(OpenPart),
}

impl std::fmt::Debug for PartSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartSource::Path(path) => f.debug_tuple("Path").field(path).finish(),
            PartSource::Reader(_) => f.write_str("Reader(..)"),
        }
    }
}

impl PartSource {
    fn describe(&self) -> String {
        match self {
            PartSource::Path(path) => path.display().to_string(),
            PartSource::Reader(_) => "streamed part".to_owned(),
        }
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            PartSource::Path(path) => Ok(Box::new(BufReader::new(File::open(path)?))),
            PartSource::Reader(open) => open(),
        }
    }
}

/// Why a part upload or claim was refused: HTTP status, stable code, public message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRefusal {
    /// HTTP status.
    pub status: u16,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Public message.
    pub message: String,
}

impl PartRefusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn io(what: &str, err: &io::Error) -> Self {
        tracing::error!(error = %err, "{what}");
        Self::new(503, "part_store_unavailable", format!("{what} failed"))
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `part_ref` from its 64-character lower-case hex form (in `caravan-envelope`, where
/// the part-upload fuzz target reaches it).
pub use caravan_envelope::stream::parse_part_ref;

/// Segments of a part of `ct_len` ciphertext bytes (at least one: an empty part is one
/// tag-only segment).
pub fn segments_of(ct_len: u64) -> u64 {
    ct_len.div_ceil(SEGMENT_CT_LEN as u64).max(1)
}

/// The spool directory of one node.
#[derive(Debug, Clone)]
pub struct PartSpool {
    dir: PathBuf,
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The entries of `dir`, none when it does not exist (nothing uploaded yet).
fn read_dir_or_empty(dir: &Path) -> io::Result<Vec<io::Result<fs::DirEntry>>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Reads a part's uploaded segments in order as one stream.
struct Segments {
    dir: PathBuf,
    count: u64,
    next: u64,
    current: Option<BufReader<File>>,
}

impl Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(file) = &mut self.current {
                let n = file.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            if self.next == self.count {
                return Ok(0);
            }
            self.current = Some(BufReader::new(File::open(
                self.dir.join(self.next.to_string()),
            )?));
            self.next += 1;
        }
    }
}

/// Copies what is read through it to `copy`.
struct Tee<R, W> {
    inner: R,
    copy: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl PartSpool {
    /// The spool under `dir` (created on first use).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Where a sealed outbound part waits for its uploads.
    pub fn outbound_path(&self, part_ref: &[u8; 32]) -> PathBuf {
        self.dir.join("out").join(format!("{}.ct", hex(part_ref)))
    }

    fn party_dir(&self, party: &str) -> PathBuf {
        // Party ids are registry keys; hex keeps any of them a safe file name.
        self.dir.join("in").join(hex(party.as_bytes()))
    }

    fn upload_dir(&self, party: &str, part_ref: &[u8; 32]) -> PathBuf {
        self.party_dir(party).join(hex(part_ref))
    }

    /// Where a claimed part's ciphertext is kept for hand-over.
    pub fn inbound_path(&self, party: &str, part_ref: &[u8; 32]) -> PathBuf {
        self.party_dir(party).join(format!("{}.ct", hex(part_ref)))
    }

    /// Seals `file` into the outbound spool as a detached part of `sealer`'s message.
    pub fn seal_file(
        &self,
        sealer: &mut Sealer,
        file: &OutboundFile,
    ) -> Result<PartSummary, EnvelopeError> {
        let io_err = |e: io::Error| EnvelopeError::Io(format!("{}: {e}", file.source.describe()));
        let out_dir = self.dir.join("out");
        fs::create_dir_all(&out_dir).map_err(io_err)?;
        let reader = file.source.open().map_err(io_err)?;
        let mut tmp_name = [0u8; 16];
        let _ = getrandom::getrandom(&mut tmp_name);
        let tmp = out_dir.join(format!("{}.tmp", hex(&tmp_name)));
        let sealed = (|| {
            let writer = File::create(&tmp).map_err(io_err)?;
            let summary = sealer.add_streamed(
                &file.part_id,
                &file.media_type,
                Compression::None,
                reader,
                BufWriter::new(&writer),
            )?;
            writer.sync_all().map_err(io_err)?;
            fs::rename(&tmp, self.outbound_path(&summary.ct_sha256)).map_err(io_err)?;
            fsync_dir(&out_dir).map_err(io_err)?;
            Ok(summary)
        })();
        if sealed.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        sealed
    }

    /// Segment `n` of a spooled outbound part (at most one segment in memory).
    pub fn read_segment(&self, part_ref: &[u8; 32], n: u64) -> io::Result<Vec<u8>> {
        use std::io::Seek;
        let mut file = File::open(self.outbound_path(part_ref))?;
        file.seek(io::SeekFrom::Start(n * SEGMENT_CT_LEN as u64))?;
        let mut buf = Vec::with_capacity(SEGMENT_CT_LEN);
        file.take(SEGMENT_CT_LEN as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Drops a delivered part's spool file.
    pub fn release_outbound(&self, part_ref: &[u8; 32]) {
        let _ = fs::remove_file(self.outbound_path(part_ref));
    }

    /// Stores an uploaded segment from `party`. `max_segments` bounds `n` (the profile's
    /// largest part).
    pub fn put_segment(
        &self,
        party: &str,
        part_ref: &[u8; 32],
        n: u64,
        bytes: &[u8],
        max_segments: u64,
    ) -> Result<(), PartRefusal> {
        if n >= max_segments {
            return Err(PartRefusal::new(
                413,
                "part_too_large",
                format!("segment {n} is beyond the largest part this node accepts"),
            ));
        }
        if bytes.len() < TAG_LEN || bytes.len() > SEGMENT_CT_LEN {
            return Err(PartRefusal::new(
                400,
                "segment_size_invalid",
                format!(
                    "a segment is {TAG_LEN} to {SEGMENT_CT_LEN} bytes; this one is {}",
                    bytes.len()
                ),
            ));
        }
        let dir = self.upload_dir(party, part_ref);
        fs::create_dir_all(&dir).map_err(|e| PartRefusal::io("creating the upload folder", &e))?;
        let tmp = dir.join(format!("{n}.tmp"));
        fs::write(&tmp, bytes).map_err(|e| PartRefusal::io("writing a segment", &e))?;
        fs::rename(&tmp, dir.join(n.to_string()))
            .map_err(|e| PartRefusal::io("storing a segment", &e))
    }

    /// Removes uploads no message claimed: every `in/<party>/<part_ref>/` folder whose
    /// newest segment is older than `max_age` at `now` (a sender that crashed or gave
    /// up after uploading, or segments of a message that was refused), and temp files
    /// of sealing left in `out/` by a crash. Claimed parts (`in/<party>/<part_ref>.ct`)
    /// and spooled outbound parts (`out/<part_ref>.ct`) are never touched: the inbox or
    /// the outbox still refers to them. `now` is the caller's clock. Returns how many
    /// uploads and temp files were removed.
    pub fn sweep_unclaimed(
        &self,
        now: std::time::SystemTime,
        max_age: std::time::Duration,
    ) -> io::Result<usize> {
        let stale = |modified: std::time::SystemTime| {
            now.duration_since(modified).is_ok_and(|age| age >= max_age)
        };
        let mut removed = 0;
        for party in read_dir_or_empty(&self.dir.join("in"))? {
            let party = party?;
            if !party.file_type()?.is_dir() {
                continue;
            }
            for upload in fs::read_dir(party.path())? {
                let upload = upload?;
                if !upload.file_type()?.is_dir() {
                    continue;
                }
                // The newest file decides: a part still being uploaded stays.
                let mut newest = upload.metadata()?.modified()?;
                for file in fs::read_dir(upload.path())? {
                    newest = newest.max(file?.metadata()?.modified()?);
                }
                if stale(newest) {
                    fs::remove_dir_all(upload.path())?;
                    removed += 1;
                }
            }
        }
        for file in read_dir_or_empty(&self.dir.join("out"))? {
            let file = file?;
            let is_tmp = file.path().extension().is_some_and(|e| e == "tmp");
            if is_tmp && stale(file.metadata()?.modified()?) {
                fs::remove_file(file.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The spooled outbound parts (`out/<part_ref>.ct`) older than `max_age` at `now`:
    /// the candidates [`PartSpool::remove_released`] checks against the outbox. A part
    /// no message needs any more is left when a node stops between committing a
    /// delivery and releasing its part; the age keeps a part being sealed, whose message
    /// is not stored yet, out of reach.
    pub fn stale_outbound(
        &self,
        now: std::time::SystemTime,
        max_age: std::time::Duration,
    ) -> io::Result<Vec<[u8; 32]>> {
        let mut stale = Vec::new();
        for file in read_dir_or_empty(&self.dir.join("out"))? {
            let file = file?;
            let path = file.path();
            if path.extension().is_none_or(|e| e != "ct") {
                continue;
            }
            let Some(part_ref) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(parse_part_ref)
            else {
                continue;
            };
            let modified = file.metadata()?.modified()?;
            if now.duration_since(modified).is_ok_and(|age| age >= max_age) {
                stale.push(part_ref);
            }
        }
        Ok(stale)
    }

    /// Removes the spooled outbound parts among `stale` that are not in `in_use` (the
    /// part refs of every message that may still be sent: pending, or dead-lettered and
    /// retryable); returns how many went.
    pub fn remove_released(&self, stale: &[[u8; 32]], in_use: &HashSet<[u8; 32]>) -> usize {
        stale
            .iter()
            .filter(|r| !in_use.contains(*r))
            .filter(|r| fs::remove_file(self.outbound_path(r)).is_ok())
            .count()
    }

    /// Verifies a detached part from its uploaded segments and keeps its ciphertext
    /// (fsynced) for hand-over. Idempotent: a part already claimed is accepted as is.
    pub fn claim(&self, party: &str, part: &DetachedPart) -> Result<PathBuf, PartRefusal> {
        let keep = self.inbound_path(party, &part.part_ref);
        if keep.exists() {
            return Ok(keep);
        }
        let dir = self.upload_dir(party, &part.part_ref);
        let count = segments_of(part.ct_len);
        if let Some(missing) = (0..count).find(|n| !dir.join(n.to_string()).is_file()) {
            return Err(PartRefusal::new(
                422,
                "part_incomplete",
                format!(
                    "part {:?}: segment {missing} of {count} has not been uploaded",
                    part.info.part_id
                ),
            ));
        }
        // A name of its own per claim: a retried delivery may claim the same part while an
        // earlier attempt is still verifying it, and a shared file would be truncated
        // under the first claimer's feet. Both verify the same segments, so whichever
        // rename lands last keeps identical, verified bytes.
        let mut tag = [0u8; 16];
        getrandom::getrandom(&mut tag)
            .map_err(|e| PartRefusal::io("naming a part", &io::Error::other(e.to_string())))?;
        let tmp = dir.join(format!("claim-{}.tmp", hex(&tag)));
        let file = File::create(&tmp).map_err(|e| PartRefusal::io("spooling a part", &e))?;
        let reader = Tee {
            inner: Segments {
                dir: dir.clone(),
                count,
                next: 0,
                current: None,
            },
            copy: BufWriter::new(&file),
        };
        if let Err(e) = part.open(reader, io::sink()) {
            let _ = fs::remove_file(&tmp);
            // A concurrent claim of the same part (a retried delivery while the first
            // still verifies) finished first and removed the segments this one was
            // reading: its kept file verified in full, so the part is there.
            if matches!(e, EnvelopeError::Io(_)) && keep.exists() {
                return Ok(keep);
            }
            return Err(PartRefusal::new(e.http_status(), e.code(), e.to_string()));
        }
        file.sync_all()
            .map_err(|e| PartRefusal::io("syncing a part", &e))?;
        fs::rename(&tmp, &keep).map_err(|e| PartRefusal::io("keeping a part", &e))?;
        fsync_dir(&self.party_dir(party)).map_err(|e| PartRefusal::io("syncing a part", &e))?;
        let _ = fs::remove_dir_all(&dir);
        Ok(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_refs_round_trip_and_bad_ones_are_refused() {
        let r = [0xab; 32];
        assert_eq!(parse_part_ref(&hex(&r)), Some(r));
        assert_eq!(parse_part_ref(&hex(&r).to_uppercase()), None);
        assert_eq!(parse_part_ref("ab"), None);
        assert_eq!(parse_part_ref(&format!("{}zz", &hex(&r)[2..])), None);
    }

    #[test]
    fn segment_counts_follow_the_segment_size() {
        let s = SEGMENT_CT_LEN as u64;
        assert_eq!(segments_of(TAG_LEN as u64), 1);
        assert_eq!(segments_of(s), 1);
        assert_eq!(segments_of(s + 1), 2);
        assert_eq!(segments_of(3 * s), 3);
    }

    #[test]
    fn released_outbound_parts_go_after_their_age_unless_a_message_still_needs_them() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = PartSpool::new(dir.path());
        let day = Duration::from_secs(24 * 3600);
        assert!(
            spool
                .stale_outbound(SystemTime::now(), day)
                .unwrap()
                .is_empty()
        );
        fs::create_dir_all(dir.path().join("out")).unwrap();
        let (needed, leaked, fresh) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        for r in [needed, leaked, fresh] {
            fs::write(spool.outbound_path(&r), b"ct").unwrap();
        }
        let other = dir.path().join("out").join("notes.txt");
        fs::write(&other, b"not a part").unwrap();
        let old = SystemTime::now() - 2 * day;
        for path in [
            spool.outbound_path(&needed),
            spool.outbound_path(&leaked),
            other.clone(),
        ] {
            File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        // Only old part files are candidates; the outbox decides which still serve.
        let mut stale = spool.stale_outbound(SystemTime::now(), day).unwrap();
        stale.sort();
        assert_eq!(stale, vec![needed, leaked]);
        assert_eq!(spool.remove_released(&stale, &HashSet::from([needed])), 1);
        assert!(spool.outbound_path(&needed).exists());
        assert!(!spool.outbound_path(&leaked).exists());
        assert!(spool.outbound_path(&fresh).exists());
        assert!(other.exists());
    }

    #[test]
    fn unclaimed_uploads_go_after_their_age_and_nothing_else_does() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = PartSpool::new(dir.path());
        let day = Duration::from_secs(24 * 3600);
        // Nothing spooled yet: nothing to do, no error.
        assert_eq!(
            spool
                .sweep_unclaimed(SystemTime::now(), day)
                .expect("sweep"),
            0
        );
        let (old, fresh) = ([1u8; 32], [2u8; 32]);
        spool
            .put_segment("UZ", &old, 0, &[7; 32], 4)
            .expect("stored");
        spool
            .put_segment("US", &fresh, 0, &[7; 32], 4)
            .expect("stored");
        // A claimed part and a spooled outbound part, and a torn sealing's temp file.
        let kept = spool.inbound_path("UZ", &[3; 32]);
        fs::write(&kept, b"claimed").expect("write");
        fs::create_dir_all(dir.path().join("out")).expect("mkdir");
        let outbound = spool.outbound_path(&[4; 32]);
        fs::write(&outbound, b"sealed").expect("write");
        let torn = dir.path().join("out").join("abcd.tmp");
        fs::write(&torn, b"torn").expect("write");
        let written = fs::metadata(&torn)
            .and_then(|m| m.modified())
            .expect("mtime");
        // 23 h later: everything stays.
        let removed = spool
            .sweep_unclaimed(written + Duration::from_secs(23 * 3600), day)
            .expect("sweep");
        assert_eq!(removed, 0);
        assert!(spool.upload_dir("UZ", &old).join("0").is_file());
        // Make one upload old by uploading the other again later: the clock is the
        // caller's, so age them apart by touching the fresh one's segment time.
        let later = written + day + Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(spool.upload_dir("US", &fresh).join("0"))
            .and_then(|f| f.set_modified(later))
            .expect("touch");
        let removed = spool.sweep_unclaimed(later, day).expect("sweep");
        assert_eq!(removed, 2, "the old upload and the torn temp file");
        assert!(!spool.upload_dir("UZ", &old).exists());
        assert!(!torn.exists());
        assert!(
            spool.upload_dir("US", &fresh).join("0").is_file(),
            "newest segment is fresh"
        );
        assert!(
            kept.is_file() && outbound.is_file(),
            "claimed and outbound parts stay"
        );
        // A day after the fresh one's last segment, it goes too.
        let removed = spool.sweep_unclaimed(later + day, day).expect("sweep");
        assert_eq!(removed, 1);
        assert!(!spool.upload_dir("US", &fresh).exists());
        assert!(kept.is_file() && outbound.is_file());
    }

    #[test]
    fn segment_sizes_and_numbers_are_checked_before_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = PartSpool::new(dir.path());
        let r = [1u8; 32];
        let short = spool.put_segment("UZ", &r, 0, &[0; TAG_LEN - 1], 4);
        assert_eq!(short.map_err(|e| e.code), Err("segment_size_invalid"));
        let long = spool.put_segment("UZ", &r, 0, &vec![0; SEGMENT_CT_LEN + 1], 4);
        assert_eq!(long.map_err(|e| e.code), Err("segment_size_invalid"));
        let far = spool.put_segment("UZ", &r, 4, &[0; 32], 4);
        assert_eq!(far.map_err(|e| e.code), Err("part_too_large"));
        assert!(
            !dir.path().join("in").exists(),
            "a refused segment wrote nothing"
        );
        spool.put_segment("UZ", &r, 3, &[7; 32], 4).expect("stored");
        assert_eq!(
            fs::read(spool.upload_dir("UZ", &r).join("3")).expect("read"),
            vec![7; 32]
        );
    }
}
