//! Criteria, weight sets and lanes in the style of ASYCUDA selectivity and CBP's ATS.
//!
//! Analysts write rules, not code, so the rule file is a small declarative language that a
//! loader checks line by line: a bad file is refused whole with every error naming its line,
//! and [`RuleBook::reload`] keeps the rules in force until a good file replaces them. Rules
//! add weights to a score (ATS weight sets), may force a lane (ASYCUDA criteria), apply only
//! between their validity dates, and lanes are filled red → yellow by descending score up to
//! their quotas, after a minimum share picked at random (spec: Criteria and lanes).
//!
//! ```text
//! # comment
//! ruleset cbp-imports version 3
//! lanes red >= 80 yellow >= 40
//! quota red 2% yellow 5%
//! random 1%
//! model weight 100                 # score += 100 × p(fraud)
//! list watch owner analyst1 valid 2026-01-01..2026-12-31 = IMP1, IMP2
//! band 847130 CN 5..200            # value per kg band; * for any origin
//! rule R1 weight 50 lane red owner analyst1 valid 2026-01-01..2026-12-31 when hs6 in 8471-8473, 850440 and origin in CN, HK
//! rule R2 weight 30 when importer in @watch
//! rule R3 weight 40 when value_per_kg outside band
//! rule R4 weight 60 lane red when chpl tier in 1, 2 and route in CN>UZ, *>KZ
//! rule R5 weight 25 when signal mirror_gap > 0.3
//! ```
//!
//! Conditions: `hs6 in` (prefixes or same-length prefix ranges `a-b`), `origin in`,
//! `departure in`, `route in` (`departure>origin`, `*` for any), `importer|declarant|seller
//! in` (values or `@list`), `value_per_kg|value|tax_rate <|>|<=|>= n`, `value_per_kg outside
//! band`, `chpl` or `chpl tier in …`, `signal <name> <|>|<=|>= n`. A condition on a missing
//! field does not fire.

use std::collections::HashMap;

use crate::date::Day;
use crate::profile::unit_value;
use crate::record::TargetRecord;
use crate::rng::SplitMix64;

/// Inspection lanes, most intrusive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Physical examination.
    Red,
    /// Documentary check.
    Yellow,
    /// Release.
    Green,
}

impl Lane {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Red => "red",
            Lane::Yellow => "yellow",
            Lane::Green => "green",
        }
    }
}

