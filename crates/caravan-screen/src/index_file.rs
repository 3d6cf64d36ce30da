//! The screening index as one compact file (issue 6, "the index loads from a compact file
//! in well under a second"): list versions, entries, and every list name already
//! normalised with its spellings and keys, so that loading skips Unicode normalisation and
//! transliteration, the costly part of [`ScreenIndex::build`]; postings are rebuilt from
//! the stored spellings, which is cheap and keeps the file small.
//!
//! Why not serde: the engine stays free of a serialisation framework, and the format is
//! small enough to read by hand. Why a trailing SHA-256: a file cut short or edited is
//! refused with [`IndexFileError`] rather than screening against part of a list. Entries
//! go through [`crate::stored`]'s JSON, whose decoder re-checks every entry's content hash.
//!
//! Layout (integers little-endian, strings as `u32` length + UTF-8):
//! `CRVNSIX1`, scorer version, key version, versions, entries (version index, content
//! hash, JSON), names (entry, kind, text, fingerprint, legal forms, tokens with their
//! variants, systems and keys), SHA-256 of everything before it.

use sha2::{Digest, Sha256};

use crate::index::{IndexedName, ScreenIndex};
use crate::legal_form::LegalForm;
use crate::model::{ListVersion, NameKind};
use crate::normalize::{NameToken, NormalizedName, Script, SpellingSketch};
use crate::score::{KEY_VERSION, SCORER_VERSION};
use crate::stored::{entry_from_json, entry_to_json};
use crate::translit::System;

const MAGIC: &[u8; 8] = b"CRVNSIX1";

/// Why an index file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IndexFileError {
    /// Stable snake-case code: `index_not_an_index`, `index_version_mismatch`,
    /// `index_truncated`, `index_corrupt`.
    pub code: &'static str,
    /// What is wrong, and where.
    pub message: String,
}

fn error(code: &'static str, message: impl Into<String>) -> IndexFileError {
    IndexFileError {
        code,
        message: message.into(),
    }
}

fn system_code(system: Option<System>) -> u8 {
    match system {
        None => 0,
        Some(System::UzbekLatin) => 1,
        Some(System::Icao9303) => 2,
        Some(System::BgnPcgnUzbek) => 3,
        Some(System::Odni) => 4,
        Some(System::BgnPcgnRussian) => 5,
        Some(System::GostB) => 6,
        Some(System::GostA) => 7,
    }
}

fn system_of(code: u8) -> Option<Option<System>> {
    Some(match code {
        0 => None,
        1 => Some(System::UzbekLatin),
        2 => Some(System::Icao9303),
        3 => Some(System::BgnPcgnUzbek),
        4 => Some(System::Odni),
        5 => Some(System::BgnPcgnRussian),
        6 => Some(System::GostB),
        7 => Some(System::GostA),
        _ => return None,
    })
}

const NAME_KINDS: [NameKind; 5] = [
    NameKind::Primary,
    NameKind::Alias,
    NameKind::Weak,
    NameKind::Former,
    NameKind::OriginalScript,
];
const SCRIPTS: [Script; 3] = [Script::Latin, Script::Cyrillic, Script::Other];

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    fn u32(&mut self, value: usize) {
        self.0
            .extend_from_slice(&u32::try_from(value).unwrap_or(u32::MAX).to_le_bytes());
    }

    fn str(&mut self, value: &str) {
        self.u32(value.len());
        self.0.extend_from_slice(value.as_bytes());
    }

    fn opt_str(&mut self, value: Option<&str>) {
        match value {
            Some(text) => {
                self.u8(1);
                self.str(text);
            }
            None => self.u8(0),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexFileError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(error(
                "index_truncated",
                format!("the file ends inside a record at byte {}", self.at),
            ));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, IndexFileError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<usize, IndexFileError> {
        let mut word = [0u8; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word) as usize)
    }

    fn str(&mut self) -> Result<&'a str, IndexFileError> {
        let len = self.u32()?;
        let at = self.at;
        std::str::from_utf8(self.take(len)?).map_err(|_| {
            error(
                "index_corrupt",
                format!("a string at byte {at} is not UTF-8"),
            )
        })
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>, IndexFileError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            other => Err(self.bad(format!("optional-string tag {other}"))),
        }
    }

    fn hash(&mut self) -> Result<[u8; 32], IndexFileError> {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.take(32)?);
        Ok(out)
    }

    /// A count that must fit in what is left of the file, `min_bytes` per item at least.
    fn count(&mut self, min_bytes: usize) -> Result<usize, IndexFileError> {
        let n = self.u32()?;
        if n.saturating_mul(min_bytes) > self.bytes.len() - self.at {
            return Err(error(
                "index_truncated",
                format!(
                    "{n} records announced at byte {}, the file is shorter",
                    self.at
                ),
            ));
        }
        Ok(n)
    }

    fn bad(&self, what: String) -> IndexFileError {
        error("index_corrupt", format!("{what} at byte {}", self.at))
    }
}

