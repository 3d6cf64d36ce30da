//! UN/EDIFACT CUSDEC (D96B, and D99B with its own tree) to and from
//! [`DeclarationDraft`].
//!
//! # Why this shape
//!
//! Partner administrations still exchange declarations as EDIFACT interchanges, often
//! very large ones produced by generators. So the reader is streaming: [`reader`] cuts
//! one segment at a time out of a [`BufRead`] (every segment capped at
//! [`syntax::MAX_SEGMENT_BYTES`], so a 2 GB file without terminators fails after one
//! mebibyte), checks it against the segment-group tree of the declared directory as it
//! arrives, and feeds it straight into the draft being built. At most one message (one
//! draft) is held at a time. Like every syntax in this crate it only translates: whether a
//! value is a valid country, HS code or check digit is decided by the domain.
//!
//! Three layers, one module each: [`syntax`] (UNA, separators, release character,
//! escaping), [`structure`] (the embedded directory trees and the group walker) and a
//! private `mapping` (the field table below, both directions in one place).
//!
//! # Interchange rules
//!
//! - Optional `UNA`, then `UNB`, any number of `UNH`…`UNT` messages, then `UNZ`. Functional
//!   groups (`UNG`/`UNE`) are not supported and are reported as unexpected.
//! - Positions ([`Locator::line`]) count segments from `UNB` = 1; `UNA` is not a segment.
//!   Errors in `UNA` itself are reported at position 1. [`Locator::record`] is the message
//!   number within the interchange.
//! - Every message must be `CUSDEC:D:96B:UN` or `CUSDEC:D:99B:UN`, and is validated against
//!   that directory's tree (mandatory segments and groups, maximum repeats, nesting).
//!   `UNT` must count the message's segments and repeat `UNH`'s reference; `UNZ` must count
//!   the messages and repeat `UNB`'s control reference.
//! - Text: `UNB` syntax identifier `UNOC` is decoded as ISO 8859-1; every other identifier
//!   (`UNOA`, `UNOB`, `UNOW`, …) must be UTF-8, else `EDI_NOT_UTF8`. The writer declares
//!   `UNOW:4` (UTF-8, syntax version 4), because names arrive in Cyrillic, Uzbek Latin and
//!   Chinese and must survive unchanged; version 4 makes `*` the repetition separator, so
//!   the writer escapes `*` in data. The reader accepts an unescaped repetition separator
//!   as data, since no CUSDEC element Caravan reads repeats.
//! - Line breaks between segments are ignored; the writer puts one after each segment.
//! - The decimal mark in `UNA` is informational: numbers are passed on as written.
//! - An error ends the iteration.
//!
//! Error codes: `EDI_BAD_UNA`, `EDI_NOT_UTF8`, `EDI_UNKNOWN_SEGMENT` (tag in no position of
//! the tree, or not a tag at all), `EDI_SEGMENT_UNEXPECTED` (out of place per the tree or
//! the interchange), `EDI_MISSING_MANDATORY`, `EDI_TOO_MANY_REPEATS`, `EDI_UNT_COUNT`,
//! `EDI_UNZ_COUNT`, `EDI_CONTROL_REF_MISMATCH`, `EDI_TRUNCATED` (input ends inside a segment,
//! before `UNT` or before `UNZ`, or `UNZ` arrives inside a message),
//! `EDI_UNSUPPORTED_MESSAGE`, `EDI_SEGMENT_TOO_LONG`, `EDI_READ_FAILED` (I/O).
//!
//! # Field mapping
//!
//! Qualifiers come from spec section 5.3 where it names one. Where the spec names no slot,
//! Caravan uses a `GIS` processing indicator whose code list qualifier (1131) is the WCO
//! ID of the field, or a `Z`-prefixed (mutually defined) qualifier; those are marked *(C)*.
//! Empty EDIFACT values read as `None`, so `Some("")` does not round-trip.
//!
//! | Draft | CUSDEC |
//! |---|---|
//! | header.type_code | header `CST++<type>` (C246/7361), always written so e.g. `IMA`, `EXD`, `COR` round-trip. Without a header CST the type is `IM` (BGM 929) or `EX` (830) |
//! | function_code, lrn | `BGM+<929\|830>+<LRN>+<function>`; 830 is written when the type starts with `EX` |
//! | mrn, ucr | SG1 `RFF+ABT`, `RFF+UCN` |
//! | issued_at, accepted_at | `DTM+137`, `DTM+148` (ISO date `YYYY-MM-DD` as format 102, anything else verbatim with format `ZZZ`; 203 and 204 are read too) |
//! | place_of_issue, declaration_office | `LOC+91`, `LOC+22` |
//! | goods_item_count, total_packages | `CNT+5`, `CNT+11` |
//! | total_gross_mass | `MEA+WT+AAD+KGM` (read also from 6313 `G` and from `CNT+7`) |
//! | invoice_total, invoice_currency | SG8 `MOA+39` + SG9 `CUX+2:<cur>:4` |
//! | freight_charge, freight_currency | SG8 `MOA+64:<amount>:<cur>` |
//! | delivery_terms, delivery_place | SG7 `TOD+++<code>` + `LOC+1` |
//! | valuation_method, nature_of_transaction, freight_payment_method | *(C)* `GIS+<code>:122`, `:103`, `:098` |
//! | parties | SG6 `NAD+<3035>+<id>::<scheme in 3055>++<name in C080, 35-char parts>+<street in C059>+<city>+<3229 subdivision>+<postcode>+<country>`; *(C)* representative function as SG6 `RFF+ZRF:<code>` |
//! | container_indicator | *(C)* `GIS+<0\|1>:096`; without it, `1` when EQD is present |
//! | equipment | `EQD+CN+<container>`; seals `SEL+<seal>+++<container>` (C208/7402 names the container, because D96B has no EQD group); SG1 `RFF+AAQ` is read as a container too |
//! | border mode, means type/id/nationality | SG4 `TDT+11` C220/8067, C222/1131, C222/8212, C222/8453 |
//! | inland_mode, departure_means_id | SG4 `TDT+12` C220/8067, C222/8212 |
//! | arrival means type/id | SG4 `TDT+13` C222/1131, C222/8212 |
//! | transport documents | SG5 `DOC+<1001 type>:<category in 1131>+<id>`; SG1 `RFF+BM/MB/BH/AWB/MWB/HWB` read as 705/704/714/740/741/703 |
//! | goods_location, loading, unloading | `LOC+14`, `LOC+9`, `LOC+11` |
//! | dispatch, destination countries | `LOC+35`, `LOC+28` (`LOC+36` read when 28 is absent) |
//! | routing_countries | `LOC+92`, one per country, in order |
//! | entry, exit offices | `LOC+41`, `LOC+42` |
//! | supervising, presentation offices | *(C)* `LOC+ZSU`, `LOC+ZPR` |
//! | departure_date, arrival_date | `DTM+133`, `DTM+132` |
//! | amendments | *(C)* `FTX+CHG++<reason>+<pointer>` |
//! | item sequence, commodity, classification type | SG30 `CST+<1496>+<7361>:<1131>`; SG35 `RFF+ABD` read as commodity code |
//! | description | `FTX+AAA+++<C108, 70-char parts>` |
//! | origin_country | `LOC+27` |
//! | gross, net mass | `MEA+WT+AAE+KGM`, `MEA+WT+AAF+KGM` (6313 `G`, `N` read too) |
//! | quantity + unit | *(C)* `MEA+AAE+ZSU+<Rec 20 unit>:<qty>`: the D96B tree has no QTY directly in SG30 |
//! | packages | SG31 `PAC+<count>++<kind>`, SG32 `PCI++<marks, 35-char parts>` |
//! | item_price, customs_value, statistical_value, value_currency | SG33 `MOA+38`, `+40`, `+123`, currency in C516/6345 |
//! | previous / additional documents | SG37 `DOC+<type>:<category>::<PREVIOUS or empty in 1000>+<id>` |
//! | procedure, previous, additional procedures, origin_type, nature_of_transaction, un_dangerous_goods | SG40 `GIS+<code>:166`, `:161`, `:ADP`, `:501`, `:103`, `:506` |
//! | duties | SG41 `TAX+7+<type>++<base>+:::<rate>`, `MOA+161:<assessed>:<cur>`, `GIS+<method>:107` |
//!
//! Not carried: [`DeclarationDraft::outcome`] (customs' decision belongs in CUSRES, not in a
//! declaration). Not read: SG10, SG21 and SG44 detail, header SG49 duty totals, `CNT+16`,
//! second and later C246 classifications; they are validated and then ignored.
//!
//! Limits a draft must respect to be written: those of the D96B tree, e.g. at most 10
//! parties (SG6), 10 transport documents (SG5), 9999 goods items, 25 GIS lines and 25
//! documents per item. [`CusdecWriter::write_message`] checks the message against the tree
//! before writing a byte and refuses one that does not fit.