/// A rule-file error, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: line {line}: {message}")]
pub struct RuleError {
    /// Line number.
    pub line: usize,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn holds(&self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Gt => a > b,
            Cmp::Le => a <= b,
            Cmp::Ge => a >= b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    Literal(Vec<String>),
    List(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Hs6(Vec<(String, String)>),
    Origin(Values),
    Departure(Values),
    Route(Vec<(String, String)>),
    Party(PartyField, Values),
    Number(NumberField, Cmp, f64),
    OutsideBand,
    Chpl(Option<Vec<String>>),
    Signal(String, Cmp, f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PartyField {
    Importer,
    Declarant,
    Seller,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberField {
    ValuePerKg,
    Value,
    TaxRate,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// ID, unique in the file.
    pub id: String,
    /// Weight added to the score when it fires.
    pub weight: f64,
    /// Lane it forces, if any.
    pub lane: Option<Lane>,
    /// Validity (inclusive).
    pub valid: Option<(Day, Day)>,
    /// Owner.
    pub owner: Option<String>,
    /// Line in the file.
    pub line: usize,
    conditions: Vec<Cond>,
}

#[derive(Debug, Clone, PartialEq)]
struct List {
    values: Vec<String>,
    valid: Option<(Day, Day)>,
}

/// A validated rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Name and version from the `ruleset` line.
    pub name: String,
    /// Version.
    pub version: u32,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    lists: HashMap<String, List>,
    bands: HashMap<(String, String), (f64, f64)>,
    /// Score thresholds of the red and yellow lanes.
    pub thresholds: (f64, f64),
    /// Quotas of the red and yellow lanes, as shares of all declarations.
    pub quotas: (f64, f64),
    /// Minimum random selection rate (to red).
    pub random_rate: f64,
    /// Weight of the model's p(fraud) in the score.
    pub model_weight: f64,
}

/// What the rules say about one declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Rule weights plus model weight × p.
    pub score: f64,
    /// IDs of the rules that fired.
    pub fired: Vec<String>,
    /// The most intrusive lane a fired rule forces.
    pub forced: Option<Lane>,
}

/// Why a declaration got its lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneReason {
    /// Minimum random selection.
    Random,
    /// Score or forcing rule, within quota.
    Risk,
    /// Nothing selected it, or its lane was full.
    Release,
}

impl RuleSet {
    /// Parses and checks a rule file; every error is reported with its line.
    pub fn parse(text: &str) -> Result<RuleSet, Vec<RuleError>> {
        let mut set = RuleSet {
            name: String::new(),
            version: 0,
            rules: Vec::new(),
            lists: HashMap::new(),
            bands: HashMap::new(),
            thresholds: (80.0, 40.0),
            quotas: (0.02, 0.05),
            random_rate: 0.01,
            model_weight: 0.0,
        };
        let mut errors = Vec::new();
        let mut list_refs: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            if let Err(message) = set.parse_line(content, line, &mut list_refs) {
                errors.push(RuleError {
                    line,
                    code: "RULE_SYNTAX",
                    message,
                });
            }
        }
        if set.name.is_empty() && errors.is_empty() {
            errors.push(RuleError {
                line: 1,
                code: "RULE_NO_RULESET",
                message: "the file needs a `ruleset <name> version <n>` line".into(),
            });
        }
        for (line, name) in list_refs {
            if !set.lists.contains_key(&name) {
                errors.push(RuleError {
                    line,
                    code: "RULE_UNKNOWN_LIST",
                    message: format!("no list named {name:?}"),
                });
            }
        }
        if set.thresholds.0 < set.thresholds.1 {
            errors.push(RuleError {
                line: 1,
                code: "RULE_LANES",
                message: "the red threshold must not be below the yellow one".into(),
            });
        }
        errors.sort_by_key(|e| e.line);
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    fn parse_line(
        &mut self,
        content: &str,
        line: usize,
        list_refs: &mut Vec<(usize, String)>,
    ) -> Result<(), String> {
        let words: Vec<&str> = content.split_whitespace().collect();
        match words[0] {
            "ruleset" => {
                let [_, name, "version", v] = words[..] else {
                    return Err("expected `ruleset <name> version <n>`".into());
                };
                self.name = name.to_owned();
                self.version = v
                    .parse()
                    .map_err(|_| format!("version {v:?} is not a whole number"))?;
            }
            "lanes" => {
                let ["lanes", "red", ">=", r, "yellow", ">=", y] = words[..] else {
                    return Err("expected `lanes red >= <n> yellow >= <n>`".into());
                };
                self.thresholds = (number(r)?, number(y)?);
            }
            "quota" => {
                let ["quota", "red", r, "yellow", y] = words[..] else {
                    return Err("expected `quota red <n>% yellow <n>%`".into());
                };
                self.quotas = (percent(r)?, percent(y)?);
                if self.quotas.0 + self.quotas.1 > 1.0 {
                    return Err("quotas add up to more than 100 %".into());
                }
            }
            "random" => {
                let ["random", r] = words[..] else {
                    return Err("expected `random <n>%`".into());
                };
                self.random_rate = percent(r)?;
                if self.random_rate > 0.10 {
                    return Err("the minimum random rate is at most 10 %".into());
                }
            }
            "model" => {
                let ["model", "weight", w] = words[..] else {
                    return Err("expected `model weight <n>`".into());
                };
                self.model_weight = number(w)?;
            }
            "list" => {
                let (head, values) = content
                    .split_once('=')
                    .ok_or("expected `list <name> [owner <who>] [valid <from>..<to>] = v1, v2`")?;
                let head: Vec<&str> = head.split_whitespace().collect();
                let name = *head.get(1).ok_or("a list needs a name")?;
                let (valid, _) = options(&head[2..])?;
                let values: Vec<String> = values
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                if values.is_empty() {
                    return Err(format!("list {name:?} is empty"));
                }
                if self
                    .lists
                    .insert(name.to_owned(), List { values, valid })
                    .is_some()
                {
                    return Err(format!("list {name:?} is defined twice"));
                }
            }
            "band" => {
                let ["band", hs6, origin, range] = words[..] else {
                    return Err("expected `band <hs6> <origin|*> <min>..<max>`".into());
                };
                if hs6.len() != 6 || !hs6.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("{hs6:?} is not a six-digit HS code"));
                }
                let (lo, hi) = range.split_once("..").ok_or("a band is `<min>..<max>`")?;
                let (lo, hi) = (number(lo)?, number(hi)?);
                if lo > hi || lo < 0.0 {
                    return Err("a band needs 0 <= min <= max".into());
                }
                self.bands
                    .insert((hs6.to_owned(), origin.to_owned()), (lo, hi));
            }
            "rule" => {
                let (head, body) = content
                    .split_once(" when ")
                    .ok_or("a rule needs `when <condition>`")?;
                let head: Vec<&str> = head.split_whitespace().collect();
                let id = (*head.get(1).ok_or("a rule needs an ID")?).to_owned();
                if self.rules.iter().any(|r| r.id == id) {
                    return Err(format!("rule {id:?} is defined twice"));
                }
                let (valid, rest) = options(&head[2..])?;
                let mut weight = None;
                let mut lane = None;
                let mut owner = None;
                let mut k = 0;
                while k < rest.len() {
                    let value = rest
                        .get(k + 1)
                        .ok_or_else(|| format!("{:?} needs a value", rest[k]))?;
                    match rest[k] {
                        "weight" => weight = Some(number(value)?),
                        "lane" => {
                            lane = Some(match *value {
                                "red" => Lane::Red,
                                "yellow" => Lane::Yellow,
                                other => {
                                    return Err(format!(
                                        "lane must be red or yellow, not {other:?}"
                                    ));
                                }
                            })
                        }
                        "owner" => owner = Some((*value).to_owned()),
                        other => return Err(format!("unknown rule option {other:?}")),
                    }
                    k += 2;
                }
                let conditions = body
                    .split(" and ")
                    .map(|c| condition(c.trim(), line, list_refs))
                    .collect::<Result<Vec<_>, _>>()?;
                self.rules.push(Rule {
                    id,
                    weight: weight.ok_or("a rule needs `weight <n>`")?,
                    lane,
                    valid,
                    owner,
                    line,
                    conditions,
                });
            }
            other => return Err(format!("unknown statement {other:?}")),
        }
        Ok(())
    }

