//! The request lifecycle as an explicit state machine (assistance spec §3).
//!
//! Why one table: both nodes hold a copy of every case and apply the same events, so the legal
//! moves must be a single list that the code, the diagram (`STATE_MACHINE.md`, generated from
//! [`TRANSITIONS`] and checked by a test) and the exchange's action catalogue (exchange spec
//! §3.2) all read. Every accepted event appends exactly one [`CaseRecord`]; a record carried to
//! the partner names its §3.2 action, so the exchange can send it and the log can hold it. A
//! refused event changes nothing and says why with a stable code.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::agreement::{Agreement, AgreementError, Purpose, Traffic};
use crate::catalogue::{RequestType, ValidRequest};
use crate::marking::Markings;
use crate::roles::{self, Actor, Capability, Role, RoleError};

coded_enum! {
    /// §3.1 states. `accepted` is passed through on `Request.Accept` straight to
    /// `in_execution` ("accepted → in_execution"), so it is not a resting state.
    pub enum CaseState {
        Draft => "draft",
        Sent => "sent",
        OralPendingConfirmation => "oral_pending_confirmation",
        Received => "received",
        ReturnedForCorrection => "returned_for_correction",
        Acknowledged => "acknowledged",
        AcceptedWithConditions => "accepted_with_conditions",
        InExecution => "in_execution",
        Postponed => "postponed",
        PartiallyAnswered => "partially_answered",
        Answered => "answered",
        Refused => "refused",
        Withdrawn => "withdrawn",
        Closed => "closed",
    }
}

impl CaseState {
    /// "Any open state" of §3.2: sent and not yet answered, refused, withdrawn or closed.
    pub fn is_open(self) -> bool {
        use CaseState as S;
        matches!(
            self,
            S::Sent
                | S::OralPendingConfirmation
                | S::Received
                | S::ReturnedForCorrection
                | S::Acknowledged
                | S::AcceptedWithConditions
                | S::InExecution
                | S::Postponed
                | S::PartiallyAnswered
        )
    }
}

coded_enum! {
    /// §3.2 events. The code is the exchange action (exchange spec §3.2) where the event is a
    /// message; node-internal events have a `Node.` or `Internal.` code.
    pub enum Action {
        Submit => "Request.Submit",
        TransportReceipt => "Node.TransportReceipt",
        ReturnForCorrection => "Request.ReturnForCorrection",
        CorrectionExpired => "Node.CorrectionExpired",
        Acknowledge => "Request.Acknowledge",
        Accept => "Request.Accept",
        AcceptWithConditions => "Request.AcceptWithConditions",
        ConditionsAccept => "Conditions.Accept",
        ConditionsDecline => "Conditions.Decline",
        Refuse => "Request.Refuse",
        Delegate => "Internal.Delegate",
        Postpone => "Request.Postpone",
        Resume => "Request.Resume",
        PartialReply => "Request.PartialReply",
        Reply => "Request.Reply",
        Withdraw => "Request.Withdraw",
        Close => "Request.Close",
        Reminder => "Request.Reminder",
        DelayNotice => "Request.DelayNotice",
    }
}

coded_enum! {
    /// The two sides of a case.
    pub enum Side {
        Requester => "requester",
        Requested => "requested",
    }
}

/// Who may trigger an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Performer {
    /// An officer of this side, holding this capability.
    Officer(Side, Capability),
    /// The node of this side, automatically.
    Node(Side),
}

/// How an accepted transition travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carriage {
    /// A signed message to the partner carrying this §3.2 action, and a log entry.
    ToPartner(&'static str),
    /// A log entry only: the transport receipt, internal delegation (§3.2 rules: "the partner
    /// sees only that the request is in_execution").
    LocalLog,
}

// Stored as the §3.2 action it carries, or `local_log`; the static string comes back from
// the action table, so a stored record cannot name an action the code does not know.
impl serde::Serialize for Carriage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Carriage::ToPartner(action) => s.serialize_str(action),
            Carriage::LocalLog => s.serialize_str("local_log"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Carriage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <String as serde::Deserialize>::deserialize(d)?;
        if code == "local_log" {
            return Ok(Carriage::LocalLog);
        }
        Action::ALL
            .iter()
            .find_map(|a| match a.carriage() {
                Carriage::ToPartner(c) if c == code => Some(Carriage::ToPartner(c)),
                _ => None,
            })
            .ok_or_else(|| serde::de::Error::custom(format!("{code:?} is not a carriage")))
    }
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: CaseState,
    pub action: Action,
    pub to: CaseState,
    pub by: Performer,
}

use Action as A;
use CaseState as S;
use Performer::{Node, Officer};
use Side::{Requested, Requester};

