//! The two governance messages of issue 5 as one scenario between the US and UZ nodes,
//! shared by the demo and the two-node integration test: `Marking.Change` (§9) from the
//! provider and from the receiver, and `Directory.Update` (§1.8) from each side.
//!
//! Why one scenario for both: the demo shows what the test proves, over the same exchange
//! and the same code. It runs after `story::play` (the agreement is in force); each step is
//! followed by `settle`, which delivers everything queued on both sides.

use caravan_assistance::agreement::Purpose;
use caravan_assistance::marking::{Markings, Pap, Tlp};

use crate::error::AssistError;
use crate::marking_change::MarkingChangeInput;
use crate::service::AssistanceNode;
use crate::story::{DAY_MS, Officials};

/// What the scenario did, for the caller to show or check.
#[derive(Debug, Clone, Default)]
pub struct GovernanceOutcome {
    /// The spontaneous item UZ supplied (its provider), re-marked by both sides.
    pub item: String,
    /// The item's markings as supplied, after UZ loosened them, and the field UZ's later
    /// tightening by the US covers.
    pub supplied: Option<Markings>,
    pub loosened: Option<Markings>,
    pub tightened_field: String,
    pub tightened: Option<Markings>,
    /// `Marking.Change` ids sent (UZ's loosening, the US tightening).
    pub changes: Vec<String>,
    /// Directory section versions after the updates: (US, UZ).
    pub sections: (u32, u32),
    /// The contact point each side added.
    pub new_contact_points: Vec<String>,
    /// Refusals before anything left, `(what, code)`.
    pub refusals: Vec<(String, String)>,
    pub ended_at: i64,
}

fn expect_refusal<T>(
    out: &mut GovernanceOutcome,
    what: &str,
    result: Result<T, AssistError>,
) -> Result<(), AssistError> {
    match result {
        Ok(_) => Err(AssistError::internal(format!("{what} was not refused"))),
        Err(e) if e.is_refusal() => {
            out.refusals.push((what.to_owned(), e.code.to_owned()));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn markings(tlp: Tlp, pap: Pap, caveats: &[&str]) -> Result<Markings, AssistError> {
    caveats
        .iter()
        .try_fold(Markings::new(tlp, pap), |m, c| m.with_caveat(c))
        .map_err(AssistError::from)
}

/// Plays the scenario from `t0` (after `story::play`).
pub fn play(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    t0: i64,
    settle: &mut dyn FnMut(i64) -> Result<(), AssistError>,
) -> Result<GovernanceOutcome, AssistError> {
    let mut out = GovernanceOutcome::default();
    let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
    let mut now = t0 + DAY_MS;

    // §4 then §9: UZ supplies an alert marked AMBER / PAP:AMBER, no onward sharing.
    let supplied = markings(Tlp::Amber, Pap::Amber, &["NO-ONWARD"])?;
    let item = uz.inform(
        &uzx.desk,
        "goods",
        false,
        "Cotton yarn declared at a third of its market value, exported via Termez",
        supplied.clone(),
        vec![Purpose::Intel, Purpose::Admin],
        now,
    )?;
    settle(now)?;
    out.item = item.clone();
    out.supplied = Some(supplied);

    // The provider loosens: only its supervisor may (§13 "loosen own markings").
    now += DAY_MS;
    let loosened = markings(Tlp::Green, Pap::Green, &[])?;
    let loosen = |reason: &str| MarkingChangeInput {
        item_id: item.clone(),
        field: None,
        markings: loosened.clone(),
        reason: reason.to_owned(),
    };
    expect_refusal(
        &mut out,
        "a desk officer loosening the provider's markings",
        uz.change_marking(&uzx.desk, loosen("cleared by the enquiry"), now),
    )?;
    let change = uz.change_marking(
        &uzx.supervisor,
        loosen("the enquiry is closed; the pattern may go to the trade community"),
        now,
    )?;
    out.changes.push(change.change_id);
    settle(now)?;
    out.loosened = Some(loosened.clone());

    // The receiver may not loosen (§9), even what the provider has just loosened …
    now += DAY_MS;
    expect_refusal(
        &mut out,
        "the receiver loosening an item it did not supply",
        us.change_marking(
            &usx.supervisor,
            MarkingChangeInput {
                item_id: item.clone(),
                field: None,
                markings: markings(Tlp::Clear, Pap::White, &[])?,
                reason: "publish it".into(),
            },
            now,
        ),
    )?;
    // … but it may tighten a field, and tells the provider so both copies agree.
    let tightened = markings(Tlp::Red, Pap::Red, &["LE-SENSITIVE"])?;
    let change = us.change_marking(
        &usx.analyst,
        MarkingChangeInput {
            item_id: item.clone(),
            field: Some("summary".into()),
            markings: tightened.clone(),
            reason: "the summary now matches an open US investigation".into(),
        },
        now,
    )?;
    out.changes.push(change.change_id);
    settle(now)?;
    out.tightened_field = "summary".into();
    out.tightened = Some(tightened);

    // §1.8: each side sends its own section's next version.
    now += DAY_MS;
    let mut ours = us.directory_view()?.own.entries;
    let mut watch = ours
        .first()
        .cloned()
        .ok_or_else(|| AssistError::internal("the US section of the directory is empty"))?;
    watch.id = "us-cbp-ntc-watch".into();
    watch.unit = "CBP National Targeting Center, watch floor".into();
    watch.role = "urgent oral requests".into();
    watch.channels = vec!["caravan".into(), "phone-24x7".into()];
    watch.valid_from = crate::service::today(now);
    ours.retain(|e| e.id != watch.id);
    ours.push(watch.clone());
    expect_refusal(
        &mut out,
        "a directory update by one person",
        us.update_directory(
            ours.clone(),
            "NTC watch floor takes urgent oral requests",
            [&usx.admin, &usx.admin],
            now,
        ),
    )?;
    let us_update = us.update_directory(
        ours,
        "NTC watch floor takes urgent oral requests",
        [&usx.admin, &usx.supervisor],
        now,
    )?;
    out.new_contact_points.push(watch.id);

    let mut theirs = uz.directory_view()?.own.entries;
    let mut termez = theirs
        .first()
        .cloned()
        .ok_or_else(|| AssistError::internal("the UZ section of the directory is empty"))?;
    termez.id = "uz-cc-termez-post".into();
    termez.unit = "Termez customs post, duty officer".into();
    termez.languages = vec!["uz".into(), "ru".into()];
    termez.valid_from = crate::service::today(now);
    theirs.retain(|e| e.id != termez.id);
    theirs.push(termez.clone());
    expect_refusal(
        &mut out,
        "a directory section naming the partner's contact points",
        uz.update_directory(
            us.directory_view()?.own.entries,
            "copy of the US section",
            [&uzx.admin, &uzx.supervisor],
            now,
        ),
    )?;
    let uz_update = uz.update_directory(
        theirs,
        "Termez post answers requests on southern border movements",
        [&uzx.admin, &uzx.supervisor],
        now,
    )?;
    out.new_contact_points.push(termez.id);
    settle(now)?;
    out.sections = (us_update.version, uz_update.version);
    out.ended_at = now;
    Ok(out)
}
