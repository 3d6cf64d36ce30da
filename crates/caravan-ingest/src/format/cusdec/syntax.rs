//! The ISO 9735 layer: service string advice (`UNA`), segment terminators, element and
//! component separators and the release character, with nothing about CUSDEC itself.
//!
//! Bytes are scanned, never decoded, until a whole segment has been cut out: every
//! separator is ASCII, and in UTF-8 (and ISO 8859-1) no byte of a multi-byte character
//! is ASCII, so a scan on bytes can never split a character. Each segment is capped at
//! [`MAX_SEGMENT_BYTES`] while it is read, so a 2 GB file without a terminator fails after
//! one mebibyte instead of after exhausting memory.

use std::io::{self, BufRead, Cursor, Read};

/// The longest segment accepted, in bytes, release characters included. The largest
/// CUSDEC segment (FTX with five 512-character texts in four-byte UTF-8) is far below it.
pub const MAX_SEGMENT_BYTES: usize = 1 << 20;

/// The separators of one interchange, either the ISO 9735 defaults or those of `UNA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    /// Component data element separator, default `:`.
    pub component: u8,
    /// Data element separator, default `+`.
    pub element: u8,
    /// Decimal mark, default `.`. Informational: values are passed on as written.
    pub decimal: u8,
    /// Release character, default `?`; `None` when `UNA` says none is used (a space).
    pub release: Option<u8>,
    /// Repetition separator (syntax version 4) or `None` for the reserved space.
    pub repetition: Option<u8>,
    /// Segment terminator, default `'`.
    pub segment: u8,
}

impl Separators {
    /// The ISO 9735 defaults for syntax versions 1 to 3: `:+.? '`.
    pub const DEFAULT: Separators = Separators {
        component: b':',
        element: b'+',
        decimal: b'.',
        release: Some(b'?'),
        repetition: None,
        segment: b'\'',
    };

    /// What Caravan writes: the defaults plus `*` as the version-4 repetition separator,
    /// which `UNOW` (UTF-8) requires. `*` in data is therefore escaped as `?*`.
    pub const WRITE: Separators = Separators {
        repetition: Some(b'*'),
        ..Separators::DEFAULT
    };

    /// Parses the six characters after `UNA`, or says why they are unusable.
    fn from_una(chars: &[u8]) -> Result<Separators, String> {
        let [component, element, decimal, release, repetition, segment] = match chars {
            [a, b, c, d, e, f] => [*a, *b, *c, *d, *e, *f],
            _ => return Err("UNA must be followed by exactly six service characters".into()),
        };
        let optional = |b: u8| if b == b' ' { None } else { Some(b) };
        let seps = Separators {
            component,
            element,
            decimal,
            release: optional(release),
            repetition: optional(repetition),
            segment,
        };
        let mut active = vec![component, element, segment];
        active.extend(seps.release);
        active.extend(seps.repetition);
        for &b in &active {
            if !b.is_ascii() || b.is_ascii_alphanumeric() || b == b' ' {
                return Err(format!(
                    "service character {:?} must be ASCII punctuation or a control character",
                    b as char
                ));
            }
        }
        for (i, a) in active.iter().enumerate() {
            if active[i + 1..].contains(a) {
                return Err(format!("service character {:?} is used twice", *a as char));
            }
        }
        if decimal != b'.' && decimal != b',' {
            return Err(format!(
                "decimal mark {:?} must be '.' or ','",
                decimal as char
            ));
        }
        Ok(seps)
    }

    /// Whether `b` must be preceded by the release character in data.
    fn is_special(&self, b: u8) -> bool {
        b == self.component
            || b == self.element
            || b == self.segment
            || Some(b) == self.release
            || Some(b) == self.repetition
    }

    /// Escapes `value` for use as one component.
    pub fn escape(&self, value: &str, out: &mut Vec<u8>) {
        for &b in value.as_bytes() {
            if self.is_special(b) {
                out.push(self.release.unwrap_or(b'?'));
            }
            out.push(b);
        }
    }

    /// The `UNA` service string advice for these separators.
    pub fn una(&self) -> [u8; 9] {
        [
            b'U',
            b'N',
            b'A',
            self.component,
            self.element,
            self.decimal,
            self.release.unwrap_or(b' '),
            self.repetition.unwrap_or(b' '),
            self.segment,
        ]
    }
}

/// How to turn component bytes into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `UNOW` and every other syntax identifier: strict UTF-8 (ASCII is a subset).
    Utf8,
    /// `UNOC`: ISO 8859-1, decoded byte for byte.
    Latin1,
}