const fn t(from: CaseState, action: Action, to: CaseState, by: Performer) -> Transition {
    Transition {
        from,
        action,
        to,
        by,
    }
}

const OPEN: [CaseState; 9] = [
    S::Sent,
    S::OralPendingConfirmation,
    S::Received,
    S::ReturnedForCorrection,
    S::Acknowledged,
    S::AcceptedWithConditions,
    S::InExecution,
    S::Postponed,
    S::PartiallyAnswered,
];

/// The §3.2 table, one row per (from, action). Withdrawal, reminders and delay notices, which
/// apply to "any open state", are expanded per state.
#[rustfmt::skip]
pub const TRANSITIONS: &[Transition] = &{
    use Capability as C;
    const FIXED: [Transition; 22] = [
        t(S::Draft, A::Submit, S::Sent, Officer(Requester, C::ReleaseOutbound)),
        t(S::OralPendingConfirmation, A::Submit, S::Received, Officer(Requester, C::ReleaseOutbound)),
        t(S::Sent, A::TransportReceipt, S::Received, Node(Requested)),
        t(S::Received, A::ReturnForCorrection, S::ReturnedForCorrection, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::ReturnedForCorrection, A::Submit, S::Received, Officer(Requester, C::ReleaseOutbound)),
        t(S::ReturnedForCorrection, A::CorrectionExpired, S::Closed, Node(Requested)),
        t(S::Received, A::Acknowledge, S::Acknowledged, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::Acknowledged, A::Accept, S::InExecution, Officer(Requested, C::AcceptRefusePostpone)),
        t(S::Acknowledged, A::AcceptWithConditions, S::AcceptedWithConditions, Officer(Requested, C::AcceptRefusePostpone)),
        t(S::AcceptedWithConditions, A::ConditionsAccept, S::InExecution, Officer(Requester, C::AcceptRefusePostpone)),
        t(S::AcceptedWithConditions, A::ConditionsDecline, S::Withdrawn, Officer(Requester, C::AcceptRefusePostpone)),
        t(S::Acknowledged, A::Refuse, S::Refused, Officer(Requested, C::AcceptRefusePostpone)),
        t(S::InExecution, A::Delegate, S::InExecution, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::InExecution, A::Postpone, S::Postponed, Officer(Requested, C::AcceptRefusePostpone)),
        t(S::Postponed, A::Resume, S::InExecution, Officer(Requested, C::AcceptRefusePostpone)),
        t(S::InExecution, A::PartialReply, S::PartiallyAnswered, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::PartiallyAnswered, A::PartialReply, S::PartiallyAnswered, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::InExecution, A::Reply, S::Answered, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::PartiallyAnswered, A::Reply, S::Answered, Officer(Requested, C::AcknowledgeAndPartialReply)),
        t(S::Answered, A::Close, S::Closed, Officer(Requester, C::DraftRequests)),
        t(S::Refused, A::Close, S::Closed, Officer(Requester, C::DraftRequests)),
        t(S::Withdrawn, A::Close, S::Closed, Officer(Requester, C::DraftRequests)),
    ];
    // Every open state also takes a withdrawal, a reminder and a delay notice.
    let mut all = [FIXED[0]; 22 + 3 * OPEN.len()];
    let mut i = 0;
    while i < FIXED.len() {
        all[i] = FIXED[i];
        i += 1;
    }
    let mut k = 0;
    while k < OPEN.len() {
        let s = OPEN[k];
        all[22 + 3 * k] = t(s, A::Withdraw, S::Withdrawn, Officer(Requester, C::AcceptRefusePostpone));
        all[23 + 3 * k] = t(s, A::Reminder, s, Node(Requester));
        all[24 + 3 * k] = t(s, A::DelayNotice, s, Officer(Requested, C::AcknowledgeAndPartialReply));
        k += 1;
    }
    all
};

/// The row for `(from, action)`, if the move is legal.
pub fn transition(from: CaseState, action: Action) -> Option<&'static Transition> {
    TRANSITIONS
        .iter()
        .find(|r| r.from == from && r.action == action)
}

impl Action {
    /// How the transition travels (§3.2; exchange spec §3.2).
    pub fn carriage(self) -> Carriage {
        match self {
            A::TransportReceipt | A::Delegate => Carriage::LocalLog,
            // The auto-close on `T_correct` expiry is told to the requester as a close.
            A::CorrectionExpired => Carriage::ToPartner("Request.Close"),
            other => Carriage::ToPartner(other.code()),
        }
    }

    /// The gate class of §1.2/§1.9: a request asks; a reply shares; the rest steer the case.
    pub fn traffic(self) -> Traffic {
        match self {
            A::Submit => Traffic::RequestForInformation,
            A::PartialReply | A::Reply => Traffic::Operational,
            _ => Traffic::Governance,
        }
    }
}

