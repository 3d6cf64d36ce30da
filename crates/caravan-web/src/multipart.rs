//! `multipart/form-data` bodies (RFC 7578), for the one page form that uploads files: the
//! requested side's reply with evidence.
//!
//! Why by hand: axum's `Multipart` extractor needs its `multipart` feature and with it the
//! `multer` stack, for a form the node reads whole anyway (the CSRF check in
//! [`crate::csrf`] reads every form body before the handler runs, bounded). A body already
//! in memory splits on its boundary in a few dozen lines, and the same parser finds the
//! form's CSRF token.

/// One part of a form: a field or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// The field name.
    pub(crate) name: String,
    /// The file name the browser sent, for a file field.
    pub(crate) filename: Option<String>,
    /// The part's media type, if the browser named one.
    pub(crate) content_type: Option<String>,
    /// The content.
    pub(crate) body: Vec<u8>,
}

impl Part {
    /// The content as text (a plain field), lossily.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a body is not a well-formed `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MultipartError {
    #[error("the body does not start with the boundary")]
    NoBoundary,
    #[error("a part has no end of headers")]
    Headers,
    #[error("a part is not closed by the boundary")]
    Unterminated,
    #[error("a part has no form-data name")]
    NoName,
    #[error("more than {MAX_PARTS} parts")]
    TooManyParts,
}

/// At most this many parts are read (the reply form has about a dozen fields).
const MAX_PARTS: usize = 256;

/// The boundary of a `multipart/form-data` content type, if that is what it is.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let last = haystack.len() - needle.len();
    let mut at = from;
    while at <= last {
        let rest = &haystack[at..=last];
        let first = rest.iter().position(|b| *b == needle[0])?;
        at += first;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// The next `CRLF--boundary` at or after `from` that is a delimiter line: followed by `--`
/// (the last one) or by optional white space and CRLF, not by more boundary-like text.
fn next_delimiter(body: &[u8], close: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = find(body, close, from)?;
        let mut rest = &body[at + close.len()..];
        if rest.starts_with(b"--") {
            return Some(at);
        }
        while let [b' ' | b'\t', tail @ ..] = rest {
            rest = tail;
        }
        if rest.starts_with(b"\r\n") {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The parameters of a `Content-Disposition` value, with quoted strings unquoted.
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Skip the disposition type.
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            chars.next();
            if c == '=' {
                break;
            }
            key.push(c);
        }
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            return out;
        }
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                val.push(c);
            }
            val = val.trim().to_owned();
        }
        out.push((key, val));
    }
}

/// Splits a whole body into its parts.
pub(crate) fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut close = b"\r\n".to_vec();
    close.extend_from_slice(&delimiter);
    // A preamble may precede the first delimiter.
    let mut at = if body.starts_with(&delimiter) {
        0
    } else {
        next_delimiter(body, &close, 0).ok_or(MultipartError::NoBoundary)? + 2
    };
    let mut parts = Vec::new();
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then CRLF.
        while matches!(body.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(MultipartError::Unterminated);
        }
        at += 2;
        let (head, content_at) = if body[at..].starts_with(b"\r\n") {
            ("", at + 2)
        } else {
            let head_end = find(body, b"\r\n\r\n", at).ok_or(MultipartError::Headers)?;
            (
                std::str::from_utf8(&body[at..head_end]).map_err(|_| MultipartError::Headers)?,
                head_end + 4,
            )
        };
        let end = next_delimiter(body, &close, content_at).ok_or(MultipartError::Unterminated)?;
        let (mut name, mut filename, mut content_type) = (None, None, None);
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                for (pk, pv) in disposition_params(v) {
                    match pk.as_str() {
                        "name" => name = Some(pv),
                        "filename" => filename = Some(pv),
                        _ => {}
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_owned());
            }
        }
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        parts.push(Part {
            name: name.ok_or(MultipartError::NoName)?,
            filename,
            content_type,
            body: body[content_at..end].to_vec(),
        });
        at = end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b \\\"c\\\".pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--XyZ-ish\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\n";

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----WebKitFormBoundaryQ").as_deref(),
            Some("----WebKitFormBoundaryQ")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn fields_and_files_come_out_whole() {
        let parts = parse(BODY, "XyZ").unwrap();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(
            (parts[0].name.as_str(), parts[0].text().as_str()),
            ("csrf_token", "abc")
        );
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("a;b \"c\".pdf"));
        assert_eq!(parts[1].content_type.as_deref(), Some("application/pdf"));
        // A line that only begins like the boundary belongs to the content.
        assert_eq!(parts[1].body, b"%PDF\r\n--XyZ-ish\r\n");
        assert_eq!((parts[2].name.as_str(), parts[2].body.len()), ("empty", 0));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert_eq!(
            parse(b"nothing here", "XyZ"),
            Err(MultipartError::NoBoundary)
        );
        assert_eq!(
            parse(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
                "XyZ"
            ),
            Err(MultipartError::Unterminated)
        );
        assert_eq!(
            parse(
                b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
                "XyZ"
            ),
            Err(MultipartError::NoName)
        );
    }
}
