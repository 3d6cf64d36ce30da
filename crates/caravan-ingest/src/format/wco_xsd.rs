//! Validation of WCO DEC-DMS documents against the published HMRC schema set.
//!
//! The spec requires every WCO XML declaration to be schema-valid before it is mapped,
//! and there is no usable pure-Rust XSD validator. Binding a C library (libxml2) would
//! bring a native build and `unsafe` into a crate that forbids it, so this module
//! implements exactly the part of XSD 1.0 that the seven schema files in
//! `schemas/wco-dec-dms/` use, and refuses (at compile time of the model, which a test
//! exercises) anything else rather than silently accepting it:
//!
//! - global and local `element` declarations, `type` references across the imported
//!   namespaces, anonymous complex and simple types, element `ref`s;
//! - `sequence`, `choice`, `group ref`, `any` (strict, lax, skip) with
//!   `minOccurs`/`maxOccurs`;
//! - `simpleContent` `extension` and `restriction` of complex types (this is how the
//!   `currencyID`, `unitCode`, `languageID`, `formatCode` attributes arrive), and
//!   `attribute` declarations with `use="required"`;
//! - simple-type restriction facets `length`, `minLength`, `maxLength`, `pattern`
//!   (XSD regular expressions: classes, escapes `\d \s \w` and negations, groups,
//!   alternation, quantifiers), `enumeration`, `totalDigits`, `fractionDigits`,
//!   `minInclusive`, `maxInclusive`, `minExclusive`, `maxExclusive`;
//! - built-in types `string`, `normalizedString`, `token`, `language`, `anyURI`,
//!   `decimal`, `integer`, `boolean`, with their white-space rules.
//!
//! The schema files are embedded with `include_str!` (a node never reads the shared
//! data folder at run time) and compiled once into a model held in a `OnceLock`.
//! Content models are matched greedily, which is exact for schemas that obey the XSD
//! "unique particle attribution" rule, as these do.
//!
//! Every violation is an `XML_SCHEMA_VIOLATION` naming the element path (with `[n]`
//! when siblings repeat) and the rule broken.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{Locator, SyntaxError};
use crate::format::wco_xml::dom::{self, Element};

const XS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The schema set, relative path and text; the layout is upstream's, so imports resolve.
const FILES: [(&str, &str); 7] = [
    (
        "DocumentMetaData_2_DMS.xsd",
        include_str!("../../schemas/wco-dec-dms/DocumentMetaData_2_DMS.xsd"),
    ),
    (
        "WCO_DEC_2_DMS.xsd",
        include_str!("../../schemas/wco-dec-dms/WCO_DEC_2_DMS.xsd"),
    ),
    (
        "WCO_DS/WCO_DEC_DS_2_DMS.xsd",
        include_str!("../../schemas/wco-dec-dms/WCO_DS/WCO_DEC_DS_2_DMS.xsd"),
    ),
    (
        "WCO_DS/WCO_METADATA_2_DMS.xsd",
        include_str!("../../schemas/wco-dec-dms/WCO_DS/WCO_METADATA_2_DMS.xsd"),
    ),
    (
        "UNECE/ISO_ISO3AlphaCurrencyCode_2012-08-31.xsd",
        include_str!("../../schemas/wco-dec-dms/UNECE/ISO_ISO3AlphaCurrencyCode_2012-08-31.xsd"),
    ),
    (
        "UNECE/UNECE_AgencyIdentificationCode_D12B.xsd",
        include_str!("../../schemas/wco-dec-dms/UNECE/UNECE_AgencyIdentificationCode_D12B.xsd"),
    ),
    (
        "UNECE/UnqualifiedDataType_6_DMS.xsd",
        include_str!("../../schemas/wco-dec-dms/UNECE/UnqualifiedDataType_6_DMS.xsd"),
    ),
];

/// Parses `bytes` as XML and validates it against the DEC-DMS schema set.
///
/// The root may be the `MetaData` wrapper or a bare `Declaration`; any other root is an
/// `XML_SCHEMA_VIOLATION` (callers that want `XML_NOT_WCO` check the root first, as
/// [`crate::format::wco_xml::read_document`] does).
pub fn validate_document(bytes: &[u8]) -> Result<(), SyntaxError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        SyntaxError::new(
            "XML_NOT_UTF8",
            Locator { line: 1, record: 1 },
            format!("document is not UTF-8: {e}"),
        )
    })?;
    let root = dom::parse(text)?;
    validate(&root)
}

/// Validates a parsed document tree.
pub(crate) fn validate(root: &Element) -> Result<(), SyntaxError> {
    let schema = schema().map_err(|e| {
        SyntaxError::new(
            "XML_SCHEMA_UNAVAILABLE",
            Locator {
                line: root.line,
                record: 1,
            },
            e.clone(),
        )
    })?;
    let Some(decl) = schema.globals.get(&(root.ns.clone(), root.name.clone())) else {
        return Err(violation(
            root,
            &format!("/{}", root.name),
            format!("no global element {} in namespace {:?}", root.name, root.ns),
        ));
    };
    Validator { schema }.element(root, decl, &format!("/{}", root.name))
}

/// Compiles the embedded schema set once; the error names the construct not supported.
fn schema() -> Result<&'static Schema, &'static String> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA.get_or_init(compile).as_ref()
}

/// Compiles the embedded schemas and reports how many types and global elements they
/// define; a failure names the unsupported construct. Exposed so a test can prove the
/// whole set compiles without needing a document.
pub fn compiled_schema_summary() -> Result<(usize, usize), String> {
    schema()
        .map(|s| (s.types.len(), s.globals.len()))
        .map_err(Clone::clone)
}

fn violation(el: &Element, path: &str, rule: impl Into<String>) -> SyntaxError {
    SyntaxError::new(
        "XML_SCHEMA_VIOLATION",
        Locator {
            line: el.line,
            record: 1,
        },
        rule,
    )
    .field(path)
}

// ----------------------------------------------------------------------------------------
// Model