impl Charset {
    /// The character set a `UNB` syntax identifier (S001/0001) announces.
    pub fn for_syntax_id(id: &str) -> Charset {
        if id.eq_ignore_ascii_case("UNOC") {
            Charset::Latin1
        } else {
            Charset::Utf8
        }
    }
}

/// One segment, unescaped: its tag and its data elements, each a list of components.
/// `elements[0]` is the first element after the tag (EDIFACT position 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    pub tag: String,
    pub elements: Vec<Vec<String>>,
}

impl Segment {
    /// A segment with no elements yet.
    pub fn new(tag: &str) -> Segment {
        Segment {
            tag: tag.to_owned(),
            elements: Vec::new(),
        }
    }

    /// Appends an element (builder style); trailing empties are dropped when written.
    pub fn el<S: AsRef<str>>(mut self, components: &[S]) -> Segment {
        self.elements
            .push(components.iter().map(|c| c.as_ref().to_owned()).collect());
        self
    }

    /// Appends a one-component element.
    pub fn e(self, value: &str) -> Segment {
        self.el(&[value])
    }

    /// Component `component` (0-based) of element `position` (1-based, as EDIFACT counts),
    /// or `""` when absent.
    pub fn get(&self, position: usize, component: usize) -> &str {
        position
            .checked_sub(1)
            .and_then(|i| self.elements.get(i))
            .and_then(|e| e.get(component))
            .map_or("", String::as_str)
    }

    /// Like [`Segment::get`] but `None` for an absent or empty value.
    pub fn opt(&self, position: usize, component: usize) -> Option<String> {
        let v = self.get(position, component);
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// All components of element `position`, joined: the inverse of splitting a long text
    /// over several components.
    pub fn joined(&self, position: usize, from: usize) -> Option<String> {
        let e = position.checked_sub(1).and_then(|i| self.elements.get(i))?;
        let s: String = e.iter().skip(from).map(String::as_str).collect();
        (!s.is_empty()).then_some(s)
    }

    /// Serialises the segment with its terminator, escaping every value and dropping
    /// trailing empty components and elements as ISO 9735 requires.
    pub fn write_to(&self, seps: &Separators, out: &mut Vec<u8>) {
        out.extend_from_slice(self.tag.as_bytes());
        let last_el = self
            .elements
            .iter()
            .rposition(|e| e.iter().any(|c| !c.is_empty()));
        if let Some(last_el) = last_el {
            for element in &self.elements[..=last_el] {
                out.push(seps.element);
                let last = element.iter().rposition(|c| !c.is_empty());
                if let Some(last) = last {
                    for (i, c) in element[..=last].iter().enumerate() {
                        if i > 0 {
                            out.push(seps.component);
                        }
                        seps.escape(c, out);
                    }
                }
            }
        }
        out.push(seps.segment);
    }
}

/// Why a stretch of bytes is not a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxFault {
    /// `UNA` present but unusable.
    BadUna(String),
    /// A segment grew past [`MAX_SEGMENT_BYTES`].
    TooLong,
    /// Input ended inside a segment.
    Truncated,
    /// The bytes are not text in the declared character set.
    NotText,
    /// The tag is not three upper-case letters or digits.
    BadTag(String),
    /// The underlying reader failed.
    Io(String),
}

/// Cuts segments out of a byte stream, one at a time.
pub struct SegmentSource<R> {
    input: io::Chain<Cursor<Vec<u8>>, R>,
    seps: Separators,
    had_una: bool,
}