coded_enum! {
    /// §3.3 grounds for refusal, conditions and postponement.
    pub enum Ground {
        G01 => "G01",
        G02 => "G02",
        G03 => "G03",
        G04 => "G04",
        G05 => "G05",
        G06 => "G06",
        G07 => "G07",
        G08 => "G08",
        G09 => "G09",
        P01 => "P01",
    }
}

/// One item of a reply: markings and permitted uses are mandatory (§3.2 rules).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplyItem {
    pub item_id: String,
    pub markings: Markings,
    pub permitted_uses: Vec<Purpose>,
}

/// An event with its content. Serialised with its §3.2 event name in `event`, which is how
/// the partner receives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Submit,
    TransportReceipt,
    ReturnForCorrection {
        missing: Vec<String>,
    },
    CorrectionExpired,
    Acknowledge,
    Accept,
    AcceptWithConditions {
        grounds: Vec<Ground>,
        reason: String,
        conditions: Vec<String>,
    },
    ConditionsAccept,
    ConditionsDecline {
        reason: String,
    },
    Refuse {
        grounds: Vec<Ground>,
        reason: String,
    },
    Delegate {
        authority: String,
    },
    Postpone {
        reason: String,
        resume_on: NaiveDate,
        conditions: Vec<String>,
    },
    Resume,
    PartialReply {
        items: Vec<ReplyItem>,
        outstanding: Vec<String>,
        expected_on: NaiveDate,
    },
    Reply {
        items: Vec<ReplyItem>,
    },
    Withdraw {
        reason: String,
    },
    Close,
    Reminder,
    DelayNotice {
        reason: String,
        new_date: NaiveDate,
    },
}

impl Event {
    pub fn action(&self) -> Action {
        match self {
            Event::Submit => A::Submit,
            Event::TransportReceipt => A::TransportReceipt,
            Event::ReturnForCorrection { .. } => A::ReturnForCorrection,
            Event::CorrectionExpired => A::CorrectionExpired,
            Event::Acknowledge => A::Acknowledge,
            Event::Accept => A::Accept,
            Event::AcceptWithConditions { .. } => A::AcceptWithConditions,
            Event::ConditionsAccept => A::ConditionsAccept,
            Event::ConditionsDecline { .. } => A::ConditionsDecline,
            Event::Refuse { .. } => A::Refuse,
            Event::Delegate { .. } => A::Delegate,
            Event::Postpone { .. } => A::Postpone,
            Event::Resume => A::Resume,
            Event::PartialReply { .. } => A::PartialReply,
            Event::Reply { .. } => A::Reply,
            Event::Withdraw { .. } => A::Withdraw,
            Event::Close => A::Close,
            Event::Reminder => A::Reminder,
            Event::DelayNotice { .. } => A::DelayNotice,
        }
    }
}

/// Who triggers an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    Officer {
        side: Side,
        actor: Actor,
        /// A supervisor's approval, where the table asks for one.
        approved_by: Option<Actor>,
    },
    Node(Side),
}

impl By {
    pub fn officer(side: Side, actor: Actor) -> By {
        By::Officer {
            side,
            actor,
            approved_by: None,
        }
    }

    pub fn side(&self) -> Side {
        match self {
            By::Officer { side, .. } | By::Node(side) => *side,
        }
    }

