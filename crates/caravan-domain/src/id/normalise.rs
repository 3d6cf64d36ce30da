//! The one normalisation every identifier goes through before it is checked (spec 3).

/// Trims, upper-cases ASCII letters and drops whitespace, hyphens and dots.
///
/// Only ASCII is upper-cased: Unicode case mapping can turn one character into two (`ß` into
/// `SS`), which would let garbage grow into a well-formed identifier.
pub(crate) fn normalise(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Like [`normalise`] but keeps hyphens, for identifiers whose layout is told by where the
/// hyphens are (EIN versus SSN).
pub(crate) fn normalise_keep_hyphens(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether every byte of `s` is an ASCII digit (true for the empty string).
pub(crate) fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Describes a length mismatch without echoing the input.
pub(crate) fn length_detail(got: usize, want: &str) -> String {
    let plural = if got == 1 { "" } else { "s" };
    format!("got {got} character{plural}, need {want}")
}