pub mod structure;
pub mod syntax;

mod mapping;

use std::io::{self, BufRead, Write};

use caravan_domain::declaration::draft::DeclarationDraft;

use crate::error::{Locator, SourceRecord, SyntaxError};
use mapping::DraftBuilder;
use structure::{Tree, Validator, Violation};
use syntax::{Charset, Segment, SegmentSource, Separators, SyntaxFault};

/// Reads a CUSDEC interchange, yielding one draft per `UNH`…`UNT` message.
///
/// Streaming: one segment is read at a time and at most one message is held. The first
/// error is yielded and ends the iteration.
pub fn reader<R: BufRead>(input: R) -> Reader<R> {
    match SegmentSource::new(input) {
        Ok(source) => Reader::start(source, None),
        Err((fault, source)) => {
            let error = fault_error(fault, Locator { line: 1, record: 0 });
            Reader::start(source, Some(error))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    BeforeUnb,
    Interchange,
    AfterUnz,
}

enum Step {
    Continue,
    Record(Box<SourceRecord>),
    End,
}

struct Message {
    number: u64,
    start: u64,
    reference: String,
    segments: u64,
    validator: Validator,
    builder: DraftBuilder,
}

/// The iterator returned by [`reader`].
pub struct Reader<R> {
    source: SegmentSource<R>,
    pending: Option<SyntaxError>,
    done: bool,
    seps: Separators,
    charset: Charset,
    position: u64,
    stage: Stage,
    control_ref: String,
    messages: u64,
    message: Option<Message>,
}

fn fault_error(fault: SyntaxFault, at: Locator) -> SyntaxError {
    match fault {
        SyntaxFault::BadUna(rule) => SyntaxError::new("EDI_BAD_UNA", at, rule).field("UNA"),
        SyntaxFault::TooLong => SyntaxError::new(
            "EDI_SEGMENT_TOO_LONG",
            at,
            format!(
                "a segment may not exceed {} bytes",
                syntax::MAX_SEGMENT_BYTES
            ),
        ),
        SyntaxFault::Truncated => {
            SyntaxError::new("EDI_TRUNCATED", at, "input ends inside a segment")
        }
        SyntaxFault::NotText => SyntaxError::new(
            "EDI_NOT_UTF8",
            at,
            "text must be UTF-8 unless UNB declares UNOC (ISO 8859-1)",
        ),
        SyntaxFault::BadTag(tag) => SyntaxError::new(
            "EDI_UNKNOWN_SEGMENT",
            at,
            "a segment must start with a three-character tag",
        )
        .value(&tag),
        SyntaxFault::Io(e) => SyntaxError::new("EDI_READ_FAILED", at, format!("read failed: {e}")),
    }
}

fn is_service(tag: &str) -> bool {
    matches!(tag, "UNB" | "UNG" | "UNE" | "UNZ" | "UNH" | "UNT" | "UNS")
}

impl<R: BufRead> Reader<R> {
    fn start(source: SegmentSource<R>, pending: Option<SyntaxError>) -> Reader<R> {
        Reader {
            seps: source.separators(),
            source,
            pending,
            done: false,
            charset: Charset::Utf8,
            position: 0,
            stage: Stage::BeforeUnb,
            control_ref: String::new(),
            messages: 0,
            message: None,
        }
    }

    fn at(&self) -> Locator {
        Locator {
            line: self.position,
            record: self.message.as_ref().map_or(0, |m| m.number),
        }
    }

    fn error(&self, code: &'static str, rule: impl Into<String>) -> SyntaxError {
        SyntaxError::new(code, self.at(), rule)
    }

    fn at_end(&mut self) -> Result<Step, SyntaxError> {
        self.position += 1;
        let rule = match (self.stage, &self.message) {
            (Stage::AfterUnz, _) => return Ok(Step::End),
            (Stage::BeforeUnb, _) => "the interchange has no UNB".to_owned(),
            (_, Some(m)) => format!("message {} ends without UNT", m.number),
            (_, None) => "the interchange ends without UNZ".to_owned(),
        };
        Err(self.error("EDI_TRUNCATED", rule))
    }

    fn step(&mut self) -> Result<Step, SyntaxError> {
        let raw = match self.source.next_raw() {
            Ok(Some(raw)) => raw,
            Ok(None) => return self.at_end(),
            Err(fault) => {
                let at = Locator {
                    line: self.position + 1,
                    ..self.at()
                };
                return Err(fault_error(fault, at));
            }
        };
        self.position += 1;
        let seg = syntax::split(&raw, &self.seps, self.charset)
            .map_err(|fault| fault_error(fault, self.at()))?;
        match self.stage {
            Stage::BeforeUnb => self.unb(&seg).map(|()| Step::Continue),
            Stage::AfterUnz => Err(self
                .error("EDI_SEGMENT_UNEXPECTED", "nothing may follow UNZ")
                .field(seg.tag.as_str())),
            Stage::Interchange if self.message.is_some() => self.in_message(&seg),
            Stage::Interchange => self.between_messages(&seg).map(|()| Step::Continue),
        }
    }

    fn unb(&mut self, seg: &Segment) -> Result<(), SyntaxError> {
        if seg.tag != "UNB" {
            let rule = "an interchange starts with UNB (after an optional UNA)";
            return Err(self
                .error("EDI_SEGMENT_UNEXPECTED", rule)
                .field(seg.tag.as_str()));
        }
        self.charset = Charset::for_syntax_id(seg.get(1, 0));
        self.control_ref = seg.get(5, 0).to_owned();
        self.stage = Stage::Interchange;
        Ok(())
    }

    fn between_messages(&mut self, seg: &Segment) -> Result<(), SyntaxError> {
        match seg.tag.as_str() {
            "UNH" => self.unh(seg),
            "UNZ" => {
                let declared = seg.get(1, 0);
                if declared.parse::<u64>().ok() != Some(self.messages) {
                    let rule = format!(
                        "UNZ counts {declared:?} messages, the interchange has {}",
                        self.messages
                    );
                    return Err(self
                        .error("EDI_UNZ_COUNT", rule)
                        .field("UNZ/0036")
                        .value(declared));
                }
                if seg.get(2, 0) != self.control_ref {
                    let rule = format!(
                        "UNZ control reference must repeat UNB's {:?}",
                        self.control_ref
                    );
                    return Err(self
                        .error("EDI_CONTROL_REF_MISMATCH", rule)
                        .field("UNZ/0020")
                        .value(seg.get(2, 0)));
                }
                self.stage = Stage::AfterUnz;
                Ok(())
            }
            tag => {
                let known =
                    is_service(tag) || structure::d96b().knows(tag) || structure::d99b().knows(tag);
                let code = if known {
                    "EDI_SEGMENT_UNEXPECTED"
                } else {
                    "EDI_UNKNOWN_SEGMENT"
                };
                Err(self
                    .error(code, "between messages only UNH or UNZ may appear")
                    .field(tag))
            }
        }
    }

    fn unh(&mut self, seg: &Segment) -> Result<(), SyntaxError> {
        self.messages += 1;
        let id = (seg.get(2, 0), seg.get(2, 1), seg.get(2, 2), seg.get(2, 3));
        let tree: &'static Tree = match id {
            ("CUSDEC", "D", "96B", "UN") => structure::d96b(),
            ("CUSDEC", "D", "99B", "UN") => structure::d99b(),
            (t, v, r, a) => {
                let err = SyntaxError::new(
                    "EDI_UNSUPPORTED_MESSAGE",
                    Locator {
                        line: self.position,
                        record: self.messages,
                    },
                    "only CUSDEC:D:96B:UN and CUSDEC:D:99B:UN are read",
                );
                return Err(err.field("UNH/S009").value(&format!("{t}:{v}:{r}:{a}")));
            }
        };
        let mut validator = Validator::new(tree);
        // UNH is always the first position of the tree.
        let _ = validator.accept("UNH");
        self.message = Some(Message {
            number: self.messages,
            start: self.position,
            reference: seg.get(1, 0).to_owned(),
            segments: 1,
            validator,
            builder: DraftBuilder::default(),
        });
        Ok(())
    }

    fn in_message(&mut self, seg: &Segment) -> Result<Step, SyntaxError> {
        let tag = seg.tag.as_str();
        if tag == "UNZ" {
            let rule = "UNZ arrives before the message's UNT";
            return Err(self.error("EDI_TRUNCATED", rule).field(tag));
        }
        let here = self.at();
        let Some(message) = self.message.as_mut() else {
            return Ok(Step::Continue);
        };
        message.segments += 1;
        let placement = message.validator.accept(tag).map_err(|v| {
            let (code, rule) = match v {
                Violation::Unknown => (
                    "EDI_UNKNOWN_SEGMENT",
                    "segment is not part of CUSDEC".to_owned(),
                ),
                Violation::Unexpected => (
                    "EDI_SEGMENT_UNEXPECTED",
                    "segment is out of place in the group tree".to_owned(),
                ),
                Violation::MissingMandatory(missing) => (
                    "EDI_MISSING_MANDATORY",
                    format!("mandatory {missing} is missing before this segment"),
                ),
                Violation::TooManyRepeats { position, max } => (
                    "EDI_TOO_MANY_REPEATS",
                    format!("{position} may repeat at most {max} times"),
                ),
            };
            SyntaxError::new(code, here, rule).field(tag)
        })?;
        if tag != "UNT" {
            message.builder.push(seg, placement);
            return Ok(Step::Continue);
        }
        let declared = seg.get(1, 0);
        if declared.parse::<u64>().ok() != Some(message.segments) {
            let rule = format!(
                "UNT counts {declared:?} segments, the message has {}",
                message.segments
            );
            return Err(SyntaxError::new("EDI_UNT_COUNT", here, rule)
                .field("UNT/0074")
                .value(declared));
        }
        if seg.get(2, 0) != message.reference {
            let rule = format!("UNT reference must repeat UNH's {:?}", message.reference);
            return Err(SyntaxError::new("EDI_CONTROL_REF_MISMATCH", here, rule)
                .field("UNT/0062")
                .value(seg.get(2, 0)));
        }
        let Some(message) = self.message.take() else {
            return Ok(Step::Continue);
        };
        let locator = Locator {
            line: message.start,
            record: message.number,
        };
        Ok(Step::Record(Box::new(SourceRecord {
            locator,
            draft: message.builder.finish(),
        })))
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<SourceRecord, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(error) = self.pending.take() {
            self.done = true;
            return Some(Err(error));
        }
        loop {
            match self.step() {
                Ok(Step::Continue) => continue,
                Ok(Step::Record(record)) => return Some(Ok(*record)),
                Ok(Step::End) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The interchange envelope a [`CusdecWriter`] writes into `UNB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Interchange sender (S002/0004).
    pub sender: &'a str,
    /// Interchange recipient (S003/0010).
    pub recipient: &'a str,
    /// Interchange control reference (0020), repeated in `UNZ`.
    pub control_ref: &'a str,
    /// Date of preparation, `CCYYMMDD` (syntax version 4).
    pub date: &'a str,
    /// Time of preparation, `HHMM`.
    pub time: &'a str,
}

/// Writes a D96B interchange message by message, so a generator never has to hold all
/// declarations: [`CusdecWriter::begin`], then [`CusdecWriter::write_message`] per draft,
/// then [`CusdecWriter::finish`].
pub struct CusdecWriter<W: Write> {
    out: W,
    control_ref: String,
    messages: u64,
}

fn write_segment(seg: &Segment, buf: &mut Vec<u8>) {
    seg.write_to(&Separators::WRITE, buf);
    buf.push(b'\n');
}

impl<W: Write> CusdecWriter<W> {
    /// Writes `UNA` and `UNB` (syntax `UNOW:4`).
    pub fn begin(mut out: W, envelope: &Envelope<'_>) -> io::Result<CusdecWriter<W>> {
        let mut buf = Separators::WRITE.una().to_vec();
        buf.push(b'\n');
        let unb = Segment::new("UNB")
            .el(&["UNOW", "4"])
            .e(envelope.sender)
            .e(envelope.recipient)
            .el(&[envelope.date, envelope.time])
            .e(envelope.control_ref);
        write_segment(&unb, &mut buf);
        out.write_all(&buf)?;
        Ok(CusdecWriter {
            out,
            control_ref: envelope.control_ref.to_owned(),
            messages: 0,
        })
    }

    /// Writes one `UNH`…`UNT` message. The message is checked against the D96B tree first;
    /// a draft that does not fit (e.g. 10,000 goods items or 11 parties) is refused with
    /// [`io::ErrorKind::InvalidInput`] and nothing of it is written.
    pub fn write_message(&mut self, draft: &DeclarationDraft) -> io::Result<()> {
        let reference = (self.messages + 1).to_string();
        let mut segments = vec![
            Segment::new("UNH")
                .e(&reference)
                .el(&["CUSDEC", "D", "96B", "UN"]),
        ];
        segments.extend(mapping::to_segments(draft));
        let count = (segments.len() + 1).to_string();
        segments.push(Segment::new("UNT").e(&count).e(&reference));
        let mut validator = Validator::new(structure::d96b());
        let mut buf = Vec::new();
        for seg in &segments {
            validator.accept(&seg.tag).map_err(|v| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "declaration {:?} does not fit CUSDEC D96B at {}: {v:?}",
                        draft.header.lrn, seg.tag
                    ),
                )
            })?;
            write_segment(seg, &mut buf);
        }
        self.out.write_all(&buf)?;
        self.messages += 1;
        Ok(())
    }

    /// Writes `UNZ` and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let mut buf = Vec::new();
        let unz = Segment::new("UNZ")
            .e(&self.messages.to_string())
            .e(&self.control_ref);
        write_segment(&unz, &mut buf);
        self.out.write_all(&buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes `drafts` as one D96B interchange. The `UNB` preparation date and time are
/// written as `00000000:0000` because this function takes no clock; use
/// [`CusdecWriter`] with an [`Envelope`] to state them.
pub fn write_interchange<'a, W: Write>(
    out: W,
    sender: &str,
    recipient: &str,
    control_ref: &str,
    drafts: impl IntoIterator<Item = &'a DeclarationDraft>,
) -> io::Result<()> {
    let envelope = Envelope {
        sender,
        recipient,
        control_ref,
        date: "00000000",
        time: "0000",
    };
    let mut writer = CusdecWriter::begin(out, &envelope)?;
    for draft in drafts {
        writer.write_message(draft)?;
    }
    writer.finish().map(drop)
}