    /// The rules' view of one declaration; `p` is the model's p(fraud) if any.
    pub fn assess(&self, r: &TargetRecord, p: Option<f64>) -> Assessment {
        let mut score = p.map_or(0.0, |p| p * self.model_weight);
        let mut fired = Vec::new();
        let mut forced: Option<Lane> = None;
        for rule in &self.rules {
            if !in_validity(rule.valid, r.date) {
                continue;
            }
            if rule.conditions.iter().all(|c| self.holds(c, r)) {
                score += rule.weight;
                fired.push(rule.id.clone());
                if let Some(lane) = rule.lane {
                    forced = Some(forced.map_or(lane, |f| f.min(lane)));
                }
            }
        }
        Assessment {
            score,
            fired,
            forced,
        }
    }

    fn values_match(&self, values: &Values, v: Option<&String>, day: Option<Day>) -> bool {
        let Some(v) = v else { return false };
        match values {
            Values::Literal(list) => list.iter().any(|x| x == v),
            Values::List(name) => self
                .lists
                .get(name)
                .is_some_and(|l| in_validity(l.valid, day) && l.values.iter().any(|x| x == v)),
        }
    }

    fn holds(&self, c: &Cond, r: &TargetRecord) -> bool {
        match c {
            Cond::Hs6(ranges) => r.hs6.as_ref().is_some_and(|hs| {
                ranges.iter().any(|(lo, hi)| {
                    let head = &hs[..lo.len().min(hs.len())];
                    head >= lo.as_str() && head <= hi.as_str()
                })
            }),
            Cond::Origin(v) => self.values_match(v, r.origin.as_ref(), r.date),
            Cond::Departure(v) => self.values_match(v, r.departure.as_ref(), r.date),
            Cond::Route(pairs) => match (&r.departure, &r.origin) {
                (Some(d), Some(o)) => pairs
                    .iter()
                    .any(|(pd, po)| (pd == "*" || pd == d) && (po == "*" || po == o)),
                _ => false,
            },
            Cond::Party(field, v) => {
                let value = match field {
                    PartyField::Importer => r.importer.as_ref(),
                    PartyField::Declarant => r.declarant.as_ref(),
                    PartyField::Seller => r.seller.as_ref(),
                };
                self.values_match(v, value, r.date)
            }
            Cond::Number(field, cmp, n) => {
                let value = match field {
                    NumberField::ValuePerKg => unit_value(r),
                    NumberField::Value => r.value,
                    NumberField::TaxRate => r.tax_rate,
                };
                value.is_some_and(|v| cmp.holds(v, *n))
            }
            Cond::OutsideBand => {
                let (Some(hs), Some(uv)) = (&r.hs6, unit_value(r)) else {
                    return false;
                };
                let band = r
                    .origin
                    .as_ref()
                    .and_then(|o| self.bands.get(&(hs.clone(), o.clone())))
                    .or_else(|| self.bands.get(&(hs.clone(), "*".to_owned())));
                band.is_some_and(|(lo, hi)| uv < *lo || uv > *hi)
            }
            Cond::Chpl(tiers) => r
                .hs6
                .as_deref()
                .and_then(|hs| caravan_domain::refdata::chpl().tier(hs))
                .is_some_and(|tier| tiers.as_ref().is_none_or(|t| t.iter().any(|x| x == tier))),
            Cond::Signal(name, cmp, n) => r.signal(name).is_some_and(|v| cmp.holds(v, *n)),
        }
    }