impl<R: BufRead> SegmentSource<R> {
    /// Reads the `UNA` advice if there is one and keeps the rest for [`Self::next_raw`].
    pub fn new(mut input: R) -> Result<SegmentSource<R>, (SyntaxFault, SegmentSource<R>)> {
        let mut head = Vec::with_capacity(12);
        let read = (&mut input).take(12).read_to_end(&mut head);
        let mut seps = Separators::DEFAULT;
        let mut had_una = false;
        let mut fault = read.err().map(|e| SyntaxFault::Io(e.to_string()));
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            head.drain(..3);
        }
        if fault.is_none() && head.starts_with(b"UNA") {
            had_una = true;
            let end = head.len().min(9);
            match Separators::from_una(&head[3..end]) {
                Ok(s) => {
                    seps = s;
                    head.drain(..9);
                }
                Err(rule) => fault = Some(SyntaxFault::BadUna(rule)),
            }
        }
        let source = SegmentSource {
            input: Cursor::new(head).chain(input),
            seps,
            had_una,
        };
        match fault {
            Some(f) => Err((f, source)),
            None => Ok(source),
        }
    }

    /// The separators in force.
    pub fn separators(&self) -> Separators {
        self.seps
    }

    /// Whether the interchange began with `UNA`.
    pub fn had_una(&self) -> bool {
        self.had_una
    }

    /// The raw bytes of the next segment (terminator removed, release characters kept),
    /// or `None` at a clean end of input.
    pub fn next_raw(&mut self) -> Result<Option<Vec<u8>>, SyntaxFault> {
        let mut seg: Vec<u8> = Vec::new();
        let mut released = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SyntaxFault::Io(e.to_string())),
            };
            if buf.is_empty() {
                return if seg.is_empty() {
                    Ok(None)
                } else {
                    Err(SyntaxFault::Truncated)
                };
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                used += 1;
                if released {
                    released = false;
                } else if Some(b) == self.seps.release {
                    released = true;
                } else if b == self.seps.segment {
                    done = true;
                    break;
                } else if seg.is_empty() && matches!(b, b'\r' | b'\n') {
                    // Line breaks between segments are common and carry no data.
                    continue;
                }
                seg.push(b);
                // Checked per byte, so the cap holds even for one huge in-memory buffer.
                if seg.len() > MAX_SEGMENT_BYTES {
                    return Err(SyntaxFault::TooLong);
                }
            }
            self.input.consume(used);
            if done {
                return Ok(Some(seg));
            }
        }
    }
}

/// Splits raw segment bytes into tag, elements and components, removing release
/// characters and decoding text.
pub fn split(raw: &[u8], seps: &Separators, charset: Charset) -> Result<Segment, SyntaxFault> {
    let mut elements: Vec<Vec<String>> = Vec::new();
    let mut element: Vec<String> = Vec::new();
    let mut component: Vec<u8> = Vec::new();
    let mut released = false;
    let decode = |bytes: &mut Vec<u8>| -> Result<String, SyntaxFault> {
        let taken = std::mem::take(bytes);
        match charset {
            Charset::Latin1 => Ok(taken.iter().map(|&b| char::from(b)).collect()),
            Charset::Utf8 => String::from_utf8(taken).map_err(|_| SyntaxFault::NotText),
        }
    };
    for &b in raw {
        if released {
            component.push(b);
            released = false;
        } else if Some(b) == seps.release {
            released = true;
        } else if b == seps.component {
            element.push(decode(&mut component)?);
        } else if b == seps.element {
            element.push(decode(&mut component)?);
            elements.push(std::mem::take(&mut element));
        } else {
            component.push(b);
        }
    }
    if released {
        return Err(SyntaxFault::Truncated);
    }
    element.push(decode(&mut component)?);
    elements.push(element);
    let mut elements = elements.into_iter();
    let tag_element = elements.next().unwrap_or_default();
    let tag = tag_element.into_iter().next().unwrap_or_default();
    let tag_ok = tag.len() == 3
        && tag
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !tag_ok {
        return Err(SyntaxFault::BadTag(tag));
    }
    Ok(Segment {
        tag,
        elements: elements.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(raw: &str) -> Segment {
        split(raw.as_bytes(), &Separators::DEFAULT, Charset::Utf8).unwrap()
    }

    #[test]
    fn release_character_escapes_separators() {
        let s = seg("NAD+CN++O?'Brien?+Sons?: Ltd??");
        assert_eq!(s.get(4, 0), "");
        assert_eq!(s.get(3, 0), "O'Brien+Sons: Ltd?");
    }

    #[test]
    fn write_then_split_round_trips() {
        let s = Segment::new("FTX")
            .e("AAA")
            .e("")
            .e("")
            .el(&["a'b", "c+d:e?*"]);
        let mut out = Vec::new();
        s.write_to(&Separators::WRITE, &mut out);
        assert_eq!(out, b"FTX+AAA+++a?'b:c?+d?:e???*'");
        let back = split(&out[..out.len() - 1], &Separators::WRITE, Charset::Utf8).unwrap();
        assert_eq!(back.get(4, 1), "c+d:e?*");
    }

    #[test]
    fn una_rejects_letters_and_duplicates() {
        assert!(Separators::from_una(b":+.? '").is_ok());
        assert!(Separators::from_una(b"A+.? '").is_err());
        assert!(Separators::from_una(b"++.? '").is_err());
        assert!(Separators::from_una(b":+").is_err());
    }
}
