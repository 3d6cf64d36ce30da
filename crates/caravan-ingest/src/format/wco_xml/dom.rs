//! A small namespace-resolved element tree.
//!
//! Both the schema compiler and the instance validator need random access to children
//! (content models are matched against the whole child list), so the document is read
//! into a tree once instead of being validated while streaming. Documents are capped in
//! size before they get here, and nesting depth is capped here, so the recursive walks
//! over this tree cannot overflow the stack.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::error::{Locator, SyntaxError};

/// Deepest element nesting accepted; DEC-DMS needs 8 levels, the XSDs about 12.
const MAX_DEPTH: usize = 64;

/// An element with its resolved namespace, attributes, direct text and child elements.
/// Comments and processing instructions are dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    /// Namespace URI, empty when unbound.
    pub(crate) ns: String,
    /// Local name.
    pub(crate) name: String,
    /// Attributes other than namespace declarations.
    pub(crate) attrs: Vec<Attr>,
    /// Namespace declarations made on this element: (prefix, uri); prefix "" is the default.
    pub(crate) ns_decls: Vec<(String, String)>,
    /// Concatenated character data (text and CDATA) directly inside this element.
    pub(crate) text: String,
    /// Child elements in document order.
    pub(crate) children: Vec<Element>,
    /// 1-based line of the start tag.
    pub(crate) line: u64,
}

/// One attribute, namespace-resolved (unprefixed attributes have no namespace).
#[derive(Debug, Clone, Default)]
pub(crate) struct Attr {
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) value: String,
}

impl Element {
    /// Value of an unqualified attribute.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.name == name)
            .map(|a| a.value.as_str())
    }
}

/// Computes 1-based line numbers from byte offsets.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, offset: u64) -> u64 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.text[self.pos..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.pos = offset;
        self.line
    }
}

fn malformed(line: u64, rule: impl Into<String>) -> SyntaxError {
    SyntaxError::new("XML_MALFORMED", Locator { line, record: 1 }, rule)
}

/// Parses a whole UTF-8 document into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, SyntaxError> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let mut lines = Lines {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = reader.buffer_position();
        let event = reader.read_resolved_event();
        let (ns, event) = match event {
            Ok(pair) => pair,
            Err(e) => {
                let line = lines.at(reader.error_position());
                return Err(malformed(line, format!("not well-formed XML: {e}")));
            }
        };
        let ns = match ns {
            ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                let line = lines.at(start);
                return Err(malformed(
                    line,
                    format!(
                        "namespace prefix {:?} is not declared",
                        String::from_utf8_lossy(&prefix)
                    ),
                ));
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let line = lines.at(start);
                if root.is_some() {
                    return Err(malformed(line, "content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(
                        line,
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                let mut el = Element {
                    ns: ns.unwrap_or_default(),
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    line,
                    ..Element::default()
                };
                for attr in e.attributes() {
                    let attr =
                        attr.map_err(|err| malformed(line, format!("bad attribute: {err}")))?;
                    let key = attr.key.as_ref();
                    let value = attr
                        .unescape_value()
                        .map_err(|err| malformed(line, format!("bad attribute value: {err}")))?;
                    // Attribute-value normalisation (XML 1.0, 3.3.3): white space becomes spaces.
                    let value: String = value
                        .chars()
                        .map(|c| {
                            if matches!(c, '\t' | '\n' | '\r') {
                                ' '
                            } else {
                                c
                            }
                        })
                        .collect();
                    if key == b"xmlns" {
                        el.ns_decls.push((String::new(), value));
                        continue;
                    }
                    if let Some(prefix) = key.strip_prefix(b"xmlns:") {
                        el.ns_decls
                            .push((String::from_utf8_lossy(prefix).into_owned(), value));
                        continue;
                    }
                    let (resolved, local) = reader.resolve_attribute(attr.key);
                    let ans = match resolved {
                        ResolveResult::Bound(ns) => {
                            String::from_utf8_lossy(ns.as_ref()).into_owned()
                        }
                        ResolveResult::Unbound => String::new(),
                        ResolveResult::Unknown(prefix) => {
                            return Err(malformed(
                                line,
                                format!(
                                    "namespace prefix {:?} is not declared",
                                    String::from_utf8_lossy(&prefix)
                                ),
                            ));
                        }
                    };
                    el.attrs.push(Attr {
                        ns: ans,
                        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
                        value,
                    });
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else {
                    close(&mut stack, &mut root, el);
                }
            }
            Event::End(_) => {
                let line = lines.at(start);
                let el = stack
                    .pop()
                    .ok_or_else(|| malformed(line, "end tag without start tag"))?;
                close(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| malformed(lines.at(start), format!("bad text: {e}")))?;
                push_text(&mut stack, &s, lines.at(start))?;
            }
            Event::CData(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| malformed(lines.at(start), format!("bad CDATA: {e}")))?;
                push_text(&mut stack, &s, lines.at(start))?;
            }
            Event::GeneralRef(r) => {
                let line = lines.at(start);
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r
                            .decode()
                            .map_err(|e| malformed(line, format!("bad reference: {e}")))?;
                        match name.as_ref() {
                            "lt" => "<".to_owned(),
                            "gt" => ">".to_owned(),
                            "amp" => "&".to_owned(),
                            "apos" => "'".to_owned(),
                            "quot" => "\"".to_owned(),
                            other => {
                                return Err(malformed(
                                    line,
                                    format!("undeclared entity &{other};"),
                                ));
                            }
                        }
                    }
                    Err(e) => return Err(malformed(line, format!("bad character reference: {e}"))),
                };
                push_text(&mut stack, &c, line)?;
            }
            Event::DocType(_) => {
                return Err(malformed(
                    lines.at(start),
                    "DOCTYPE declarations are not accepted",
                ));
            }
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => {
                let line = lines.at(reader.buffer_position());
                if let Some(open) = stack.last() {
                    return Err(malformed(
                        line,
                        format!("document ends inside element {}", open.name),
                    ));
                }
                return root.ok_or_else(|| malformed(line, "document has no root element"));
            }
        }
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], s: &str, line: u64) -> Result<(), SyntaxError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(malformed(line, "text outside the root element")),
    }
}