    /// Lanes for a period's declarations: first the random share (red), then red and yellow
    /// filled by descending score (ties by ID) among rows a rule forces there or whose score
    /// reaches the threshold, each up to its quota; the overflow of red falls to yellow.
    pub fn assign_lanes(
        &self,
        assessments: &[Assessment],
        ids: &[&str],
        seed: u64,
    ) -> Vec<(Lane, LaneReason)> {
        let n = assessments.len();
        let mut out = vec![(Lane::Green, LaneReason::Release); n];
        let mut rng = SplitMix64::new(seed);
        let mut all: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut all);
        let n_random = (self.random_rate * n as f64).round() as usize;
        for &i in all.iter().take(n_random) {
            out[i] = (Lane::Red, LaneReason::Random);
        }
        let mut order: Vec<usize> = (0..n).filter(|&i| out[i].1 != LaneReason::Random).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&assessments[a], &assessments[b]);
            x.forced
                .unwrap_or(Lane::Green)
                .cmp(&y.forced.unwrap_or(Lane::Green))
                .then(y.score.total_cmp(&x.score))
                .then_with(|| ids[a].cmp(ids[b]))
        });
        let mut room = [
            (self.quotas.0 * n as f64).round() as usize,
            (self.quotas.1 * n as f64).round() as usize,
        ];
        for i in order {
            let a = &assessments[i];
            let wants_red = a.forced == Some(Lane::Red) || a.score >= self.thresholds.0;
            let wants_yellow =
                wants_red || a.forced == Some(Lane::Yellow) || a.score >= self.thresholds.1;
            if wants_red && room[0] > 0 {
                room[0] -= 1;
                out[i] = (Lane::Red, LaneReason::Risk);
            } else if wants_yellow && room[1] > 0 {
                room[1] -= 1;
                out[i] = (Lane::Yellow, LaneReason::Risk);
            }
        }
        out
    }
}