impl ScreenIndex {
    /// The index as an index file.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(MAGIC);
        w.str(SCORER_VERSION);
        w.str(KEY_VERSION);
        w.u32(self.versions.len());
        for version in &self.versions {
            w.str(&version.list_id);
            w.opt_str(version.publisher_date.as_deref());
            w.str(&version.fetched_at);
            w.0.extend_from_slice(&version.sha256);
            w.u32(version.n_entries);
        }
        w.u32(self.entries.len());
        for (entry, &version) in self.entries.iter().zip(&self.entry_version) {
            w.u32(usize::from(version));
            w.0.extend_from_slice(&entry.content_hash);
            w.str(&entry_to_json(entry));
        }
        w.u32(self.names.len());
        for name in &self.names {
            w.u32(name.entry as usize);
            w.u8(NAME_KINDS.iter().position(|k| *k == name.kind).unwrap_or(0) as u8);
            w.str(&name.text);
            let normalized = &name.normalized;
            w.str(&normalized.fingerprint);
            w.u32(normalized.legal_forms.len());
            for form in &normalized.legal_forms {
                w.str(&form.display);
                w.opt_str(form.generic.as_deref());
            }
            w.u32(normalized.tokens.len());
            for token in &normalized.tokens {
                w.str(&token.text);
                w.u8(SCRIPTS.iter().position(|s| *s == token.script).unwrap_or(2) as u8);
                w.u8(u8::from(token.stop) | (u8::from(token.numeric) << 1));
                w.u32(token.len);
                w.u32(token.variants.len());
                for ((variant, system), key) in
                    token.variants.iter().zip(&token.systems).zip(&token.keys)
                {
                    w.str(variant);
                    w.u8(system_code(*system));
                    w.str(key);
                }
            }
        }
        let digest = Sha256::digest(&w.0);
        w.0.extend_from_slice(&digest);
        w.0
    }

    /// Reads an index file written by [`ScreenIndex::to_file_bytes`] by a Caravan with the
    /// same scorer and key versions. Any damage refuses the whole file.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<ScreenIndex, IndexFileError> {
        if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(error(
                "index_not_an_index",
                "the file does not start with CRVNSIX1",
            ));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(error(
                "index_corrupt",
                "the SHA-256 at the end does not match: the file was cut or changed",
            ));
        }
        let mut r = Reader {
            bytes: body,
            at: MAGIC.len(),
        };
        let (scorer, key) = (r.str()?, r.str()?);
        if scorer != SCORER_VERSION || key != KEY_VERSION {
            return Err(error(
                "index_version_mismatch",
                format!(
                    "written for {scorer} / {key}, this Caravan scores with {SCORER_VERSION} / {KEY_VERSION}: rebuild it from the lists"
                ),
            ));
        }
        let mut versions = Vec::new();
        for _ in 0..r.count(45)? {
            versions.push(ListVersion {
                list_id: r.str()?.to_owned(),
                publisher_date: r.opt_str()?.map(str::to_owned),
                fetched_at: r.str()?.to_owned(),
                sha256: r.hash()?,
                n_entries: r.u32()?,
            });
        }
        let n_entries = r.count(40)?;
        let mut raw_entries = Vec::with_capacity(n_entries);
        let mut entry_version = Vec::with_capacity(n_entries);
        for _ in 0..n_entries {
            let version = r.u32()?;
            let Some(list) = versions.get(version) else {
                return Err(r.bad(format!("entry of list version {version}")));
            };
            raw_entries.push((list.list_id.as_str(), r.hash()?, r.str()?));
            entry_version.push(version as u16);
        }
        // The entries' JSON is decoded (and each content hash re-checked) on a second
        // thread while this one reads the names.
        std::thread::scope(|scope| {
            let entries = scope.spawn(|| {
                raw_entries
                    .iter()
                    .map(|(list_id, hash, json)| entry_from_json(list_id, json, hash))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| error("index_corrupt", e.to_string()))
            });
            let names = read_names(&mut r, n_entries);
            let entries = entries
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
            let names = names?;
            if r.at != body.len() {
                return Err(r.bad("bytes after the last name".into()));
            }
            Ok(ScreenIndex::assemble(
                versions.clone(),
                entries,
                entry_version,
                names,
            ))
        })
    }
}

fn read_names(r: &mut Reader<'_>, n_entries: usize) -> Result<Vec<IndexedName>, IndexFileError> {
    let n_names = r.count(18)?;
    let mut names = Vec::with_capacity(n_names);
    for _ in 0..n_names {
        let entry = r.u32()?;
        if entry >= n_entries {
            return Err(r.bad(format!("name of entry {entry}")));
        }
        let kind = *NAME_KINDS
            .get(usize::from(r.u8()?))
            .ok_or_else(|| r.bad("name kind".into()))?;
        let text = r.str()?.to_owned();
        let fingerprint = r.str()?.to_owned();
        let mut legal_forms = Vec::new();
        for _ in 0..r.count(5)? {
            legal_forms.push(LegalForm {
                display: r.str()?.to_owned(),
                generic: r.opt_str()?.map(str::to_owned),
            });
        }
        let n_tokens = r.count(14)?;
        if n_tokens == 0 {
            return Err(r.bad("a name without tokens".into()));
        }
        let mut tokens = Vec::with_capacity(n_tokens);
        for _ in 0..n_tokens {
            tokens.push(read_token(r)?);
        }
        names.push(IndexedName {
            entry: entry as u32,
            kind,
            text,
            normalized: NormalizedName {
                tokens,
                legal_forms,
                fingerprint,
            },
        });
    }
    Ok(names)
}