    fn supervisor_approved(&self) -> bool {
        match self {
            By::Officer {
                actor, approved_by, ..
            } => {
                actor.role == Role::Supervisor
                    || approved_by
                        .as_ref()
                        .is_some_and(|a| a.role == Role::Supervisor && a.account != actor.account)
            }
            By::Node(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{action} is not allowed in state {from}")]
    NotAllowed { from: CaseState, action: Action },
    #[error("{action} belongs to the {expected} side")]
    WrongSide { action: Action, expected: Side },
    #[error("{action} is performed by the node, not an officer")]
    NodeOnly { action: Action },
    #[error("{action} needs an officer, not the node")]
    OfficerOnly { action: Action },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error("{action} needs a supervisor's approval")]
    SupervisorApprovalRequired { action: Action },
    #[error(transparent)]
    Agreement(#[from] AgreementError),
    #[error("refusal, postponement and conditions need ground codes")]
    GroundsMissing,
    #[error("ground {0} does not apply to {1}")]
    GroundNotApplicable(Ground, Action),
    #[error("a free-text reason is mandatory")]
    ReasonMissing,
    #[error("conditions are missing")]
    ConditionsMissing,
    #[error("the list of missing items is empty")]
    MissingListEmpty,
    #[error("a reply needs at least one item")]
    ReplyEmpty,
    #[error("reply item {0} carries no permitted uses")]
    ReplyItemUnmarked(String),
    #[error("reply item {item} permits {purpose}, which the agreement does not allow")]
    ReplyUseBeyondAgreement { item: String, purpose: Purpose },
    #[error("date {0} is before the case's last event")]
    TimeGoesBackwards(NaiveDate),
    #[error("date {0} is in the past")]
    DateInPast(NaiveDate),
    #[error("no reminder is due")]
    NoReminderDue,
    #[error("the request is not overdue")]
    NotOverdue,
    #[error("T_correct has not expired")]
    CorrectionNotExpired,
    #[error("the delegated authority is missing")]
    AuthorityMissing,
}

impl TransitionError {
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::NotAllowed { .. } => "transition_not_allowed",
            TransitionError::WrongSide { .. } => "wrong_side",
            TransitionError::NodeOnly { .. } => "node_only",
            TransitionError::OfficerOnly { .. } => "officer_only",
            TransitionError::Role(e) => e.code(),
            TransitionError::SupervisorApprovalRequired { .. } => "supervisor_approval_required",
            TransitionError::Agreement(e) => e.code(),
            TransitionError::GroundsMissing => "grounds_missing",
            TransitionError::GroundNotApplicable(..) => "ground_not_applicable",
            TransitionError::ReasonMissing => "reason_missing",
            TransitionError::ConditionsMissing => "conditions_missing",
            TransitionError::MissingListEmpty => "missing_list_empty",
            TransitionError::ReplyEmpty => "reply_empty",
            TransitionError::ReplyItemUnmarked(_) => "reply_item_unmarked",
            TransitionError::ReplyUseBeyondAgreement { .. } => "reply_use_beyond_agreement",
            TransitionError::TimeGoesBackwards(_) => "time_goes_backwards",
            TransitionError::DateInPast(_) => "date_in_past",
            TransitionError::NoReminderDue => "no_reminder_due",
            TransitionError::NotOverdue => "not_overdue",
            TransitionError::CorrectionNotExpired => "correction_not_expired",
            TransitionError::AuthorityMissing => "authority_missing",
        }
    }
}

/// One accepted transition: exactly one per accepted event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaseRecord {
    pub seq: u64,
    pub on: NaiveDate,
    pub action: Action,
    pub from: CaseState,
    pub to: CaseState,
    pub by: Side,
    pub carriage: Carriage,
    /// Whether the holder of this case copy sends it (it did the event) or received it.
    pub outbound: bool,
}

/// A pausable day-count timer (`T_exec`, §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecTimer {
    pub started: NaiveDate,
    pub days: u32,
    pub paused_days: u64,
    pub paused_since: Option<NaiveDate>,
    pub stopped: bool,
}

impl ExecTimer {
    /// The due date, or `None` while paused or stopped.
    pub fn due(&self) -> Option<NaiveDate> {
        if self.stopped || self.paused_since.is_some() {
            return None;
        }
        Some(self.started + Days::new(u64::from(self.days) + self.paused_days))
    }

    fn pause(&mut self, on: NaiveDate) {
        if self.paused_since.is_none() && !self.stopped {
            self.paused_since = Some(on);
        }
    }

    fn resume(&mut self, on: NaiveDate) {
        if let Some(since) = self.paused_since.take() {
            self.paused_days += u64::try_from((on - since).num_days()).unwrap_or(0);
        }
    }
}

/// Adds `n` working days (Monday–Friday, skipping `holidays`) to `from`.
pub fn add_working_days(from: NaiveDate, n: u32, holidays: &[NaiveDate]) -> NaiveDate {
    let mut day = from;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt().unwrap_or(day);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && !holidays.contains(&day) {
            left -= 1;
        }
    }
    day
}

/// A case as one node holds it. It serialises whole, so a store can keep the exact copy the
/// state machine works on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Case {
    pub id: String,
    pub agreement_id: String,
    /// Which side this copy belongs to.
    pub holder: Side,
    /// The desk the case is assigned to on the holder's side (overdue lists are per desk).
    pub desk: String,
    /// The requested administration's party code.
    pub requested_party: String,
    pub types: Vec<RequestType>,
    pub urgent_reply_by: Option<NaiveDate>,
    pub state: CaseState,
    pub last_on: NaiveDate,
    pub ack_due: Option<NaiveDate>,
    pub confirm_due: Option<NaiveDate>,
    pub correct_due: Option<NaiveDate>,
    pub exec: Option<ExecTimer>,
    pub reminders_sent: u32,
    /// Alerts sent while an oral request's `T_confirm` has passed unconfirmed (§3.2 rules).
    #[serde(default)]
    pub confirm_reminders_sent: u32,
    pub overdue: bool,
    pub grounds: Vec<Ground>,
    pub reasons: Vec<String>,
    pub conditions: Vec<String>,
    pub delegated_to: Option<String>,
    pub received_on: Option<NaiveDate>,
    pub acknowledged_on: Option<NaiveDate>,
    pub answered_on: Option<NaiveDate>,
    pub reply_items: Vec<ReplyItem>,
    pub records: Vec<CaseRecord>,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