/// The rules in force, replaced only by a file that loads without error.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    current: Option<RuleSet>,
}

impl RuleBook {
    /// An empty book.
    pub fn new() -> RuleBook {
        RuleBook::default()
    }

    /// Loads a new file; on any error the rules in force stay and the errors are returned.
    pub fn reload(&mut self, text: &str) -> Result<&RuleSet, Vec<RuleError>> {
        let set = RuleSet::parse(text)?;
        Ok(self.current.insert(set))
    }

    /// The rules in force.
    pub fn current(&self) -> Option<&RuleSet> {
        self.current.as_ref()
    }
}

/// First and last day a rule or list applies, inclusive.
type Validity = (Day, Day);

fn in_validity(valid: Option<Validity>, day: Option<Day>) -> bool {
    match (valid, day) {
        (None, _) => true,
        (Some((from, to)), Some(d)) => from <= d && d <= to,
        (Some(_), None) => false,
    }
}

fn number(raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{raw:?} is not a number"))
}

fn percent(raw: &str) -> Result<f64, String> {
    let n = number(
        raw.strip_suffix('%')
            .ok_or_else(|| format!("{raw:?} must end in %"))?,
    )?;
    if !(0.0..=100.0).contains(&n) {
        return Err(format!("{raw} is not between 0 and 100 %"));
    }
    Ok(n / 100.0)
}

/// `valid <from>..<to>` and `owner <who>` options; returns the validity and the rest.
fn options<'a>(words: &[&'a str]) -> Result<(Option<Validity>, Vec<&'a str>), String> {
    let mut valid = None;
    let mut rest = Vec::new();
    let mut k = 0;
    while k < words.len() {
        if words[k] == "valid" {
            let range = words.get(k + 1).ok_or("valid needs <from>..<to>")?;
            let (from, to) = range.split_once("..").ok_or("valid is <from>..<to>")?;
            let from =
                Day::parse(from).ok_or_else(|| format!("{from:?} is not a YYYY-MM-DD date"))?;
            let to = Day::parse(to).ok_or_else(|| format!("{to:?} is not a YYYY-MM-DD date"))?;
            if from > to {
                return Err("validity ends before it starts".into());
            }
            valid = Some((from, to));
            k += 2;
        } else {
            rest.push(words[k]);
            k += 1;
        }
    }
    Ok((valid, rest))
}