type TypeId = usize;
type QName = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    String,
    NormalizedString,
    Token,
    Language,
    AnyUri,
    Decimal,
    Integer,
    Boolean,
}

#[derive(Debug, Clone)]
enum Facet {
    Length(usize),
    MinLength(usize),
    MaxLength(usize),
    /// Patterns of one derivation step: at least one must match.
    Patterns(Vec<pattern::Pattern>),
    /// Enumeration of one derivation step.
    Enumeration(Vec<String>),
    TotalDigits(usize),
    FractionDigits(usize),
    MinInclusive(String),
    MaxInclusive(String),
    MinExclusive(String),
    MaxExclusive(String),
}

/// A simple type flattened over its derivation chain: facets of every step all apply.
#[derive(Debug, Clone)]
struct SimpleDef {
    builtin: Builtin,
    facets: Vec<Facet>,
}

#[derive(Debug, Clone)]
struct AttrDecl {
    name: String,
    ty: SimpleDef,
    required: bool,
}

#[derive(Debug, Clone)]
enum Content {
    Empty,
    Simple(SimpleDef),
    Elements(Particle),
}

#[derive(Debug, Clone)]
struct ComplexDef {
    attrs: Vec<AttrDecl>,
    content: Content,
}

#[derive(Debug, Clone)]
enum TypeDef {
    Simple(SimpleDef),
    Complex(ComplexDef),
}

#[derive(Debug, Clone)]
struct ElemDecl {
    ns: String,
    name: String,
    ty: TypeId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    Strict,
    Lax,
    Skip,
}

#[derive(Debug, Clone)]
enum AnyNs {
    Any,
    Other(String),
    List(Vec<String>),
}

#[derive(Debug, Clone)]
enum Term {
    Element(ElemDecl),
    Sequence(Vec<Particle>),
    Choice(Vec<Particle>),
    Any(AnyNs, Process),
}

#[derive(Debug, Clone)]
struct Particle {
    min: u32,
    /// `None` is unbounded.
    max: Option<u32>,
    term: Term,
}

#[derive(Debug)]
struct Schema {
    types: Vec<TypeDef>,
    globals: HashMap<QName, ElemDecl>,
}

// ----------------------------------------------------------------------------------------
// Compiler

struct Doc {
    root: Element,
    tns: String,
    prefixes: HashMap<String, String>,
    qualified: bool,
}

struct Compiler {
    docs: Vec<Doc>,
    types: Vec<Option<TypeDef>>,
    memo: HashMap<QName, TypeId>,
}

fn compile() -> Result<Schema, String> {
    let mut docs = Vec::new();
    for (path, text) in FILES {
        let root = dom::parse(text).map_err(|e| format!("{path}: {e}"))?;
        if root.ns != XS || root.name != "schema" {
            return Err(format!("{path}: root is not xs:schema"));
        }
        let tns = root.attr("targetNamespace").unwrap_or_default().to_owned();
        let prefixes = root.ns_decls.iter().cloned().collect();
        let qualified = root.attr("elementFormDefault") == Some("qualified");
        for child in &root.children {
            if child.ns == XS
                && !matches!(
                    child.name.as_str(),
                    "annotation" | "import" | "element" | "complexType" | "simpleType" | "group"
                )
            {
                return Err(format!("{path}: unsupported top-level xs:{}", child.name));
            }
        }
        docs.push(Doc {
            root,
            tns,
            prefixes,
            qualified,
        });
    }
    let mut c = Compiler {
        docs,
        types: Vec::new(),
        memo: HashMap::new(),
    };
    let mut globals = HashMap::new();
    for d in 0..c.docs.len() {
        let tops: Vec<Element> = c.docs[d]
            .root
            .children
            .iter()
            .filter(|e| e.ns == XS && e.name == "element")
            .cloned()
            .collect();
        for el in tops {
            let decl = c.element_decl(d, &el, true)?;
            globals.insert((decl.ns.clone(), decl.name.clone()), decl);
        }
    }
    let mut types = Vec::with_capacity(c.types.len());
    for (i, t) in c.types.into_iter().enumerate() {
        types.push(
            t.ok_or_else(|| format!("type #{i} was never completed (circular simple content)"))?,
        );
    }
    Ok(Schema { types, globals })
}

fn xs_children(el: &Element) -> impl Iterator<Item = &Element> {
    el.children
        .iter()
        .filter(|c| c.ns == XS && c.name != "annotation")
}

fn parse_occurs(el: &Element) -> Result<(u32, Option<u32>), String> {
    let min = match el.attr("minOccurs") {
        None => 1,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("bad minOccurs {v:?}"))?,
    };
    let max = match el.attr("maxOccurs") {
        None => Some(1),
        Some("unbounded") => None,
        Some(v) => Some(
            v.trim()
                .parse()
                .map_err(|_| format!("bad maxOccurs {v:?}"))?,
        ),
    };
    Ok((min, max))
}

impl Compiler {
    fn qname(&self, d: usize, raw: &str) -> QName {
        let raw = raw.trim();
        let (prefix, local) = raw.split_once(':').unwrap_or(("", raw));
        let ns = self.docs[d]
            .prefixes
            .get(prefix)
            .cloned()
            .unwrap_or_default();
        (ns, local.to_owned())
    }

    /// Finds a top-level definition (`kind` = complexType, simpleType, group, element).
    fn find(&self, kind: &str, q: &QName) -> Option<(usize, Element)> {
        self.docs
            .iter()
            .enumerate()
            .filter(|(_, doc)| doc.tns == q.0)
            .find_map(|(i, doc)| {
                doc.root
                    .children
                    .iter()
                    .find(|e| e.ns == XS && e.name == kind && e.attr("name") == Some(q.1.as_str()))
                    .map(|e| (i, e.clone()))
            })
    }

    fn alloc(&mut self, t: Option<TypeDef>) -> TypeId {
        self.types.push(t);
        self.types.len() - 1
    }