impl Case {
    /// A written request drafted on the requester's side, in `draft`.
    pub fn draft(id: &str, desk: &str, request: &ValidRequest, on: NaiveDate) -> Case {
        Case::new(id, desk, Side::Requester, request, CaseState::Draft, on)
    }

    /// The requested side's copy of a request received over the exchange (its `Request.Submit`
    /// arrived): starts in `sent` and moves to `received` on the transport receipt.
    pub fn incoming(id: &str, desk: &str, request: &ValidRequest, on: NaiveDate) -> Case {
        Case::new(id, desk, Side::Requested, request, CaseState::Sent, on)
    }

    fn new(
        id: &str,
        desk: &str,
        holder: Side,
        request: &ValidRequest,
        state: CaseState,
        on: NaiveDate,
    ) -> Case {
        let d = request.draft();
        let mut case = Case::empty(id, desk, holder, &d.agreement_id, state, on);
        case.requested_party = d.requested_administration.clone();
        case.types = d.types.clone();
        case.urgent_reply_by = d.urgency.as_ref().map(|u| u.reply_by);
        case
    }

    fn empty(
        id: &str,
        desk: &str,
        holder: Side,
        agreement_id: &str,
        state: CaseState,
        on: NaiveDate,
    ) -> Case {
        Case {
            id: id.to_owned(),
            agreement_id: agreement_id.to_owned(),
            holder,
            desk: desk.to_owned(),
            requested_party: String::new(),
            types: Vec::new(),
            urgent_reply_by: None,
            state,
            last_on: on,
            ack_due: None,
            confirm_due: None,
            correct_due: None,
            exec: None,
            reminders_sent: 0,
            confirm_reminders_sent: 0,
            overdue: false,
            grounds: Vec::new(),
            reasons: Vec::new(),
            conditions: Vec::new(),
            delegated_to: None,
            received_on: None,
            acknowledged_on: None,
            answered_on: None,
            reply_items: Vec::new(),
            records: Vec::new(),
        }
    }

    /// An urgent oral request recorded by the requested side's contact point (§3.2 row 2):
    /// starts `T_confirm`, `T_ack` and `T_exec` at once.
    pub fn oral(
        id: &str,
        desk: &str,
        holder: Side,
        record: &crate::catalogue::OralRecord,
        agreement: &Agreement,
    ) -> Result<Case, crate::catalogue::IntakeError> {
        let confirm_due = crate::catalogue::validate_oral(record, agreement)?;
        let on = record.received_on;
        let mut case = Case::empty(
            id,
            desk,
            holder,
            &agreement.id,
            CaseState::OralPendingConfirmation,
            on,
        );
        case.requested_party = agreement
            .partner_of(&record.requesting_administration)
            .unwrap_or_default()
            .to_owned();
        case.types = record.types.clone();
        case.urgent_reply_by = Some(record.urgency.reply_by);
        case.confirm_due = Some(confirm_due);
        case.received_on = Some(on);
        case.start_ack_exec(on, agreement);
        Ok(case)
    }

    fn start_ack_exec(&mut self, on: NaiveDate, agreement: &Agreement) {
        // §1.5: working days follow the requested party's holiday calendar.
        let holidays = agreement
            .party(&self.requested_party)
            .map(|p| p.holidays.clone())
            .unwrap_or_default();
        self.ack_due = Some(add_working_days(
            on,
            agreement.deadlines.ack_working_days,
            &holidays,
        ));
        self.exec = Some(ExecTimer {
            started: on,
            days: agreement.deadlines.exec_days,
            paused_days: 0,
            paused_since: None,
            stopped: false,
        });
    }

    /// The reply due date: `T_exec`, or the urgent reply date if earlier (§1.5 `T_urgent`).
    pub fn reply_due(&self) -> Option<NaiveDate> {
        let exec = self.exec.as_ref().and_then(ExecTimer::due)?;
        Some(match self.urgent_reply_by {
            Some(u) if u < exec => u,
            _ => exec,
        })
    }