fn split_values(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn values(raw: &str, line: usize, list_refs: &mut Vec<(usize, String)>) -> Result<Values, String> {
    let raw = raw.trim();
    if let Some(name) = raw.strip_prefix('@') {
        if name.is_empty() || name.contains([',', ' ']) {
            return Err(format!("{raw:?} is not a list reference"));
        }
        list_refs.push((line, name.to_owned()));
        return Ok(Values::List(name.to_owned()));
    }
    let v = split_values(raw);
    if v.is_empty() {
        return Err("a value list is empty".into());
    }
    Ok(Values::Literal(v))
}

fn comparison(words: &[&str]) -> Result<(Cmp, f64), String> {
    let [op, n] = words else {
        return Err("expected `<op> <number>`".into());
    };
    let cmp = match *op {
        "<" => Cmp::Lt,
        ">" => Cmp::Gt,
        "<=" => Cmp::Le,
        ">=" => Cmp::Ge,
        other => return Err(format!("unknown comparison {other:?}")),
    };
    Ok((cmp, number(n)?))
}

fn condition(c: &str, line: usize, list_refs: &mut Vec<(usize, String)>) -> Result<Cond, String> {
    let words: Vec<&str> = c.split_whitespace().collect();
    let after_in = |field: &str| -> Result<&str, String> {
        c.strip_prefix(field)
            .and_then(|r| r.trim_start().strip_prefix("in "))
            .ok_or_else(|| format!("expected `{field} in …`"))
    };
    Ok(match words.first().copied().unwrap_or("") {
        "hs6" => {
            let mut ranges = Vec::new();
            for item in split_values(after_in("hs6")?) {
                let (lo, hi) = item.split_once('-').unwrap_or((&item, &item));
                let ok =
                    |p: &str| (2..=6).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
                if !ok(lo) || !ok(hi) || lo.len() != hi.len() || lo > hi {
                    return Err(format!("{item:?} is not an HS prefix or prefix range"));
                }
                ranges.push((lo.to_owned(), hi.to_owned()));
            }
            if ranges.is_empty() {
                return Err("hs6 in needs at least one prefix".into());
            }
            Cond::Hs6(ranges)
        }
        "origin" => Cond::Origin(values(after_in("origin")?, line, list_refs)?),
        "departure" => Cond::Departure(values(after_in("departure")?, line, list_refs)?),
        "route" => {
            let mut pairs = Vec::new();
            for item in split_values(after_in("route")?) {
                let (d, o) = item
                    .split_once('>')
                    .ok_or_else(|| format!("{item:?} is not <departure>><origin>"))?;
                pairs.push((d.to_owned(), o.to_owned()));
            }
            Cond::Route(pairs)
        }
        f @ ("importer" | "declarant" | "seller") => {
            let field = match f {
                "importer" => PartyField::Importer,
                "declarant" => PartyField::Declarant,
                _ => PartyField::Seller,
            };
            Cond::Party(field, values(after_in(f)?, line, list_refs)?)
        }
        "value_per_kg" if words[1..] == ["outside", "band"] => Cond::OutsideBand,
        f @ ("value_per_kg" | "value" | "tax_rate") => {
            let field = match f {
                "value_per_kg" => NumberField::ValuePerKg,
                "value" => NumberField::Value,
                _ => NumberField::TaxRate,
            };
            let (cmp, n) = comparison(&words[1..])?;
            Cond::Number(field, cmp, n)
        }
        "chpl" if words.len() == 1 => Cond::Chpl(None),
        "chpl" => {
            let rest = c.strip_prefix("chpl").unwrap_or("").trim_start();
            let tiers = rest
                .strip_prefix("tier in ")
                .ok_or("expected `chpl` or `chpl tier in …`")?;
            let tiers = split_values(tiers);
            const TIERS: [&str; 6] = ["1", "2", "3.A", "3.B", "4.A", "4.B"];
            if let Some(bad) = tiers.iter().find(|t| !TIERS.contains(&t.as_str())) {
                return Err(format!(
                    "{bad:?} is not a CHPL tier (1, 2, 3.A, 3.B, 4.A, 4.B)"
                ));
            }
            Cond::Chpl(Some(tiers))
        }
        "signal" => {
            let name = words.get(1).ok_or("signal needs a name")?;
            let (cmp, n) = comparison(&words[2..])?;
            Cond::Signal((*name).to_owned(), cmp, n)
        }
        other => return Err(format!("unknown condition {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# CBP imports
ruleset cbp-imports version 3
lanes red >= 80 yellow >= 40
quota red 20% yellow 20%
random 0%
model weight 100
list watch owner analyst1 valid 2026-01-01..2026-12-31 = IMP1, IMP2
band 847130 CN 5..200
rule R1 weight 50 lane red owner a1 valid 2026-01-01..2026-06-30 when hs6 in 8471-8473, 850440 and origin in CN, HK
rule R2 weight 30 when importer in @watch
rule R3 weight 40 when value_per_kg outside band
rule R4 weight 60 when chpl tier in 1, 2 and route in CN>UZ, *>KZ
rule R5 weight 25 when signal mirror_gap > 0.3
";

    fn decl(id: &str) -> TargetRecord {
        TargetRecord {
            id: id.into(),
            date: Day::parse("2026-03-01"),
            hs6: Some("847130".into()),
            origin: Some("CN".into()),
            departure: Some("CN".into()),
            importer: Some("IMP1".into()),
            net_mass: Some(10.0),
            value: Some(10.0),
            ..TargetRecord::default()
        }
    }

    #[test]
    fn rules_fire_and_weights_add_up() {
        let set = RuleSet::parse(FILE).unwrap();
        assert_eq!(
            (set.name.as_str(), set.version, set.rules.len()),
            ("cbp-imports", 3, 5)
        );
        let a = set.assess(&decl("a"), Some(0.5));
        assert_eq!(a.fired, ["R1", "R2", "R3"]);
        assert!((a.score - (50.0 + 30.0 + 40.0 + 50.0)).abs() < 1e-9);
        assert_eq!(a.forced, Some(Lane::Red));
        // Out of R1's validity and the list's: only the band rule fires.
        let mut late = decl("b");
        late.date = Day::parse("2027-01-05");
        assert_eq!(set.assess(&late, None).fired, ["R3"]);
        // Missing fields do not fire their conditions.
        let bare = TargetRecord {
            id: "c".into(),
            ..TargetRecord::default()
        };
        assert!(set.assess(&bare, None).fired.is_empty());
        let mut signal = bare.clone();
        signal.signals.push(("mirror_gap".into(), 0.5));
        assert_eq!(set.assess(&signal, None).fired, ["R5"]);
    }

    #[test]
    fn lanes_fill_by_score_within_quotas() {
        let set = RuleSet::parse(FILE).unwrap();
        let scores = [90.0, 85.0, 50.0, 45.0, 10.0, 0.0, 0.0, 0.0, 0.0, 95.0];
        let assessments: Vec<Assessment> = scores
            .iter()
            .map(|&score| Assessment {
                score,
                fired: vec![],
                forced: None,
            })
            .collect();
        let ids: Vec<String> = (0..10).map(|i| format!("{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let lanes = set.assign_lanes(&assessments, &ids, 1);
        let lane = |i: usize| lanes[i].0;
        // Red quota 2 of 10: the two highest; 85 overflows to yellow with 50.
        assert_eq!((lane(9), lane(0)), (Lane::Red, Lane::Red));
        assert_eq!((lane(1), lane(2)), (Lane::Yellow, Lane::Yellow));
        assert_eq!((lane(3), lane(4)), (Lane::Green, Lane::Green));
    }

    #[test]
    fn bad_files_name_their_lines_and_keep_old_rules() {
        let mut book = RuleBook::new();
        book.reload(FILE).unwrap();
        let bad = "ruleset x version 1\nrule A weight 10 when hs6 in 84x\nrule B weight 5 when importer in @nope\nquota red 90% yellow 20%\nfrobnicate\nrule C when origin in CN\n";
        let errors = book.reload(bad).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6], "{errors:?}");
        assert_eq!(errors[1].code, "RULE_UNKNOWN_LIST");
        assert_eq!(book.current().unwrap().name, "cbp-imports");
        assert!(RuleSet::parse("rule A weight 1 when chpl\n").is_err());
        assert!(
            RuleSet::parse(
                "ruleset x version 1\nrule A weight 1 valid 2026-02-01..2026-01-01 when chpl\n"
            )
            .is_err()
        );
    }

    proptest::proptest! {
        /// Any text either loads or fails with errors on lines that exist; never panics.
        #[test]
        fn parse_never_panics(text in "(ruleset x version 1\n)?([a-z_@0-9<>=.%*, -]{0,40}\n){0,6}") {
            if let Err(errors) = RuleSet::parse(&text) {
                let lines = text.lines().count().max(1);
                for e in errors {
                    proptest::prop_assert!(e.line >= 1 && e.line <= lines);
                }
            }
        }
    }
}