fn read_token(r: &mut Reader<'_>) -> Result<NameToken, IndexFileError> {
    let text = r.str()?.to_owned();
    let script = *SCRIPTS
        .get(usize::from(r.u8()?))
        .ok_or_else(|| r.bad("token script".into()))?;
    let flags = r.u8()?;
    let len = r.u32()?;
    let n_variants = r.count(9)?;
    if n_variants == 0 {
        return Err(r.bad("a token without spellings".into()));
    }
    let (mut variants, mut systems, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n_variants {
        variants.push(r.str()?.to_owned());
        let code = r.u8()?;
        systems.push(system_of(code).ok_or_else(|| r.bad(format!("system {code}")))?);
        keys.push(r.str()?.to_owned());
    }
    Ok(NameToken {
        variant_sketches: variants.iter().map(|v| SpellingSketch::of(v)).collect(),
        key_sketches: keys.iter().map(|k| SpellingSketch::of(k)).collect(),
        text,
        variants,
        systems,
        keys,
        script,
        stop: flags & 1 != 0,
        numeric: flags & 2 != 0,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::lookout_csv;
    use crate::screen::{ScreenedParty, Screener};

    fn index() -> ScreenIndex {
        let csv = "list_id,entry_id,name,entry_kind,name_kind,id_scheme,id_value,date_of_birth\n\
                   lookout,P1,Хайдаров Шуҳрат,person,primary,UZ_PINFL,31234567890123,1971-03-02\n\
                   lookout,P1,Shukhrat Khaydarov,person,alias,,,\n\
                   lookout,C1,\"OOO Toshkent Tekstil\",organization,primary,UZ_STIR,301234567,\n\
                   lookout,C2,AYAS 2000 LLC,organization,primary,,,\n";
        let list = lookout_csv::parse(csv.as_bytes(), "2026-12-02T00:00:00Z").unwrap();
        ScreenIndex::build(&[list])
    }

    #[test]
    fn a_loaded_index_screens_exactly_like_the_built_one() {
        let built = index();
        let bytes = built.to_file_bytes();
        let loaded = ScreenIndex::from_file_bytes(&bytes).unwrap();
        assert_eq!(loaded.entries, built.entries);
        assert_eq!(loaded.versions, built.versions);
        assert_eq!(loaded.token_ids, built.token_ids);
        for (a, b) in loaded.names.iter().zip(&built.names) {
            assert_eq!(a.normalized, b.normalized);
        }
        assert_eq!(loaded.to_file_bytes(), bytes);
        let (built, loaded) = (
            Screener::new(built, Default::default()),
            Screener::new(loaded, Default::default()),
        );
        for name in [
            "Xaydarov Shuxrat",
            "Toshkent Textile",
            "AYAS 2001",
            "Nobody",
        ] {
            let party = ScreenedParty {
                name: name.to_owned(),
                ..ScreenedParty::default()
            };
            let a = built.screen(&party, &mut built.index.scratch()).unwrap();
            let b = loaded.screen(&party, &mut loaded.index.scratch()).unwrap();
            assert_eq!(a, b, "{name}");
        }
    }

    #[test]
    fn damaged_files_are_refused_with_specific_codes() {
        let bytes = index().to_file_bytes();
        let code = |b: &[u8]| ScreenIndex::from_file_bytes(b).unwrap_err().code;
        assert_eq!(
            code(b"PK\x03\x04 a zip file, not an index at all......"),
            "index_not_an_index"
        );
        assert_eq!(code(&bytes[..bytes.len() / 2]), "index_corrupt");
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 3] ^= 1;
        assert_eq!(code(&flipped), "index_corrupt");
        // A file of another scorer version, correctly sealed.
        let mut other = bytes[..bytes.len() - 32].to_vec();
        let at = MAGIC.len() + 4;
        other[at..at + SCORER_VERSION.len()].copy_from_slice(&b"WeightedEdit/v0"[..]);
        let digest = Sha256::digest(&other);
        other.extend_from_slice(&digest);
        assert_eq!(code(&other), "index_version_mismatch");
        // Cut inside a record, correctly sealed: truncated, not a panic.
        let mut cut = bytes[..bytes.len() - 32 - 7].to_vec();
        let digest = Sha256::digest(&cut);
        cut.extend_from_slice(&digest);
        assert_eq!(code(&cut), "index_truncated");
    }
}