    /// Every deadline that has passed on `today`, with the timer's name.
    pub fn overdue_timers(&self, today: NaiveDate) -> Vec<(&'static str, NaiveDate)> {
        let mut out = Vec::new();
        if !self.state.is_open() {
            return out;
        }
        if let Some(d) = self.ack_due
            && d < today
        {
            out.push(("T_ack", d));
        }
        if let Some(d) = self.reply_due()
            && d < today
        {
            out.push(("T_exec", d));
        }
        if let Some(d) = self.confirm_due
            && d < today
        {
            out.push(("T_confirm", d));
        }
        out
    }

    /// The reminder dates of §1.5 up to `today`: at `reminder_percent` of `T_exec`, at the
    /// deadline, then every `overdue_reminder_every_days` while overdue.
    pub fn reminder_schedule(&self, agreement: &Agreement, today: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let (Some(exec), Some(due)) = (self.exec.as_ref(), self.reply_due()) else {
            return out;
        };
        if !self.state.is_open() {
            return out;
        }
        let d = &agreement.deadlines;
        let total = u64::from(d.exec_days) + exec.paused_days;
        let early = exec.started + Days::new(total * u64::from(d.reminder_percent) / 100);
        for day in [early.min(due), due] {
            if day <= today && !out.contains(&day) {
                out.push(day);
            }
        }
        let mut next = due + Days::new(u64::from(d.overdue_reminder_every_days));
        while next <= today {
            out.push(next);
            next = next + Days::new(u64::from(d.overdue_reminder_every_days));
        }
        out
    }