    fn type_id(&mut self, q: &QName) -> Result<TypeId, String> {
        if let Some(id) = self.memo.get(q) {
            return Ok(*id);
        }
        let def = if q.0 == XS {
            let builtin = match q.1.as_str() {
                "string" => Builtin::String,
                "normalizedString" => Builtin::NormalizedString,
                "token" => Builtin::Token,
                "language" => Builtin::Language,
                "anyURI" => Builtin::AnyUri,
                "decimal" => Builtin::Decimal,
                "integer" => Builtin::Integer,
                "boolean" => Builtin::Boolean,
                other => return Err(format!("unsupported built-in type xs:{other}")),
            };
            let id = self.alloc(Some(TypeDef::Simple(SimpleDef {
                builtin,
                facets: Vec::new(),
            })));
            self.memo.insert(q.clone(), id);
            return Ok(id);
        } else if let Some((d, el)) = self.find("complexType", q) {
            (d, el, true)
        } else if let Some((d, el)) = self.find("simpleType", q) {
            (d, el, false)
        } else {
            return Err(format!("type {{{}}}{} is not defined", q.0, q.1));
        };
        let id = self.alloc(None);
        self.memo.insert(q.clone(), id);
        let (d, el, complex) = def;
        let t = if complex {
            TypeDef::Complex(self.complex(d, &el)?)
        } else {
            TypeDef::Simple(self.simple(d, &el)?)
        };
        self.types[id] = Some(t);
        Ok(id)
    }

    fn simple_of(&mut self, d: usize, raw: &str) -> Result<SimpleDef, String> {
        let q = self.qname(d, raw);
        let id = self.type_id(&q)?;
        match &self.types[id] {
            Some(TypeDef::Simple(s)) => Ok(s.clone()),
            Some(TypeDef::Complex(ComplexDef {
                content: Content::Simple(s),
                ..
            })) => Ok(s.clone()),
            _ => Err(format!("{raw} is not a simple type")),
        }
    }

    /// Compiles an `xs:simpleType`.
    fn simple(&mut self, d: usize, el: &Element) -> Result<SimpleDef, String> {
        let Some(restriction) = xs_children(el).find(|c| c.name == "restriction") else {
            return Err("simpleType without restriction (list/union are not supported)".to_owned());
        };
        let mut base = match restriction.attr("base") {
            Some(b) => self.simple_of(d, b)?,
            None => match xs_children(restriction).find(|c| c.name == "simpleType") {
                Some(inner) => self.simple(d, inner)?,
                None => return Err("restriction without base".to_owned()),
            },
        };
        base.facets.extend(facets(restriction)?);
        Ok(base)
    }

    /// Compiles an `xs:complexType`.
    fn complex(&mut self, d: usize, el: &Element) -> Result<ComplexDef, String> {
        if el.attr("mixed") == Some("true") {
            return Err("mixed content is not supported".to_owned());
        }
        let mut def = ComplexDef {
            attrs: Vec::new(),
            content: Content::Empty,
        };
        for child in xs_children(el) {
            match child.name.as_str() {
                "sequence" | "choice" | "group" => {
                    def.content = Content::Elements(self.particle(d, child)?)
                }
                "attribute" => def.attrs.push(self.attribute(d, child)?),
                "simpleContent" => {
                    let Some(deriv) = xs_children(child).next() else {
                        return Err("empty simpleContent".to_owned());
                    };
                    let base_raw = deriv
                        .attr("base")
                        .ok_or("simpleContent derivation without base")?;
                    let q = self.qname(d, base_raw);
                    let id = self.type_id(&q)?;
                    let (mut simple, mut attrs) = match &self.types[id] {
                        Some(TypeDef::Simple(s)) => (s.clone(), Vec::new()),
                        Some(TypeDef::Complex(ComplexDef {
                            content: Content::Simple(s),
                            attrs,
                        })) => (s.clone(), attrs.clone()),
                        _ => {
                            return Err(format!(
                                "simpleContent base {base_raw} has no simple content"
                            ));
                        }
                    };
                    match deriv.name.as_str() {
                        "extension" => {}
                        "restriction" => simple.facets.extend(facets(deriv)?),
                        other => {
                            return Err(format!("unsupported simpleContent derivation {other}"));
                        }
                    }
                    for a in xs_children(deriv).filter(|c| c.name == "attribute") {
                        let a = self.attribute(d, a)?;
                        attrs.retain(|x| x.name != a.name);
                        attrs.push(a);
                    }
                    if let Some(bad) =
                        xs_children(deriv).find(|c| !is_facet(&c.name) && c.name != "attribute")
                    {
                        return Err(format!("unsupported xs:{} in simpleContent", bad.name));
                    }
                    def.attrs = attrs;
                    def.content = Content::Simple(simple);
                }
                other => return Err(format!("unsupported xs:{other} in complexType")),
            }
        }
        Ok(def)
    }

    fn attribute(&mut self, d: usize, el: &Element) -> Result<AttrDecl, String> {
        let name = el
            .attr("name")
            .ok_or("attribute without name (attribute refs are not supported)")?;
        let ty = match (
            el.attr("type"),
            xs_children(el).find(|c| c.name == "simpleType"),
        ) {
            (Some(t), _) => self.simple_of(d, t)?,
            (None, Some(inner)) => self.simple(d, inner)?,
            (None, None) => SimpleDef {
                builtin: Builtin::String,
                facets: Vec::new(),
            },
        };
        Ok(AttrDecl {
            name: name.to_owned(),
            ty,
            required: el.attr("use") == Some("required"),
        })
    }

