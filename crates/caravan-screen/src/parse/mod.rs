//! Parsers of list bytes, one per format (spec §1). Each takes bytes and returns a whole
//! [`ScreeningList`](crate::model::ScreeningList) or a [`ListError`](crate::error::ListError):
//! nothing is half-read, so the caller can keep the previous version active on error.

pub mod ftm;
pub mod lookout_csv;
pub mod ofac_csv;
pub mod un_xml;

use sha2::{Digest, Sha256};

use crate::error::{ListError, ListErrorCode};

/// Decodes bytes as UTF-8 and falls back to Windows-1252, as OFAC's files require.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// One Windows-1252 byte as a char (the 0x80–0x9F block differs from Latin-1).
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// SHA-256 over several files, each length-prefixed so file boundaries count.
pub(crate) fn sha256_files(files: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update((file.len() as u64).to_be_bytes());
        hasher.update(file);
    }
    hasher.finalize().into()
}

/// Refuses obviously foreign bytes early with a clear message (an HTML error page saved
/// under a list's name is the common case).
pub(crate) fn refuse_markup(file: &str, text: &str, expected: &str) -> Result<(), ListError> {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = head
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.starts_with("<?xml") {
        return Err(ListError::new(
            ListErrorCode::WrongFormat,
            file,
            Some(1),
            format!("expected {expected}, found markup"),
        ));
    }
    Ok(())
}