    /// The alert dates of an oral request whose written confirmation is late (§3.2 rules: "if
    /// `T_confirm` expires … both supervisors are alerted"): the day after `T_confirm`, then
    /// every `overdue_reminder_every_days` while it stays unconfirmed, up to `today`.
    pub fn confirm_reminder_schedule(
        &self,
        agreement: &Agreement,
        today: NaiveDate,
    ) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let Some(due) = self.confirm_due else {
            return out;
        };
        if self.state != CaseState::OralPendingConfirmation {
            return out;
        }
        let every = u64::from(agreement.deadlines.overdue_reminder_every_days.max(1));
        let mut next = due + Days::new(1);
        while next <= today {
            out.push(next);
            next = next + Days::new(every);
        }
        out
    }

    /// Notes a due confirmation alert: the case is flagged overdue and the count of alerts
    /// sent rises. It is a flag on the case, not a transition (the state does not move and
    /// nothing travels: the requester holds no copy of an oral request). Returns how many
    /// alerts are now sent; `no_reminder_due` when none is due.
    pub fn note_confirm_reminder(
        &mut self,
        agreement: &Agreement,
        today: NaiveDate,
    ) -> Result<u32, TransitionError> {
        let due = self.confirm_reminder_schedule(agreement, today);
        if due.len() <= self.confirm_reminders_sent as usize {
            return Err(TransitionError::NoReminderDue);
        }
        self.confirm_reminders_sent = due.len() as u32;
        self.overdue = true;
        Ok(self.confirm_reminders_sent)
    }

    /// Applies an event. On success exactly one record is appended; on refusal the case is
    /// unchanged.
    pub fn apply(
        &mut self,
        event: Event,
        by: By,
        on: NaiveDate,
        agreement: &Agreement,
    ) -> Result<&CaseRecord, TransitionError> {
        let action = event.action();
        let row = transition(self.state, action).ok_or(TransitionError::NotAllowed {
            from: self.state,
            action,
        })?;
        if on < self.last_on {
            return Err(TransitionError::TimeGoesBackwards(on));
        }
        self.check_performer(row, &by)?;
        if let Carriage::ToPartner(_) = action.carriage()
            && by.side() == self.holder
        {
            agreement.check_outbound(action.traffic(), on)?;
            agreement.check_assurance(action.traffic(), by.supervisor_approved())?;
        }
        if action == A::Submit && agreement.submit_needs_supervisor && !by.supervisor_approved() {
            return Err(TransitionError::SupervisorApprovalRequired { action });
        }
        let mut next = self.clone();
        next.effect(event, on, agreement)?;
        next.state = row.to;
        next.last_on = on;
        let record = CaseRecord {
            seq: next.records.len() as u64 + 1,
            on,
            action,
            from: self.state,
            to: row.to,
            by: by.side(),
            carriage: action.carriage(),
            outbound: by.side() == self.holder,
        };
        next.records.push(record);
        *self = next;
        Ok(self.records.last().expect("just pushed"))
    }

    fn check_performer(&self, row: &Transition, by: &By) -> Result<(), TransitionError> {
        match (row.by, by) {
            (Performer::Node(side), By::Node(s)) => {
                if side != *s {
                    return Err(TransitionError::WrongSide {
                        action: row.action,
                        expected: side,
                    });
                }
            }
            (Performer::Node(_), By::Officer { .. }) => {
                return Err(TransitionError::NodeOnly { action: row.action });
            }
            (Performer::Officer(..), By::Node(_)) => {
                return Err(TransitionError::OfficerOnly { action: row.action });
            }
            (Performer::Officer(side, capability), By::Officer { side: s, actor, .. }) => {
                if side != *s {
                    return Err(TransitionError::WrongSide {
                        action: row.action,
                        expected: side,
                    });
                }
                roles::check(actor, capability, true)?;
                // §3.2: partial and full replies by a desk officer need supervisor approval.
                if matches!(row.action, A::PartialReply | A::Reply) && !by.supervisor_approved() {
                    return Err(TransitionError::SupervisorApprovalRequired { action: row.action });
                }
            }
        }
        Ok(())
    }

    fn effect(
        &mut self,
        event: Event,
        on: NaiveDate,
        agreement: &Agreement,
    ) -> Result<(), TransitionError> {
        match event {
            Event::Submit => match self.state {
                S::Draft => {}
                S::OralPendingConfirmation => {
                    self.confirm_due = None;
                    // The overdue flag came from the late confirmation alone.
                    if self.confirm_reminders_sent > 0 && self.reminders_sent == 0 {
                        self.overdue = false;
                    }
                }
                S::ReturnedForCorrection => {
                    self.correct_due = None;
                    if let Some(e) = self.exec.as_mut() {
                        e.resume(on);
                    }
                }
                _ => {}
            },
            Event::TransportReceipt => {
                self.received_on = Some(on);
                self.start_ack_exec(on, agreement);
            }
            Event::ReturnForCorrection { missing } => {
                if missing.iter().all(|m| blank(m)) {
                    return Err(TransitionError::MissingListEmpty);
                }
                if let Some(e) = self.exec.as_mut() {
                    e.pause(on);
                }
                self.correct_due =
                    Some(on + Days::new(u64::from(agreement.deadlines.correct_days)));
                self.reasons.push(missing.join("; "));
            }
            Event::CorrectionExpired => {
                if self.correct_due.is_none_or(|d| on <= d) {
                    return Err(TransitionError::CorrectionNotExpired);
                }
                self.stop_all();
            }
            Event::Acknowledge => {
                self.ack_due = None;
                self.acknowledged_on = Some(on);
            }
            Event::Accept => {}
            Event::AcceptWithConditions {
                grounds,
                reason,
                conditions,
            } => {
                self.grounds_and_reason(&grounds, &reason, A::AcceptWithConditions)?;
                if conditions.iter().all(|c| blank(c)) {
                    return Err(TransitionError::ConditionsMissing);
                }
                if let Some(e) = self.exec.as_mut() {
                    e.pause(on);
                }
                self.conditions = conditions;
            }
            Event::ConditionsAccept => {
                if let Some(e) = self.exec.as_mut() {
                    e.resume(on);
                }
            }
            Event::ConditionsDecline { reason } => {
                if blank(&reason) {
                    return Err(TransitionError::ReasonMissing);
                }
                self.reasons.push(reason);
                self.stop_all();
            }
            Event::Refuse { grounds, reason } => {
                self.grounds_and_reason(&grounds, &reason, A::Refuse)?;
                self.stop_all();
            }
            Event::Delegate { authority } => {
                if blank(&authority) {
                    return Err(TransitionError::AuthorityMissing);
                }
                self.delegated_to = Some(authority);
            }
            Event::Postpone {
                reason,
                resume_on,
                conditions,
            } => {
                self.grounds_and_reason(&[Ground::P01], &reason, A::Postpone)?;
                if resume_on < on {
                    return Err(TransitionError::DateInPast(resume_on));
                }
                if let Some(e) = self.exec.as_mut() {
                    e.pause(on);
                }
                self.conditions.extend(conditions);
            }
            Event::Resume => {
                if let Some(e) = self.exec.as_mut() {
                    e.resume(on);
                }
            }
            Event::PartialReply {
                items,
                outstanding,
                expected_on,
            } => {
                check_items(&items, agreement)?;
                if outstanding.iter().all(|o| blank(o)) {
                    return Err(TransitionError::MissingListEmpty);
                }
                if expected_on < on {
                    return Err(TransitionError::DateInPast(expected_on));
                }
                self.reply_items.extend(items);
            }
            Event::Reply { items } => {
                check_items(&items, agreement)?;
                self.reply_items.extend(items);
                self.answered_on = Some(on);
                self.stop_all();
            }
            Event::Withdraw { reason } => {
                if blank(&reason) {
                    return Err(TransitionError::ReasonMissing);
                }
                self.reasons.push(reason);
                self.stop_all();
            }
            Event::Close => {}
            Event::Reminder => {
                let due = self.reminder_schedule(agreement, on);
                if due.len() <= self.reminders_sent as usize {
                    return Err(TransitionError::NoReminderDue);
                }
                self.reminders_sent = due.len() as u32;
                if self.reply_due().is_some_and(|d| d <= on) {
                    self.overdue = true;
                }
            }
            Event::DelayNotice { reason, new_date } => {
                if !self.overdue {
                    return Err(TransitionError::NotOverdue);
                }
                if blank(&reason) {
                    return Err(TransitionError::ReasonMissing);
                }
                if new_date < on {
                    return Err(TransitionError::DateInPast(new_date));
                }
                self.reasons.push(reason);
            }
        }
        Ok(())
    }

    fn grounds_and_reason(
        &mut self,
        grounds: &[Ground],
        reason: &str,
        action: Action,
    ) -> Result<(), TransitionError> {
        if grounds.is_empty() {
            return Err(TransitionError::GroundsMissing);
        }
        for g in grounds {
            let postponement = *g == Ground::P01;
            if postponement != (action == A::Postpone) {
                return Err(TransitionError::GroundNotApplicable(*g, action));
            }
        }
        if blank(reason) {
            return Err(TransitionError::ReasonMissing);
        }
        self.grounds.extend_from_slice(grounds);
        self.reasons.push(reason.to_owned());
        Ok(())
    }

    fn stop_all(&mut self) {
        self.ack_due = None;
        self.confirm_due = None;
        self.correct_due = None;
        if let Some(e) = self.exec.as_mut() {
            e.stopped = true;
            e.paused_since = None;
        }
    }

    /// The outbound messages of this copy, in order.
    pub fn outbox(&self) -> impl Iterator<Item = &CaseRecord> {
        self.records
            .iter()
            .filter(|r| r.outbound && matches!(r.carriage, Carriage::ToPartner(_)))
    }
}