    fn element_decl(&mut self, d: usize, el: &Element, global: bool) -> Result<ElemDecl, String> {
        if let Some(r) = el.attr("ref") {
            let q = self.qname(d, r);
            let (gd, gel) = self
                .find("element", &q)
                .ok_or_else(|| format!("element ref {r} not found"))?;
            return self.element_decl(gd, &gel, true);
        }
        let name = el
            .attr("name")
            .ok_or("element without name or ref")?
            .to_owned();
        let ns = if global || self.docs[d].qualified {
            self.docs[d].tns.clone()
        } else {
            String::new()
        };
        let ty = if let Some(t) = el.attr("type") {
            let q = self.qname(d, t);
            self.type_id(&q)?
        } else if let Some(inner) = xs_children(el).find(|c| c.name == "complexType") {
            let id = self.alloc(None);
            let t = TypeDef::Complex(self.complex(d, inner)?);
            self.types[id] = Some(t);
            id
        } else if let Some(inner) = xs_children(el).find(|c| c.name == "simpleType") {
            let t = TypeDef::Simple(self.simple(d, inner)?);
            self.alloc(Some(t))
        } else {
            return Err(format!(
                "element {name} has no type (xs:anyType is not supported)"
            ));
        };
        Ok(ElemDecl { ns, name, ty })
    }

    fn particle(&mut self, d: usize, el: &Element) -> Result<Particle, String> {
        let (min, max) = parse_occurs(el)?;
        let term = match el.name.as_str() {
            "element" => Term::Element(self.element_decl(d, el, false)?),
            "sequence" | "choice" => {
                let mut items = Vec::new();
                for c in xs_children(el) {
                    items.push(self.particle(d, c)?);
                }
                if el.name == "sequence" {
                    Term::Sequence(items)
                } else {
                    Term::Choice(items)
                }
            }
            "group" => {
                let r = el.attr("ref").ok_or("group without ref")?;
                let q = self.qname(d, r);
                let (gd, gel) = self
                    .find("group", &q)
                    .ok_or_else(|| format!("group {r} not found"))?;
                let inner = xs_children(&gel)
                    .next()
                    .ok_or_else(|| format!("group {r} is empty"))?
                    .clone();
                Term::Sequence(vec![self.particle(gd, &inner)?])
            }
            "any" => {
                let ns = match el.attr("namespace").map(str::trim) {
                    None | Some("##any") => AnyNs::Any,
                    Some("##other") => AnyNs::Other(self.docs[d].tns.clone()),
                    Some(list) => AnyNs::List(
                        list.split_whitespace()
                            .map(|n| match n {
                                "##targetNamespace" => self.docs[d].tns.clone(),
                                "##local" => String::new(),
                                other => other.to_owned(),
                            })
                            .collect(),
                    ),
                };
                let process = match el.attr("processContents") {
                    None | Some("strict") => Process::Strict,
                    Some("lax") => Process::Lax,
                    Some("skip") => Process::Skip,
                    Some(other) => return Err(format!("bad processContents {other}")),
                };
                Term::Any(ns, process)
            }
            other => return Err(format!("unsupported particle xs:{other}")),
        };
        Ok(Particle { min, max, term })
    }
}

fn is_facet(name: &str) -> bool {
    matches!(
        name,
        "length"
            | "minLength"
            | "maxLength"
            | "pattern"
            | "enumeration"
            | "totalDigits"
            | "fractionDigits"
            | "minInclusive"
            | "maxInclusive"
            | "minExclusive"
            | "maxExclusive"
            | "whiteSpace"
    )
}

fn facets(restriction: &Element) -> Result<Vec<Facet>, String> {
    let mut out = Vec::new();
    let mut patterns = Vec::new();
    let mut enums = Vec::new();
    for f in xs_children(restriction) {
        let value = || {
            f.attr("value")
                .map(str::to_owned)
                .ok_or(format!("facet {} without value", f.name))
        };
        let number = || -> Result<usize, String> {
            let v = value()?;
            v.trim()
                .parse()
                .map_err(|_| format!("facet {} has bad value {v:?}", f.name))
        };
        match f.name.as_str() {
            "length" => out.push(Facet::Length(number()?)),
            "minLength" => out.push(Facet::MinLength(number()?)),
            "maxLength" => out.push(Facet::MaxLength(number()?)),
            "totalDigits" => out.push(Facet::TotalDigits(number()?)),
            "fractionDigits" => out.push(Facet::FractionDigits(number()?)),
            "minInclusive" => out.push(Facet::MinInclusive(value()?)),
            "maxInclusive" => out.push(Facet::MaxInclusive(value()?)),
            "minExclusive" => out.push(Facet::MinExclusive(value()?)),
            "maxExclusive" => out.push(Facet::MaxExclusive(value()?)),
            "pattern" => patterns.push(pattern::Pattern::compile(&value()?)?),
            "enumeration" => enums.push(value()?),
            "whiteSpace" => return Err("whiteSpace facet is not supported".to_owned()),
            "attribute" | "simpleType" => {}
            other => return Err(format!("unsupported facet xs:{other}")),
        }
    }
    if !patterns.is_empty() {
        out.push(Facet::Patterns(patterns));
    }
    if !enums.is_empty() {
        out.push(Facet::Enumeration(enums));
    }
    Ok(out)
}

// ----------------------------------------------------------------------------------------
// Validator

struct Validator<'s> {
    schema: &'s Schema,
}

