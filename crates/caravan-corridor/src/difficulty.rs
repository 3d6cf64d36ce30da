//! Difficulty knobs for mirror-matching evaluations: noise that real paired data carries
//! and the clean generator does not (`spec/analytics.md`, "Synthetic pairs for testing").
//!
//! Left at their defaults (all zero) the knobs change nothing, so every existing seed
//! keeps its bytes. When set, they perturb only the **import** legs of a shipment, from
//! a random stream of their own (`Rng::new(seed ^ NOISE_STREAM, index)`), so that turning
//! one knob never reshuffles the draws of the base generator: the same shipments, parties
//! and anomalies, only harder to link. None of the perturbations makes a leg fail
//! validation: masses keep net ≤ gross and the header total, dates keep their format.

use caravan_domain::declaration::draft::DeclarationDraft;
use chrono::{Duration, NaiveDate};

use crate::CorridorConfig;
use crate::rng::Rng;

/// Salt of the difficulty stream, kept apart from the generator's per-shipment streams.
const NOISE_STREAM: u64 = 0xD1FF_1C07_0000_0000;

/// A named set of difficulty knobs for evaluations across levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Difficulty {
    /// No noise: every leg keeps its shared references (the default generator).
    Clean,
    /// A quarter of the shipments lose their shared references; light name, date and
    /// mass noise.
    Moderate,
    /// Half of the shipments lose their shared references; names re-typed on a third of
    /// import legs, dates shifted up to 5 days, 4 % mass noise.
    Hard,
}

impl Difficulty {
    /// Every level, easiest first.
    pub const ALL: [Difficulty; 3] = [Difficulty::Clean, Difficulty::Moderate, Difficulty::Hard];

    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Clean => "clean",
            Difficulty::Moderate => "moderate",
            Difficulty::Hard => "hard",
        }
    }

    /// Parses [`Difficulty::as_str`].
    pub fn parse(raw: &str) -> Option<Difficulty> {
        Difficulty::ALL.into_iter().find(|d| d.as_str() == raw)
    }

    /// `config` with this level's knobs set.
    pub fn apply(self, config: CorridorConfig) -> CorridorConfig {
        let (drop, names, days, mass) = match self {
            Difficulty::Clean => (0.0, 0.0, 0, 0.0),
            Difficulty::Moderate => (0.25, 0.15, 2, 0.02),
            Difficulty::Hard => (0.5, 0.33, 5, 0.04),
        };
        CorridorConfig {
            reference_drop_rate: drop,
            name_noise_rate: names,
            date_noise_days: days,
            mass_noise: mass,
            ..config
        }
    }
}

/// Applies the configured noise to the import legs among `drafts` (shipment `index`).
pub(crate) fn perturb(config: &CorridorConfig, index: usize, drafts: &mut [&mut DeclarationDraft]) {
    let any = config.reference_drop_rate > 0.0
        || config.name_noise_rate > 0.0
        || config.date_noise_days > 0
        || config.mass_noise > 0.0;
    if !any {
        return;
    }
    let mut rng = Rng::new(config.seed ^ NOISE_STREAM, index as u64);
    // One decision per shipment, so split import legs stay alike.
    let drop_refs = rng.chance(config.reference_drop_rate);
    let rename = rng.chance(config.name_noise_rate);
    let name_style = rng.below(4);
    let shift = if config.date_noise_days > 0 {
        rng.int(0, u64::from(config.date_noise_days))
    } else {
        0
    };
    for draft in drafts.iter_mut() {
        if draft.header.type_code != "IMA" {
            continue;
        }
        if drop_refs {
            draft.header.ucr = None;
            draft.transport.documents.clear();
            draft.transport.equipment.clear();
            draft.transport.container_indicator = None;
        }
        if rename {
            for party in &mut draft.parties {
                if matches!(party.role.as_str(), "DT" | "CA") {
                    continue;
                }
                if let Some(name) = &party.name {
                    party.name = Some(noisy_name(name, name_style, &mut rng));
                }
            }
        }
        if shift > 0 {
            shift_dates(draft, shift as i64);
        }
        if config.mass_noise > 0.0 {
            scale_masses(draft, &mut rng, config.mass_noise);
        }
    }
}

/// The kinds of re-typing seen between two administrations' records of one firm.
fn noisy_name(name: &str, style: u64, rng: &mut Rng) -> String {
    match style {
        // Upper case, as many national systems store names.
        0 => name.to_uppercase(),
        // Punctuation and guillemets dropped.
        1 => name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        // The legal form left off (the last word).
        2 => match name.rsplit_once(' ') {
            Some((head, _)) if !head.trim().is_empty() => head.trim().to_owned(),
            _ => name.to_owned(),
        },
        // A keying error: one letter doubled.
        _ => {
            let chars: Vec<char> = name.chars().collect();
            if chars.is_empty() {
                return name.to_owned();
            }
            let at = rng.below(chars.len() as u64) as usize;
            let mut out: String = chars[..=at].iter().collect();
            out.push(chars[at]);
            out.extend(&chars[at + 1..]);
            // Names are an..70; keep the noisy one within the limit.
            out.chars().take(70).collect()
        }
    }
}

fn shift_date_str(raw: &str, days: i64) -> String {
    let Some(head) = raw.get(..10) else {
        return raw.to_owned();
    };
    match NaiveDate::parse_from_str(head, "%Y-%m-%d") {
        Ok(d) => format!(
            "{}{}",
            (d + Duration::days(days)).format("%Y-%m-%d"),
            &raw[10..]
        ),
        Err(_) => raw.to_owned(),
    }
}

fn shift_dates(draft: &mut DeclarationDraft, days: i64) {
    let h = &mut draft.header;
    for field in [&mut h.issued_at, &mut h.accepted_at] {
        if let Some(v) = field.as_mut() {
            *v = shift_date_str(v, days);
        }
    }
    if let Some(v) = draft.transport.arrival_date.as_mut() {
        *v = shift_date_str(v, days);
    }
}

fn scale_masses(draft: &mut DeclarationDraft, rng: &mut Rng, sd: f64) {
    let mut gross_sum = 0.0;
    for item in &mut draft.items {
        let f = (1.0 + rng.normal() * sd).clamp(1.0 - 3.0 * sd, 1.0 + 3.0 * sd);
        for field in [&mut item.net_mass, &mut item.gross_mass] {
            if let Some(v) = field.as_mut()
                && let Ok(x) = v.parse::<f64>()
            {
                *v = format!("{:.3}", (x * f).max(0.001));
            }
        }
        gross_sum += item
            .gross_mass
            .as_deref()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    }
    if draft.header.total_gross_mass.is_some() {
        draft.header.total_gross_mass = Some(format!("{gross_sum:.3}"));
    }
}