fn check_items(items: &[ReplyItem], agreement: &Agreement) -> Result<(), TransitionError> {
    if items.is_empty() {
        return Err(TransitionError::ReplyEmpty);
    }
    for item in items {
        if item.permitted_uses.is_empty() {
            return Err(TransitionError::ReplyItemUnmarked(item.item_id.clone()));
        }
        for purpose in &item.permitted_uses {
            if !agreement.use_rule(*purpose).allowed {
                return Err(TransitionError::ReplyUseBeyondAgreement {
                    item: item.item_id.clone(),
                    purpose: *purpose,
                });
            }
        }
    }
    Ok(())
}

/// One line of a desk's overdue list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueItem {
    pub case_id: String,
    pub state: CaseState,
    pub timer: &'static str,
    pub due: NaiveDate,
    pub days_late: i64,
}

/// Overdue lists per desk (§3.2 "silence past `T_exec` raises an overdue alert"), most late
/// first within a desk.
pub fn overdue_by_desk(
    cases: &[Case],
    today: NaiveDate,
) -> std::collections::BTreeMap<String, Vec<OverdueItem>> {
    let mut out: std::collections::BTreeMap<String, Vec<OverdueItem>> = Default::default();
    for case in cases {
        for (timer, due) in case.overdue_timers(today) {
            out.entry(case.desk.clone()).or_default().push(OverdueItem {
                case_id: case.id.clone(),
                state: case.state,
                timer,
                due,
                days_late: (today - due).num_days(),
            });
        }
    }
    for items in out.values_mut() {
        items.sort_by(|a, b| {
            b.days_late
                .cmp(&a.days_late)
                .then(a.case_id.cmp(&b.case_id))
        });
    }
    out
}

/// The Mermaid state diagram of [`TRANSITIONS`]; `STATE_MACHINE.md` is this text.
pub fn mermaid() -> String {
    let mut out = String::new();
    out.push_str("# Request lifecycle (generated)\n\n");
    out.push_str(
        "Generated from `caravan_assistance::lifecycle::TRANSITIONS` by `lifecycle::mermaid()`;\n\
         a test fails when this file and the table disagree. Self-loops (reminder, delay notice,\n\
         delegation, further partial replies) keep the state. Withdrawal applies to every open\n\
         state.\n\n",
    );
    out.push_str("```mermaid\nstateDiagram-v2\n");
    out.push_str("    [*] --> draft : written request drafted\n");
    out.push_str("    [*] --> oral_pending_confirmation : urgent oral request recorded\n");
    for r in TRANSITIONS {
        let who = match r.by {
            Performer::Officer(side, _) => side.code(),
            Performer::Node(_) => "node",
        };
        out.push_str(&format!(
            "    {} --> {} : {} ({who})\n",
            r.from.code(),
            r.to.code(),
            r.action.code()
        ));
    }
    out.push_str("    closed --> [*]\n```\n");
    out
}