impl Validator<'_> {
    fn element(&self, el: &Element, decl: &ElemDecl, path: &str) -> Result<(), SyntaxError> {
        match &self.schema.types[decl.ty] {
            TypeDef::Simple(s) => {
                self.attributes(el, &[], path)?;
                self.simple_content(el, s, path)
            }
            TypeDef::Complex(c) => {
                self.attributes(el, &c.attrs, path)?;
                match &c.content {
                    Content::Empty => {
                        if let Some(child) = el.children.first() {
                            return Err(violation(
                                child,
                                path,
                                format!(
                                    "element {} is not allowed here: content must be empty",
                                    child.name
                                ),
                            ));
                        }
                        if !el.text.trim().is_empty() {
                            return Err(violation(
                                el,
                                path,
                                "text is not allowed here: content must be empty",
                            )
                            .value(el.text.trim()));
                        }
                        Ok(())
                    }
                    Content::Simple(s) => self.simple_content(el, s, path),
                    Content::Elements(p) => {
                        if !el.text.trim().is_empty() {
                            return Err(violation(
                                el,
                                path,
                                "text is not allowed in element-only content",
                            )
                            .value(el.text.trim()));
                        }
                        let mut pos = 0;
                        self.particle(p, el, &mut pos, path)?;
                        if let Some(extra) = el.children.get(pos) {
                            return Err(self.unexpected(p, el, pos, extra, path));
                        }
                        Ok(())
                    }
                }
            }
        }
    }

    fn simple_content(&self, el: &Element, s: &SimpleDef, path: &str) -> Result<(), SyntaxError> {
        if let Some(child) = el.children.first() {
            return Err(violation(
                child,
                path,
                format!(
                    "element {} is not allowed inside a simple value",
                    child.name
                ),
            ));
        }
        check_value(s, &el.text).map_err(|rule| violation(el, path, rule).value(&el.text))
    }

    fn attributes(&self, el: &Element, decls: &[AttrDecl], path: &str) -> Result<(), SyntaxError> {
        for a in &el.attrs {
            if a.ns == XSI {
                continue;
            }
            let apath = format!("{path}/@{}", a.name);
            let decl = if a.ns.is_empty() {
                decls.iter().find(|d| d.name == a.name)
            } else {
                None
            };
            let Some(decl) = decl else {
                return Err(violation(
                    el,
                    &apath,
                    format!("attribute {} is not allowed on {}", a.name, el.name),
                ));
            };
            check_value(&decl.ty, &a.value)
                .map_err(|rule| violation(el, &apath, rule).value(&a.value))?;
        }
        for d in decls.iter().filter(|d| d.required) {
            if !el.attrs.iter().any(|a| a.ns.is_empty() && a.name == d.name) {
                return Err(violation(
                    el,
                    path,
                    format!("missing required attribute {}", d.name),
                ));
            }
        }
        Ok(())
    }

    fn global(&self, el: &Element) -> Option<&ElemDecl> {
        self.schema.globals.get(&(el.ns.clone(), el.name.clone()))
    }

    /// Matches `p` against the children of `parent` from `*pos`, advancing `pos`.
    fn particle(
        &self,
        p: &Particle,
        parent: &Element,
        pos: &mut usize,
        path: &str,
    ) -> Result<(), SyntaxError> {
        let kids = &parent.children;
        match &p.term {
            Term::Element(decl) => {
                let mut n = 0u32;
                while p.max.is_none_or(|m| n < m)
                    && kids
                        .get(*pos)
                        .is_some_and(|k| k.name == decl.name && k.ns == decl.ns)
                {
                    let kid = &kids[*pos];
                    self.element(kid, decl, &child_path(parent, *pos, path))?;
                    n += 1;
                    *pos += 1;
                }
                if n < p.min {
                    return Err(self.missing(&decl.name, parent, *pos, path));
                }
                Ok(())
            }
            Term::Any(ns, process) => {
                let mut n = 0u32;
                while p.max.is_none_or(|m| n < m)
                    && kids.get(*pos).is_some_and(|k| any_matches(ns, &k.ns))
                {
                    let kid = &kids[*pos];
                    let kpath = child_path(parent, *pos, path);
                    match (self.global(kid), process) {
                        (Some(decl), Process::Strict | Process::Lax) => {
                            self.element(kid, decl, &kpath)?
                        }
                        (None, Process::Strict) => {
                            return Err(violation(
                                kid,
                                &kpath,
                                format!(
                                    "no declaration for element {} in namespace {:?}",
                                    kid.name, kid.ns
                                ),
                            ));
                        }
                        _ => {}
                    }
                    n += 1;
                    *pos += 1;
                }
                if n < p.min {
                    let what = match ns {
                        AnyNs::List(l) => format!("an element from {}", l.join(" ")),
                        _ => "an element".to_owned(),
                    };
                    return Err(match kids.get(*pos) {
                        Some(k) => violation(
                            k,
                            path,
                            format!("missing {what}; found {} in namespace {:?}", k.name, k.ns),
                        ),
                        None => violation(parent, path, format!("missing {what}")),
                    });
                }
                Ok(())
            }
            Term::Sequence(items) => {
                let mut reps = 0u32;
                while p.max.is_none_or(|m| reps < m) {
                    let starts = kids.get(*pos).is_some_and(|k| can_start(p, k));
                    if reps >= p.min && !starts {
                        break;
                    }
                    let before = *pos;
                    for item in items {
                        self.particle(item, parent, pos, path)?;
                    }
                    reps += 1;
                    if *pos == before && reps >= p.min {
                        break;
                    }
                }
                Ok(())
            }
            Term::Choice(alts) => {
                let mut reps = 0u32;
                while p.max.is_none_or(|m| reps < m) {
                    let alt = kids
                        .get(*pos)
                        .and_then(|k| alts.iter().find(|a| can_start(a, k)));
                    match alt {
                        Some(a) => {
                            let before = *pos;
                            self.particle(a, parent, pos, path)?;
                            reps += 1;
                            if *pos == before {
                                break;
                            }
                        }
                        None if reps >= p.min || alts.iter().any(nullable) => break,
                        None => {
                            let names: Vec<String> = alts.iter().flat_map(first_names).collect();
                            let expected = names.join(" or ");
                            return Err(match kids.get(*pos) {
                                Some(k) => violation(
                                    k,
                                    &child_path(parent, *pos, path),
                                    format!("unexpected element {}; expected {expected}", k.name),
                                ),
                                None => violation(parent, path, format!("missing {expected}")),
                            });
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn missing(&self, name: &str, parent: &Element, pos: usize, path: &str) -> SyntaxError {
        let later = parent.children[pos..].iter().any(|k| k.name == name);
        match parent.children.get(pos) {
            Some(k) if later => violation(
                k,
                path,
                format!("wrong order: element {name} must come before {}", k.name),
            ),
            Some(k) => violation(
                k,
                path,
                format!("missing required element {name} (found {})", k.name),
            ),
            None => violation(parent, path, format!("missing required element {name}")),
        }
    }

    fn unexpected(
        &self,
        p: &Particle,
        parent: &Element,
        pos: usize,
        extra: &Element,
        path: &str,
    ) -> SyntaxError {
        let kpath = child_path(parent, pos, path);
        match max_of(p, &extra.name) {
            Some(max) => {
                let seen = parent.children[..pos]
                    .iter()
                    .filter(|k| k.name == extra.name)
                    .count();
                match max {
                    Some(m) if seen >= m as usize => violation(
                        extra,
                        &kpath,
                        format!(
                            "too many occurrences of element {} (at most {m})",
                            extra.name
                        ),
                    ),
                    _ => violation(
                        extra,
                        &kpath,
                        format!(
                            "wrong order: element {} is not allowed at this position",
                            extra.name
                        ),
                    ),
                }
            }
            None => violation(
                extra,
                &kpath,
                format!("unexpected element {} in {}", extra.name, parent.name),
            ),
        }
    }
}

fn child_path(parent: &Element, pos: usize, path: &str) -> String {
    let kid = &parent.children[pos];
    let same = parent
        .children
        .iter()
        .filter(|k| k.name == kid.name)
        .count();
    if same > 1 {
        let idx = parent.children[..pos]
            .iter()
            .filter(|k| k.name == kid.name)
            .count()
            + 1;
        format!("{path}/{}[{idx}]", kid.name)
    } else {
        format!("{path}/{}", kid.name)
    }
}

fn any_matches(ns: &AnyNs, el_ns: &str) -> bool {
    match ns {
        AnyNs::Any => true,
        AnyNs::Other(tns) => el_ns != tns && !el_ns.is_empty(),
        AnyNs::List(list) => list.iter().any(|n| n == el_ns),
    }
}

fn can_start(p: &Particle, el: &Element) -> bool {
    match &p.term {
        Term::Element(d) => d.name == el.name && d.ns == el.ns,
        Term::Any(ns, _) => any_matches(ns, &el.ns),
        Term::Choice(alts) => alts.iter().any(|a| can_start(a, el)),
        Term::Sequence(items) => {
            for item in items {
                if can_start(item, el) {
                    return true;
                }
                if !nullable(item) {
                    return false;
                }
            }
            false
        }
    }
}

fn nullable(p: &Particle) -> bool {
    p.min == 0
        || match &p.term {
            Term::Element(_) | Term::Any(..) => false,
            Term::Sequence(items) => items.iter().all(nullable),
            Term::Choice(alts) => alts.iter().any(nullable),
        }
}

fn first_names(p: &Particle) -> Vec<String> {
    match &p.term {
        Term::Element(d) => vec![d.name.clone()],
        Term::Any(AnyNs::List(l), _) => vec![format!("an element in {}", l.join(" "))],
        Term::Any(..) => vec!["an element".to_owned()],
        Term::Choice(alts) => alts.iter().flat_map(first_names).collect(),
        Term::Sequence(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(first_names(item));
                if !nullable(item) {
                    break;
                }
            }
            out
        }
    }
}

/// The `maxOccurs` of the element particle named `name` directly in this content model
/// (`Some(None)` = unbounded), or `None` when the model has no such element.
fn max_of(p: &Particle, name: &str) -> Option<Option<u32>> {
    match &p.term {
        Term::Element(d) if d.name == name => Some(p.max),
        Term::Element(_) | Term::Any(..) => None,
        Term::Sequence(items) | Term::Choice(items) => items.iter().find_map(|i| max_of(i, name)),
    }
}

// ----------------------------------------------------------------------------------------
// Simple values

fn collapse(s: &str) -> String {
    s.split([' ', '\t', '\n', '\r'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A decimal split into sign, integer digits (no leading zeros) and fraction digits (no
/// trailing zeros).
struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

fn parse_decimal(v: &str) -> Option<Decimal> {
    let (negative, body) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Decimal {
        negative,
        int: int.trim_start_matches('0').to_owned(),
        frac: frac.trim_end_matches('0').to_owned(),
    })
}

fn decimal_cmp(a: &Decimal, b: &Decimal) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let a_zero = a.int.is_empty() && a.frac.is_empty();
    let b_zero = b.int.is_empty() && b.frac.is_empty();
    let a_neg = a.negative && !a_zero;
    let b_neg = b.negative && !b_zero;
    if a_neg != b_neg {
        return if a_neg {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    let magnitude = a
        .int
        .len()
        .cmp(&b.int.len())
        .then_with(|| a.int.cmp(&b.int))
        .then_with(|| a.frac.cmp(&b.frac));
    if a_neg {
        magnitude.reverse()
    } else {
        magnitude
    }
}

fn is_language(v: &str) -> bool {
    let mut parts = v.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Checks a value against a simple type; the error is the rule broken.
fn check_value(s: &SimpleDef, raw: &str) -> Result<(), String> {
    let v = match s.builtin {
        Builtin::String => raw.to_owned(),
        Builtin::NormalizedString => raw.replace(['\t', '\n', '\r'], " "),
        _ => collapse(raw),
    };
    let dec = match s.builtin {
        Builtin::Decimal => Some(parse_decimal(&v).ok_or("not a decimal number")?),
        Builtin::Integer => {
            let d = parse_decimal(&v)
                .filter(|_| !v.contains('.'))
                .ok_or("not an integer")?;
            Some(d)
        }
        Builtin::Boolean => {
            if !matches!(v.as_str(), "true" | "false" | "1" | "0") {
                return Err("not a boolean (true, false, 1, 0)".to_owned());
            }
            None
        }
        Builtin::Language => {
            if !is_language(&v) {
                return Err("not a language tag".to_owned());
            }
            None
        }
        _ => None,
    };
    let chars = v.chars().count();
    let bound =
        |limit: &str, ok: fn(std::cmp::Ordering) -> bool, name: &str| -> Result<(), String> {
            let (Some(d), Some(l)) = (dec.as_ref(), parse_decimal(limit)) else {
                return Ok(());
            };
            if ok(decimal_cmp(d, &l)) {
                Ok(())
            } else {
                Err(format!("value violates {name} {limit}"))
            }
        };
    for f in &s.facets {
        match f {
            Facet::Length(n) if chars != *n => {
                return Err(format!("length must be exactly {n}, is {chars}"));
            }
            Facet::MinLength(n) if chars < *n => return Err(format!("shorter than minLength {n}")),
            Facet::MaxLength(n) if chars > *n => {
                return Err(format!("longer than maxLength {n} ({chars} characters)"));
            }
            Facet::Patterns(ps) if !ps.iter().any(|p| p.is_match(&v)) => {
                let srcs: Vec<&str> = ps.iter().map(|p| p.source()).collect();
                return Err(format!("does not match pattern {}", srcs.join(" | ")));
            }
            Facet::Enumeration(values) if !values.contains(&v) => {
                return Err(format!(
                    "not one of the allowed values {}",
                    values.join(", ")
                ));
            }
            Facet::TotalDigits(n) => {
                if let Some(d) = &dec
                    && d.int.len() + d.frac.len() > *n
                {
                    let total = d.int.len() + d.frac.len();
                    return Err(format!("more than totalDigits {n} digits ({total})"));
                }
            }
            Facet::FractionDigits(n) => {
                if let Some(d) = &dec
                    && d.frac.len() > *n
                {
                    let got = d.frac.len();
                    return Err(format!("more than fractionDigits {n} decimals ({got})"));
                }
            }
            Facet::MinInclusive(l) => bound(l, |o| o.is_ge(), "minInclusive")?,
            Facet::MaxInclusive(l) => bound(l, |o| o.is_le(), "maxInclusive")?,
            Facet::MinExclusive(l) => bound(l, |o| o.is_gt(), "minExclusive")?,
            Facet::MaxExclusive(l) => bound(l, |o| o.is_lt(), "maxExclusive")?,
            _ => {}
        }
    }
    Ok(())
}

/// XSD regular expressions (XML Schema Part 2, appendix F), the subset the schemas use:
/// implicitly anchored; literals, `.`, escapes, character classes with ranges and
/// negation, groups, alternation and the quantifiers `* + ? {n} {n,} {n,m}`.
/// Matching runs over sets of positions, so it is linear-ish and never backtracks.
mod pattern {
    #[derive(Debug, Clone)]
    enum Item {
        Range(char, char),
        Digit(bool),
        Space(bool),
        Word(bool),
    }

    #[derive(Debug, Clone)]
    struct Set {
        negated: bool,
        items: Vec<Item>,
    }

    impl Set {
        fn one(item: Item) -> Set {
            Set {
                negated: false,
                items: vec![item],
            }
        }

        fn matches(&self, c: char) -> bool {
            let hit = self.items.iter().any(|i| match i {
                Item::Range(a, b) => (*a..=*b).contains(&c),
                Item::Digit(neg) => is_digit(c) != *neg,
                Item::Space(neg) => matches!(c, ' ' | '\t' | '\n' | '\r') != *neg,
                Item::Word(neg) => is_word(c) != *neg,
            });
            hit != self.negated
        }
    }

    fn is_digit(c: char) -> bool {
        c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
    }

    fn is_word(c: char) -> bool {
        !(c.is_whitespace() || c.is_control() || c.is_ascii_punctuation())
    }

    #[derive(Debug, Clone)]
    enum Node {
        Set(Set),
        Group(Vec<Vec<Node>>),
        Repeat(Box<Node>, u32, Option<u32>),
    }

    /// A compiled pattern facet.
    #[derive(Debug, Clone)]
    pub(super) struct Pattern {
        source: String,
        alts: Vec<Vec<Node>>,
    }

    impl Pattern {
        pub(super) fn compile(source: &str) -> Result<Pattern, String> {
            let chars: Vec<char> = source.chars().collect();
            let mut i = 0;
            let alts = parse_alts(&chars, &mut i, false)
                .map_err(|e| format!("pattern {source:?}: {e}"))?;
            Ok(Pattern {
                source: source.to_owned(),
                alts,
            })
        }

        pub(super) fn source(&self) -> &str {
            &self.source
        }

        pub(super) fn is_match(&self, value: &str) -> bool {
            let s: Vec<char> = value.chars().collect();
            let mut starts = vec![false; s.len() + 1];
            starts[0] = true;
            alts_step(&self.alts, &s, &starts)[s.len()]
        }
    }

    fn parse_alts(c: &[char], i: &mut usize, in_group: bool) -> Result<Vec<Vec<Node>>, String> {
        let mut alts = vec![Vec::new()];
        while *i < c.len() {
            let atom = match c[*i] {
                '|' => {
                    *i += 1;
                    alts.push(Vec::new());
                    continue;
                }
                ')' if in_group => return Ok(alts),
                ')' => return Err("unbalanced )".to_owned()),
                '(' => {
                    *i += 1;
                    let inner = parse_alts(c, i, true)?;
                    if c.get(*i) != Some(&')') {
                        return Err("missing )".to_owned());
                    }
                    *i += 1;
                    Node::Group(inner)
                }
                '[' => {
                    *i += 1;
                    Node::Set(parse_class(c, i)?)
                }
                '.' => {
                    *i += 1;
                    Node::Set(Set {
                        negated: true,
                        items: vec![Item::Range('\n', '\n'), Item::Range('\r', '\r')],
                    })
                }
                '\\' => {
                    *i += 1;
                    Node::Set(Set::one(parse_escape(c, i)?))
                }
                '*' | '+' | '?' | '{' => return Err(format!("quantifier {} without atom", c[*i])),
                ch => {
                    *i += 1;
                    Node::Set(Set::one(Item::Range(ch, ch)))
                }
            };
            let node = parse_quantifier(c, i, atom)?;
            if let Some(last) = alts.last_mut() {
                last.push(node);
            }
        }
        if in_group {
            return Err("missing )".to_owned());
        }
        Ok(alts)
    }

    fn parse_quantifier(c: &[char], i: &mut usize, atom: Node) -> Result<Node, String> {
        let (min, max) = match c.get(*i) {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let close = c[*i..].iter().position(|&x| x == '}').ok_or("missing }")? + *i;
                let body: String = c[*i + 1..close].iter().collect();
                let num = |s: &str| {
                    s.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("bad quantifier {{{body}}}"))
                };
                let q = match body.split_once(',') {
                    None => {
                        let n = num(&body)?;
                        (n, Some(n))
                    }
                    Some((a, "")) => (num(a)?, None),
                    Some((a, b)) => (num(a)?, Some(num(b)?)),
                };
                *i = close;
                q
            }
            _ => return Ok(atom),
        };
        *i += 1;
        Ok(Node::Repeat(Box::new(atom), min, max))
    }

    fn parse_escape(c: &[char], i: &mut usize) -> Result<Item, String> {
        let e = *c.get(*i).ok_or("dangling \\")?;
        *i += 1;
        Ok(match e {
            'd' => Item::Digit(false),
            'D' => Item::Digit(true),
            's' => Item::Space(false),
            'S' => Item::Space(true),
            'w' => Item::Word(false),
            'W' => Item::Word(true),
            'n' => Item::Range('\n', '\n'),
            'r' => Item::Range('\r', '\r'),
            't' => Item::Range('\t', '\t'),
            '\\' | '|' | '.' | '-' | '^' | '?' | '*' | '+' | '{' | '}' | '(' | ')' | '[' | ']' => {
                Item::Range(e, e)
            }
            other => return Err(format!("unsupported escape \\{other}")),
        })
    }

    fn parse_class(c: &[char], i: &mut usize) -> Result<Set, String> {
        let mut set = Set {
            negated: false,
            items: Vec::new(),
        };
        if c.get(*i) == Some(&'^') {
            set.negated = true;
            *i += 1;
        }
        loop {
            let ch = *c.get(*i).ok_or("missing ]")?;
            match ch {
                ']' if !set.items.is_empty() || set.negated => {
                    *i += 1;
                    return Ok(set);
                }
                '[' => return Err("character class subtraction is not supported".to_owned()),
                '\\' => {
                    *i += 1;
                    let item = parse_escape(c, i)?;
                    set.items.push(range_tail(c, i, item)?);
                }
                _ => {
                    *i += 1;
                    set.items.push(range_tail(c, i, Item::Range(ch, ch))?);
                }
            }
        }
    }

    /// Turns `a` into `a-b` when a range follows.
    fn range_tail(c: &[char], i: &mut usize, first: Item) -> Result<Item, String> {
        let Item::Range(a, _) = first else {
            return Ok(first);
        };
        if c.get(*i) == Some(&'-') && c.get(*i + 1).is_some_and(|x| *x != ']' && *x != '[') {
            *i += 1;
            let b = if c[*i] == '\\' {
                *i += 1;
                match parse_escape(c, i)? {
                    Item::Range(b, _) => b,
                    _ => return Err("class escape as range end".to_owned()),
                }
            } else {
                *i += 1;
                c[*i - 1]
            };
            if b < a {
                return Err(format!("bad range {a}-{b}"));
            }
            return Ok(Item::Range(a, b));
        }
        Ok(first)
    }

    fn alts_step(alts: &[Vec<Node>], s: &[char], starts: &[bool]) -> Vec<bool> {
        let mut out = vec![false; starts.len()];
        for alt in alts {
            let mut cur = starts.to_vec();
            for node in alt {
                cur = step(node, s, &cur);
            }
            for (o, c) in out.iter_mut().zip(cur) {
                *o |= c;
            }
        }
        out
    }

    fn step(node: &Node, s: &[char], starts: &[bool]) -> Vec<bool> {
        match node {
            Node::Set(set) => {
                let mut out = vec![false; starts.len()];
                for (i, ch) in s.iter().enumerate() {
                    if starts[i] && set.matches(*ch) {
                        out[i + 1] = true;
                    }
                }
                out
            }
            Node::Group(alts) => alts_step(alts, s, starts),
            Node::Repeat(inner, min, max) => {
                let mut frontier = starts.to_vec();
                for _ in 0..*min {
                    frontier = step(inner, s, &frontier);
                }
                let mut result = frontier.clone();
                match (max, inner.as_ref()) {
                    (None, Node::Set(set)) => {
                        // Kleene closure over one character set, in one pass.
                        for (i, ch) in s.iter().enumerate() {
                            if result[i] && set.matches(*ch) {
                                result[i + 1] = true;
                            }
                        }
                    }
                    _ => {
                        let extra = max.map_or(s.len() + 1, |m| m.saturating_sub(*min) as usize);
                        for _ in 0..extra {
                            let next = step(inner, s, &frontier);
                            let mut grew = false;
                            for (r, n) in result.iter_mut().zip(&next) {
                                if *n && !*r {
                                    *r = true;
                                    grew = true;
                                }
                            }
                            if !next.iter().any(|x| *x) || (max.is_none() && !grew) {
                                break;
                            }
                            frontier = next;
                        }
                    }
                }
                result
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Pattern;

        #[test]
        fn schema_patterns() {
            let p = |s: &str| Pattern::compile(s).expect("compiles");
            assert!(p(".*[^\\s].*").is_match(" a "));
            assert!(!p(".*[^\\s].*").is_match("   "));
            assert!(!p(".*[^\\s].*").is_match("a\nb"));
            assert!(p("([a-zA-Z])*").is_match("GB"));
            assert!(!p("([a-zA-Z])*").is_match("G1"));
            assert!(p("([0-9])*").is_match(""));
            assert!(p("[A-Z]{3}").is_match("GBP"));
            assert!(!p("[A-Z]{3}").is_match("GBPX"));
            assert!(p(".{1,3}").is_match("abc"));
            assert!(!p(".{1,3}").is_match("abcd"));
            let dt = p("(20\\d{6})(\\d{6}(Z|[-+]\\d\\d))?");
            assert!(dt.is_match("20240125"));
            assert!(dt.is_match("20240125094643+01"));
            assert!(dt.is_match("20240125094643Z"));
            assert!(!dt.is_match("2024012509464"));
            assert!(!dt.is_match("19990101"));
        }
    }
}
