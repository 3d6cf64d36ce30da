//! Command-line arguments, written for the customs IT administrator who runs a node.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Caravan: a node for customs mutual assistance between administrations.
///
/// A node holds its administration's declarations, validated against the WCO Data Model,
/// HS 2022 and the ISO code lists, in an embedded SQLite file or in PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "caravan", version, about, long_about)]
pub struct Cli {
    /// Configuration file (TOML). `caravan print-config` prints a commented example.
    /// Settings in CARAVAN__SECTION__KEY environment variables override it.
    #[arg(long, short = 'c', global = true, env = "CARAVAN_CONFIG")]
    pub config: Option<PathBuf>,

    /// More log output (-v, -vv). CARAVAN_LOG takes a full filter instead.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the node: HTTP API with /healthz (alive) and /readyz (store answering).
    Serve,
    /// Start a US CBP node and an Uzbek Customs node on localhost and play the corridor
    /// scenario through them.
    Demo(DemoArgs),
    /// Write a synthetic US–Uzbekistan corridor (both sides' declarations and the ground
    /// truth of injected anomalies) to files.
    Generate(GenerateArgs),
    /// Validate declaration files and store them. A file is stored whole or not at all,
    /// unless --quarantine is given.
    Ingest(IngestArgs),
    /// Print a commented example configuration.
    PrintConfig,
    /// The transparency log: keys, proofs, offline verification and fsck.
    #[command(subcommand)]
    Log(LogCommand),
    /// Screening: parties against sanctions and lookout lists, pair scoring, evaluation.
    #[command(subcommand)]
    Screen(ScreenCommand),
    /// Exchange partners: register one from its signed key manifest, list, show, apply a
    /// rotated manifest, set the assurance gate.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// This node's exchange keys: export the signed key manifest, rotate, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Messages exchanged with partners: list, show, retry a dead letter, verify a
    /// receipt offline.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Mirror matching: link exports to the partner's imports and report discrepancies.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Targeting: rank declarations for inspection, evaluate, train and score models.
    #[command(subcommand)]
    Target(TargetCommand),
    /// Accounts of this node's officers: add (prints a token once), list, disable, enable,
    /// issue or revoke a token.
    #[command(subcommand)]
    Account(AccountCommand),
    /// The hash-chained audit trail: list rows, verify the chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Mutual assistance: requests to and from the partner under the agreement (create,
    /// list, show, send, acknowledge, accept, reply with evidence, refuse, consent), and the
    /// agreement's status.
    #[command(subcommand)]
    Request(RequestCommand),
    /// Hit/no-hit checks with the partner (assistance spec §12): ask whether the partner
    /// holds a record on a container, company or document; list queries asked and answered.
    #[command(subcommand)]
    Hitnohit(HitnohitCommand),
    /// Scheduled bulk exchange of declaration data (§5): send the batch of a dataset and
    /// period now, list batches sent and received.
    #[command(subcommand)]
    Bulk(BulkCommand),
    /// Results reported back on a request (§15 `Feedback.Outcome`): report, list.
    #[command(subcommand)]
    Feedback(FeedbackCommand),
    /// Re-mark an item and tell the partner (§9 `Marking.Change`): the provider loosens or
    /// tightens, the receiver only tightens.
    #[command(subcommand)]
    Marking(MarkingCommand),
    /// The designated contact-point directory (§1.8): show both sections, send ours as the
    /// next `Directory.Update`.
    #[command(subcommand)]
    Directory(DirectoryCommand),
}

/// `caravan request …`. Every action is done as an officer's account (`--as`), checked
/// against the §13 table and audited; messages to the partner leave with `caravan serve`.
#[derive(Debug, clap::Subcommand)]
pub enum RequestCommand {
    /// Create a request in draft from a JSON file of its §2.2 content.
    Create(RequestCreateArgs),
    /// List requests on this node.
    List(RequestListArgs),
    /// Show one request: content, state, timeline, messages, evidence, consents.
    Show(RequestIdArgs),
    /// Send a drafted request to the partner.
    Send(RequestIdArgs),
    /// Acknowledge a received request.
    Ack(RequestIdArgs),
    /// Accept an acknowledged request (supervisor).
    Accept(RequestIdArgs),
    /// Reply with evidence files.
    Reply(RequestReplyArgs),
    /// Refuse with ground codes and a reason (supervisor).
    Refuse(RequestRefuseArgs),
    /// Ask the provider for consent to another use, or decide on a consent asked of us.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Change the agreement's status (two-person rule: --as and --with).
    Agreement(RequestAgreementArgs),
    /// Record an urgent oral request taken by this side's contact point (§2.3).
    Oral(RequestOralArgs),
    /// Draft the written confirmation of an oral request we made, under its ORAL- id.
    ConfirmOral(RequestConfirmOralArgs),
    /// Record a disclosure of partner items compelled by domestic law and notify the
    /// provider (§10.4).
    Disclose(RequestDiscloseArgs),
    /// A partner's original: check out, return to the provider, or (provider) confirm
    /// receipt (§6).
    Original(RequestOriginalArgs),
    /// Retention of partner items: review list, legal holds, annual review, erasure on
    /// expiry (§11).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Propose a two-person change of the agreement (status, assurance, directory).
    Propose(RequestProposeArgs),
    /// List two-person proposals (pending by default).
    Proposals(RequestProposalsArgs),
    /// Approve, reject or withdraw a proposal (a second account approves).
    Decide(RequestDecideArgs),
    /// Run the node's timed duties now: reminders (T_exec, T_confirm, originals due) and
    /// erasure on expiry.
    Duties(ActingArgs),
}

#[derive(Debug, clap::Args)]
pub struct RequestOralArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Who called (name, function, number).
    #[arg(long)]
    pub caller: String,
    /// What was asked.
    #[arg(long)]
    pub summary: String,
    /// Request types, comma-separated (R01–R13).
    #[arg(long)]
    pub types: String,
    /// Why it is urgent.
    #[arg(long)]
    pub justification: String,
    /// Reply date asked for (YYYY-MM-DD).
    #[arg(long)]
    pub reply_by: chrono::NaiveDate,
    /// When the call came (YYYY-MM-DD; today if absent).
    #[arg(long)]
    pub received_on: Option<chrono::NaiveDate>,
    /// Desk (the intake desk if absent).
    #[arg(long)]
    pub desk: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RequestConfirmOralArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// The oral record's id as the partner gave it (ORAL-…).
    pub oral_id: String,
    /// The desk the request is assigned to.
    #[arg(long)]
    pub desk: String,
    /// JSON file with the written request (the §2.2 fields).
    #[arg(long)]
    pub file: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RequestDiscloseArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Request id whose partner evidence is disclosed.
    pub id: String,
    /// Evidence ids, comma-separated.
    #[arg(long)]
    pub items: String,
    /// The legal instrument compelling disclosure (subpoena, court order…).
    #[arg(long)]
    pub instrument: String,
    /// Recipient class: domestic_agency, court, third_country, intl_org.
    #[arg(long, default_value = "court")]
    pub authority_class: String,
    /// The court or authority.
    #[arg(long)]
    pub authority: String,
    /// Date of the disclosure (YYYY-MM-DD).
    #[arg(long)]
    pub date: chrono::NaiveDate,
    /// What is disclosed and why, for the provider.
    #[arg(long)]
    pub summary: String,
}

#[derive(Debug, clap::Args)]
pub struct RequestOriginalArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// checkout, return or confirm.
    pub action: String,
    /// Evidence id.
    pub evidence_id: String,
    /// Custodian (checkout).
    #[arg(long, default_value = "")]
    pub custodian: String,
    /// Condition of the document.
    #[arg(long)]
    pub condition: String,
    /// Due-back date (checkout; YYYY-MM-DD).
    #[arg(long)]
    pub due_back: Option<chrono::NaiveDate>,
    /// How it travels back (return).
    #[arg(long, default_value = "")]
    pub note: String,
}

/// `caravan request retention …`.
#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// Items due for erasure or annual review, and items under a legal hold.
    List(ActingArgs),
    /// Place a legal hold on a partner item (the provider is told).
    Hold(RetentionHoldArgs),
    /// Lift the legal hold on an item.
    Lift(RetentionHoldArgs),
    /// Annual review: keep (with a reason, optionally a new class) or erase.
    Review(RetentionReviewArgs),
}

#[derive(Debug, clap::Args)]
pub struct RetentionHoldArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Evidence id.
    pub evidence_id: String,
    /// Why (mandatory).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, clap::Args)]
pub struct RetentionReviewArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Evidence id.
    pub evidence_id: String,
    /// keep or erase.
    #[arg(long)]
    pub decision: String,
    /// Reason (mandatory to keep).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// New retention class (enquiry_no_act, enquiry_no_offence, offence_procedure_pending,
    /// final_judgment, person_cleared).
    #[arg(long)]
    pub class: Option<String>,
    /// Whether the item holds personal data.
    #[arg(long)]
    pub personal_data: Option<bool>,
}

#[derive(Debug, clap::Args)]
pub struct RequestProposeArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// status, assurance or directory.
    #[arg(long)]
    pub kind: String,
    /// New status (kind status): signed, in_force, suspended, terminated.
    #[arg(long)]
    pub status: Option<String>,
    /// Effective date (kind status; YYYY-MM-DD).
    #[arg(long)]
    pub effective: Option<chrono::NaiveDate>,
    /// Legal act cited (kind status).
    #[arg(long, default_value = "")]
    pub legal_act: String,
    /// New assurance state (kind assurance): good_standing, under_review, violated.
    #[arg(long)]
    pub assurance: Option<String>,
    /// Reason (kinds assurance and directory).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// JSON file of the contact point to add or replace (kind directory).
    #[arg(long)]
    pub entry: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RequestProposalsArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Every proposal, not only pending ones.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct RequestDecideArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Proposal id (PROP-…).
    pub id: String,
    /// approve, reject or withdraw.
    #[arg(long)]
    pub decision: String,
    /// Reason (reject, withdraw).
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// The acting officer.
#[derive(Debug, clap::Args)]
pub struct ActingArgs {
    /// The officer's account name (its role decides what it may do).
    #[arg(long = "as")]
    pub account: String,
}

#[derive(Debug, clap::Args)]
pub struct RequestCreateArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// The desk the request is assigned to.
    #[arg(long)]
    pub desk: String,
    /// JSON file with the request content (the §2.2 fields).
    #[arg(long)]
    pub file: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RequestListArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Only `requester` or `requested` copies.
    #[arg(long)]
    pub holder: Option<String>,
    /// Only this state.
    #[arg(long)]
    pub state: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RequestIdArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Request id (REQ-…).
    pub id: String,
}

#[derive(Debug, clap::Args)]
pub struct RequestReplyArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Request id.
    pub id: String,
    /// A supervisor approving a desk officer's reply.
    #[arg(long)]
    pub approved_by: Option<String>,
    /// Evidence file (repeatable).
    #[arg(long = "file", required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// certified_copy, copy or original (for every file).
    #[arg(long, default_value = "copy")]
    pub form: String,
    /// Certification statement (required for certified copies).
    #[arg(long)]
    pub certification: Option<String>,
    /// TLP 2.0 marking.
    #[arg(long, default_value = "AMBER")]
    pub tlp: String,
    /// PAP marking.
    #[arg(long, default_value = "AMBER")]
    pub pap: String,
    /// Permitted uses, comma-separated (INTEL, ADMIN, CIVIL, CRIMINAL).
    #[arg(long, default_value = "INTEL,ADMIN")]
    pub uses: String,
}

#[derive(Debug, clap::Args)]
pub struct RequestRefuseArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Request id.
    pub id: String,
    /// Ground codes, comma-separated (G01–G09).
    #[arg(long)]
    pub grounds: String,
    /// The mandatory reason.
    #[arg(long)]
    pub reason: String,
}

/// `caravan request consent …`.
#[derive(Debug, clap::Subcommand)]
pub enum ConsentCommand {
    /// Ask the provider for prior written consent to use items for another purpose.
    Request(ConsentRequestArgs),
    /// Decide on a consent the partner asked of us (supervisor).
    Decide(ConsentDecideArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConsentRequestArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Request id whose evidence is concerned.
    pub id: String,
    /// Evidence ids, comma-separated.
    #[arg(long)]
    pub items: String,
    /// ADMIN, CIVIL or CRIMINAL.
    #[arg(long)]
    pub purpose: String,
    /// Recipient class: same_admin, domestic_agency, court, third_country, intl_org.
    #[arg(long)]
    pub recipient: String,
    /// Recipient name (the proceeding, agency or state).
    #[arg(long, default_value = "")]
    pub recipient_name: String,
    /// Why the use is needed.
    #[arg(long)]
    pub justification: String,
    /// Proceedings reference.
    #[arg(long)]
    pub proceedings: Option<String>,
    /// Date the consent is needed by (YYYY-MM-DD).
    #[arg(long)]
    pub needed_by: chrono::NaiveDate,
}

#[derive(Debug, clap::Args)]
pub struct ConsentDecideArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Consent id (CON-…).
    pub id: String,
    /// granted or refused.
    #[arg(long)]
    pub decision: String,
    /// Reasons (mandatory for a refusal).
    #[arg(long, default_value = "")]
    pub reasons: String,
    /// Expiry of a grant (YYYY-MM-DD).
    #[arg(long)]
    pub expires_on: Option<chrono::NaiveDate>,
}

#[derive(Debug, clap::Args)]
pub struct RequestAgreementArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// The second person (two-person rule).
    #[arg(long = "with")]
    pub second: String,
    /// New status: signed, in_force, suspended, terminated.
    #[arg(long)]
    pub status: String,
    /// Effective date (YYYY-MM-DD).
    #[arg(long)]
    pub effective: chrono::NaiveDate,
    /// The legal act cited (e.g. the diplomatic note).
    #[arg(long)]
    pub legal_act: String,
}

/// `caravan target …`.
#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// Train on the past, score the next period and print Precision, Recall and Revenue at
    /// each inspection rate, AUC, and the leak sentinels.
    Eval(TargetEvalArgs),
    /// Train a model on labelled history and write the model file.
    Train(TargetTrainArgs),
    /// Score declarations with a model file and print the ranked worklist.
    Score(TargetScoreArgs),
    /// Inspection outcomes in the node's store (the labels models learn from).
    #[command(subcommand)]
    Outcome(TargetOutcomeCommand),
    /// The node's model registry.
    #[command(subcommand)]
    Models(TargetModelsCommand),
    /// The node's rule files: load one (a refused file leaves the old one in force), list.
    #[command(subcommand)]
    Rules(TargetRulesCommand),
    /// Train a candidate on the stored declarations that have outcomes, evaluate it on a
    /// temporal hold-out against the active model, register it, and promote it when it is
    /// at least as good.
    Retrain {
        /// Register the candidate without promoting it.
        #[arg(long)]
        no_promote: bool,
    },
    /// The node's worklist: uninspected declarations ranked by the active model and the
    /// rules in force, with lanes, quotas and explanations.
    Worklist {
        /// Rows to print.
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Without a rule file: inspection budget in percent.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
    },
}

/// `caravan target outcome …`.
#[derive(Debug, Subcommand)]
pub enum TargetOutcomeCommand {
    /// Record what an inspection found.
    Record {
        /// LRN or MRN of the declaration.
        #[arg(long)]
        declaration: String,
        /// Declarant, when the reference is not unique.
        #[arg(long)]
        declarant: Option<String>,
        /// no_irregularity, irregularity or seizure.
        #[arg(long)]
        result: String,
        /// What was seized.
        #[arg(long)]
        seizure: Option<String>,
        /// Revenue recovered (e.g. 1250.50), with --currency.
        #[arg(long)]
        revenue: Option<String>,
        /// ISO 4217 currency of the revenue.
        #[arg(long)]
        currency: Option<String>,
        /// Inspecting officer's account (default: the OS user).
        #[arg(long)]
        inspector: Option<String>,
        /// Supersede the recorded outcome (the old one stays in the history).
        #[arg(long)]
        correct: bool,
        /// Why the correction.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Current outcomes, newest first.
    List {
        /// Rows.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `caravan target models …`.
#[derive(Debug, Subcommand)]
pub enum TargetModelsCommand {
    /// The registry, newest first.
    List,
    /// One model's training and evaluation.
    Show {
        /// Version.
        version: u32,
    },
    /// Make a model the active one (the previous is retired), in one transaction.
    Promote {
        /// Version.
        version: u32,
    },
}

/// `caravan target rules …`.
#[derive(Debug, Subcommand)]
pub enum TargetRulesCommand {
    /// Check a rule file and put it in force.
    Load {
        /// The rule file.
        file: PathBuf,
    },
    /// Registered rule files, newest first.
    List,
}

/// Input data shared by the targeting subcommands.
#[derive(Debug, Args)]
pub struct TargetDataArgs {
    /// Syntax of the input files: kcs (Korea Customs Service CSV) or caravan (Caravan CSV;
    /// labels from each declaration's recorded inspection outcome).
    #[arg(long, default_value = "kcs")]
    pub format: String,
    /// Administration whose declarations a Caravan CSV holds (ISO 3166-1 alpha-2), for
    /// validation.
    #[arg(long, default_value = "US")]
    pub country: String,
    /// Feature protocol: paper (raw prices, comparable with the KCS paper) or controlled
    /// (coarsened prices, no exact-price features).
    #[arg(long, default_value = "controlled")]
    pub protocol: String,
    /// Leave out risk-profile and unit-value features.
    #[arg(long)]
    pub no_profiles: bool,
    /// Number of trees.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    /// Leaves per tree.
    #[arg(long, default_value_t = 31)]
    pub leaves: usize,
}

/// `caravan target eval`.
#[derive(Debug, Args)]
pub struct TargetEvalArgs {
    /// Training file (the past).
    #[arg(long)]
    pub train: PathBuf,
    /// Test file (the next period). Without it, --cut splits --train by date.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Temporal split of --train: rows before this date train, the rest test (YYYY-MM-DD).
    #[arg(long)]
    pub cut: Option<String>,
    /// Inspection rates in percent.
    #[arg(long, value_delimiter = ',', default_value = "1,2,5,10")]
    pub rates: Vec<f64>,
    /// Also run the weekly simulation over train and test in which only selected rows
    /// receive labels, down to this inspection rate (percent).
    #[arg(long)]
    pub simulate: Option<f64>,
    /// Exploration share of each week's budget in the simulation.
    #[arg(long, default_value_t = 0.1)]
    pub exploration: f64,
    /// Write the training and test feature matrices (CSV) here, for peer models.
    #[arg(long)]
    pub features_out: Option<PathBuf>,
    /// Write the trained model file here.
    #[arg(long)]
    pub model_out: Option<PathBuf>,
    /// Data options.
    #[command(flatten)]
    pub data: TargetDataArgs,
}

/// `caravan target train`.
#[derive(Debug, Args)]
pub struct TargetTrainArgs {
    /// Labelled history.
    #[arg(long)]
    pub train: PathBuf,
    /// Model file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Data options.
    #[command(flatten)]
    pub data: TargetDataArgs,
}

/// `caravan target score`.
#[derive(Debug, Args)]
pub struct TargetScoreArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The history the model was trained on (profiles and encoders come from it).
    #[arg(long)]
    pub history: PathBuf,
    /// Declarations to score.
    #[arg(long)]
    pub input: PathBuf,
    /// Rows of the worklist to print.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Inspection budget in percent of the input.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Exploration share of the budget.
    #[arg(long, default_value_t = 0.1)]
    pub exploration: f64,
    /// Rule file (criteria, weights, lanes and quotas); the model's p(fraud) enters with the
    /// file's `model weight`.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Data options.
    #[command(flatten)]
    pub data: TargetDataArgs,
}

/// `caravan partner …`.
#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Register a partner from its signed key manifest (`caravan keys export` on its
    /// node), if the manifest's root key has the fingerprint read out at onboarding.
    Add {
        /// The partner's signed key manifest file.
        #[arg(long)]
        manifest: PathBuf,
        /// The root-key fingerprint confirmed out of band (hex; spaces allowed).
        #[arg(long)]
        fingerprint: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List the partners of this node's agreement.
    List,
    /// Show one partner: endpoint, status, assurance, every key with its fingerprint.
    Show {
        /// Party id.
        party: String,
    },
    /// Apply a newer manifest of a registered partner (rotation or revocation); it must
    /// be signed by the pinned root key.
    RotateKeys {
        /// Party id.
        party: String,
        /// The new signed key manifest file.
        #[arg(long)]
        manifest: PathBuf,
    },
    /// Set the assurance gate: good_standing, under_review or violated.
    SetAssurance {
        /// Party id.
        party: String,
        /// New state.
        state: String,
    },
    /// Suspend or reactivate a partner: active or suspended.
    SetStatus {
        /// Party id.
        party: String,
        /// New status.
        status: String,
    },
}

/// `caravan keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write the signed key manifest to a file and print the fingerprints to read out.
    Export {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Rotate the message-signing or encryption key: the new one is used from now plus
    /// the overlap.
    Rotate {
        /// signing or encryption.
        #[arg(long)]
        purpose: String,
        /// Hours before the new key takes over (spec: at least 168 for encryption).
        #[arg(long, default_value_t = 168)]
        overlap_hours: u64,
    },
    /// Revoke a key now, e.g. after a compromise.
    Revoke {
        /// signing or encryption.
        #[arg(long)]
        purpose: String,
        /// The key id (64 hex digits).
        #[arg(long)]
        kid: String,
    },
}

/// `caravan messages …`.
#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List sent and received messages, newest first.
    List {
        /// Only sent messages in this state: pending, delivered, dead_letter.
        #[arg(long)]
        state: Option<String>,
        /// Most rows per direction.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one sent message and its receipt, or one received message.
    Show {
        /// Message id.
        message_id: String,
    },
    /// Send a dead-lettered message again (the same sealed bytes).
    Retry {
        /// Message id.
        message_id: String,
    },
    /// Check a receipt offline with public keys only: the receiver's signing key, its
    /// log key and, optionally, witness keys.
    VerifyReceipt {
        /// The receipt file (COSE_Sign1).
        #[arg(long)]
        receipt: PathBuf,
        /// The receiver's message-signing public key (base64 or 64 hex digits).
        #[arg(long)]
        receiver_key: String,
        /// The receiver's log verifier key.
        #[arg(long)]
        log_key: String,
        /// Witness verifier keys whose cosignatures count.
        #[arg(long)]
        witness_key: Vec<String>,
        /// Cosignatures required.
        #[arg(long, default_value_t = 0)]
        min_witnesses: usize,
    },
}

/// `caravan log …`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print this node's log and witness verifier keys, to give to partners and auditors.
    Keys,
    /// Print a C2SP tlog-proof of one entry against the latest signed checkpoint.
    Proof {
        /// Index of the entry.
        #[arg(long)]
        index: u64,
    },
    /// Rebuild the whole tree from stored entries and report the first corruption.
    Fsck,
    /// List the alarms raised by this node, newest first: above all, a partner log that
    /// showed two different histories (a split view). Exits 1 while any alarm exists.
    Alarms,
    /// Check a tlog-proof offline, with only the log's and the witness's public keys,
    /// and say in plain words what it proves (exit 0) or why not (exit 1).
    Verify(VerifyArgs),
}

/// `caravan log verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The tlog-proof file.
    #[arg(long)]
    pub proof: PathBuf,
    /// The log's verifier key (its name is the log origin).
    #[arg(long)]
    pub log_key: String,
    /// A witness's verifier key; repeat for several witnesses.
    #[arg(long)]
    pub witness_key: Vec<String>,
    /// Cosignatures required from distinct witness keys.
    #[arg(long, default_value_t = 1)]
    pub min_witnesses: usize,
    /// The logged entry's bytes, to check that this very entry is included.
    #[arg(long, conflicts_with = "leaf_hash")]
    pub entry: Option<PathBuf>,
    /// The entry's RFC 6962 leaf hash in hex, when the entry itself is not at hand.
    #[arg(long)]
    pub leaf_hash: Option<String>,
}

/// `caravan demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the two nodes' data; its `us` and `uz` folders are replaced.
    #[arg(long, default_value = "caravan-demo")]
    pub dir: PathBuf,
    /// Seed of the synthetic corridor; the same seed gives the same declarations.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Number of shipments in the corridor.
    #[arg(long, default_value_t = 2000)]
    pub shipments: usize,
    /// Run the scenario, print the summary and exit (status 0 on success) instead of
    /// serving until interrupted.
    #[arg(long)]
    pub exit: bool,
    /// Listen address of the US CBP node (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8441")]
    pub us_listen: std::net::SocketAddr,
    /// Listen address of the Uzbek Customs node (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8442")]
    pub uz_listen: std::net::SocketAddr,
}

/// `caravan generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output directory; `us/`, `uz/` and `truth.csv` are written inside it.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Number of shipments.
    #[arg(long, default_value_t = 10_000)]
    pub shipments: usize,
    /// Syntaxes to write, comma-separated: csv, json, xml, edifact.
    #[arg(long, value_delimiter = ',', default_value = "csv,json,edifact")]
    pub formats: Vec<String>,
}

/// `caravan ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to ingest. The syntax is taken from the extension (.csv, .json/.jsonl, .xml,
    /// .edi) unless --format is given.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Syntax of every file: csv, json, xml or edifact.
    #[arg(long)]
    pub format: Option<String>,
    /// The files come from a partner administration or foreign documents: identifier
    /// defects the partner cannot fix become warnings instead of errors.
    #[arg(long)]
    pub partner: bool,
    /// Store the valid records and write rejected ones, each with its reasons, to this
    /// file (JSON Lines). Without it, one rejected record rejects the whole file.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `caravan mirror …`.
#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Link one node's export declarations to the partner's imports; write links.csv.
    Link(MirrorLinkArgs),
    /// Link both directions and write links, findings, mirror gaps by partner, chapter,
    /// HS6 and month, and the gap-versus-tariff view, to a directory.
    Report(MirrorReportArgs),
    /// Evaluate linkage and detection on the synthetic corridor's ground truth across
    /// seeds and difficulty levels (exit 1 when linkage precision or recall < 0.99).
    Eval(MirrorEvalArgs),
    /// Send a stored finding to the partner as spontaneous information
    /// (`Spontaneous.Inform`): the finding, both declarations' references and the
    /// discrepancies, queued in the node's outbox.
    Share(MirrorShareArgs),
}

/// `caravan mirror share`.
#[derive(Debug, Args)]
pub struct MirrorShareArgs {
    /// Id of the stored finding (from the API or the analyst's page).
    #[arg(long)]
    pub finding: i64,
    /// The officer who sends it (a desk officer or supervisor: spontaneous information is
    /// released like a request).
    #[command(flatten)]
    pub acting: ActingArgs,
    /// TLP marking of the information (CLEAR, GREEN, AMBER, AMBER+STRICT, RED).
    #[arg(long, default_value = "AMBER")]
    pub tlp: String,
    /// PAP marking (CLEAR, GREEN, AMBER, RED).
    #[arg(long, default_value = "AMBER")]
    pub pap: String,
    /// Uses the partner may make of it, comma-separated (INTEL, ADMIN, CIVIL, CRIMINAL).
    #[arg(long, default_value = "INTEL")]
    pub uses: String,
    /// Print the message body and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `caravan mirror link`.
#[derive(Debug, Args)]
pub struct MirrorLinkArgs {
    /// Export declarations: a file (csv, json, xml, edi), a store URL (sqlite://…), or
    /// `node`: the node's own stored exports (local filings). With `node` on either
    /// side the run is also stored in the node, for the API and the analyst's page.
    #[arg(long)]
    pub exports: String,
    /// Import declarations of the partner: a file, a store URL, or `node`: the partner's
    /// imports the node received by bulk exchange (stored with partner provenance).
    #[arg(long)]
    pub imports: String,
    /// ISO country of the exporting administration.
    #[arg(long, default_value = "US")]
    pub exporter: String,
    /// ISO country of the importing administration.
    #[arg(long, default_value = "UZ")]
    pub importer: String,
    /// Exchange-rate table (CSV: date,currency,per_<base>).
    #[arg(long)]
    pub rates: Option<PathBuf>,
    /// Comparison currency when no rate table is given.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Judge unmatched legs at this date (default: the latest date in the data).
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Links file to write.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Also write the findings here.
    #[arg(long)]
    pub findings: Option<PathBuf>,
}

/// `caravan mirror report`.
#[derive(Debug, Args)]
pub struct MirrorReportArgs {
    /// First node's declarations: a file or a store URL.
    #[arg(long)]
    pub a: String,
    /// ISO country of the first node.
    #[arg(long, default_value = "US")]
    pub a_country: String,
    /// Second node's declarations: a file or a store URL.
    #[arg(long)]
    pub b: String,
    /// ISO country of the second node.
    #[arg(long, default_value = "UZ")]
    pub b_country: String,
    /// Exchange-rate table (CSV: date,currency,per_<base>).
    #[arg(long)]
    pub rates: Option<PathBuf>,
    /// Comparison currency when no rate table is given.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Judge unmatched legs at this date (default: the latest date in the data).
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Chapters with fewer valued links get no Fisman–Wei regression.
    #[arg(long, default_value_t = 200)]
    pub min_chapter_links: usize,
    /// File format of the tables: csv, or parquet (typed columns, nulls for unknowns,
    /// plus the discrepancies, data issues and unmatched legs as tables of their own).
    #[arg(long, default_value = "csv", value_parser = ["csv", "parquet"])]
    pub format: String,
    /// Output directory.
    #[arg(long, short = 'o', alias = "output")]
    pub out: PathBuf,
}

/// `caravan mirror eval`.
#[derive(Debug, Args)]
pub struct MirrorEvalArgs {
    /// Corridor seeds.
    #[arg(long, value_delimiter = ',', default_values_t = [1u64, 2, 3])]
    pub seeds: Vec<u64>,
    /// Shipments per corridor.
    #[arg(long, default_value_t = 3_000)]
    pub shipments: usize,
    /// Difficulty levels: clean, moderate, hard.
    #[arg(long, value_delimiter = ',', default_values_t = ["clean".to_owned(), "moderate".to_owned(), "hard".to_owned()])]
    pub difficulty: Vec<String>,
    /// Share of units (links and unmatched legs) alerted.
    #[arg(long, default_value_t = 0.05)]
    pub alert_rate: f64,
}

/// `caravan screen …`.
#[derive(Debug, Subcommand)]
pub enum ScreenCommand {
    /// Read list files, check them, and print each list's version, entry count and, with
    /// --previous, the delta (added, changed, removed entries).
    Lists(ScreenListsArgs),
    /// Screen one party name against lists and print the hits with their explanations.
    Party(ScreenPartyArgs),
    /// Screen every name of a CSV (column `query`) and write `query,entity_id,score` for
    /// each candidate at or above the review threshold.
    Batch(ScreenBatchArgs),
    /// Build the screening index of list files once and write it as a sealed index file,
    /// which `party` and `batch` then load with `--index` instead of re-reading the lists.
    Index(ScreenIndexArgs),
    /// Score name pairs: input columns `left,right`; output adds `score` in [0,1], one row
    /// per input row, in the same order.
    Pairs(ScreenPairsArgs),
    /// Print the evaluation of spec §10: P/R/F1 on labelled pairs (E1), recall at a fixed
    /// share of innocent names flagged on the UN list (E2), cross-script pairs (E3).
    Eval(ScreenEvalArgs),
    /// Entity resolution: cluster the parties of a CSV (`record_id,name`, optional
    /// `country,scheme,identifier,address`) and write `record_id,cluster_id`.
    Resolve(ScreenResolveArgs),
    /// Load a list file into the node's store as the list's new active version; the delta
    /// against the active version is stored and every known party re-screened against it.
    Load(ScreenLoadArgs),
    /// Screen the parties of the stored declarations (new and changed ones, or --all)
    /// against the active lists, storing the hits.
    Run(ScreenRunArgs),
    /// List stored hits, best score first.
    Hits(ScreenHitsArgs),
    /// Record a disposition of a hit: a true match or a false positive, with a reason.
    Decide(ScreenDecideArgs),
    /// Entity resolution over the stored declarations: add the parties declared since the
    /// last batch, keeping every earlier entity id (clusters merge, never split).
    ResolveStored(ScreenResolveStoredArgs),
    /// The entities resolution found: those with several records, or one by id.
    Clusters(ScreenClustersArgs),
}

/// `caravan screen load`.
#[derive(Debug, Args)]
pub struct ScreenLoadArgs {
    /// The list file (OFAC sdn.csv with alt.csv/add.csv beside it, UN .xml, FtM .json,
    /// lookout .csv).
    #[arg(long)]
    pub list: PathBuf,
    /// The format: ofac, un, ftm or lookout (default: from the file name).
    #[arg(long)]
    pub source: Option<String>,
}

/// `caravan screen run`.
#[derive(Debug, Args)]
pub struct ScreenRunArgs {
    /// Re-screen every party, not only new and changed ones.
    #[arg(long)]
    pub all: bool,
}

/// `caravan screen hits`.
#[derive(Debug, Args)]
pub struct ScreenHitsArgs {
    /// Only hits waiting for a disposition.
    #[arg(long)]
    pub open: bool,
    /// Print each hit's explanation (tokens, evidence for and against).
    #[arg(long)]
    pub explain: bool,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

/// `caravan screen decide`.
#[derive(Debug, Args)]
pub struct ScreenDecideArgs {
    /// The hit id (`caravan screen hits`).
    pub hit: i64,
    /// The party is the listed entry.
    #[arg(long)]
    pub true_match: bool,
    /// The party is not the listed entry; the hit stays suppressed until the party or the
    /// entry changes.
    #[arg(long)]
    pub false_positive: bool,
    /// Reason code: name_only_similarity, different_birth_date, different_country,
    /// different_identifier, known_party or other.
    #[arg(long)]
    pub reason: String,
    /// Free-text note (required with reason `other`).
    #[arg(long)]
    pub note: Option<String>,
    /// The deciding account (default: the local operator, `cli:<user>`).
    #[arg(long)]
    pub account: Option<String>,
}

/// `caravan screen resolve-stored`.
#[derive(Debug, Args)]
pub struct ScreenResolveStoredArgs {}

/// `caravan screen clusters`.
#[derive(Debug, Args)]
pub struct ScreenClustersArgs {
    /// One entity, e.g. E00000012.
    #[arg(long)]
    pub id: Option<String>,
    /// Show entities with at least this many records.
    #[arg(long, default_value_t = 2)]
    pub min_size: usize,
    /// At most this many entities.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// `caravan screen lists`.
#[derive(Debug, Args)]
pub struct ScreenListsArgs {
    /// List files: OFAC sdn.csv (with alt.csv, add.csv beside it or given), UN consolidated
    /// .xml, OpenSanctions .ftm.json/.jsonl, or Caravan lookout .csv.
    #[arg(long = "list", required = true, num_args = 1..)]
    pub lists: Vec<PathBuf>,
    /// Files of the previous versions, to print the delta against.
    #[arg(long, num_args = 1..)]
    pub previous: Vec<PathBuf>,
}

/// `caravan screen party`.
#[derive(Debug, Args)]
pub struct ScreenPartyArgs {
    /// List files (see `caravan screen lists`).
    #[arg(long = "list", required_unless_present = "index", conflicts_with = "index", num_args = 1..)]
    pub lists: Vec<PathBuf>,
    /// A sealed index file written by `caravan screen index`, instead of list files.
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// The party's name as declared.
    #[arg(long)]
    pub name: String,
    /// The party's country (ISO 3166-1 alpha-2).
    #[arg(long)]
    pub country: Option<String>,
    /// UN/EDIFACT 3035 role code (CZ, CN, N1, MF, CA, DT …).
    #[arg(long)]
    pub role: Option<String>,
    /// An identifier as SCHEME:VALUE (e.g. UZ_STIR:301234567); repeatable.
    #[arg(long = "id")]
    pub identifiers: Vec<String>,
    /// Report threshold (review band start).
    #[arg(long, default_value_t = 0.70)]
    pub threshold: f64,
}

/// `caravan screen index`.
#[derive(Debug, Args)]
pub struct ScreenIndexArgs {
    /// List files (see `caravan screen lists`).
    #[arg(long = "list", required = true, num_args = 1..)]
    pub lists: Vec<PathBuf>,
    /// The index file to write (replaced atomically).
    #[arg(long)]
    pub output: PathBuf,
}

/// `caravan screen batch`.
#[derive(Debug, Args)]
pub struct ScreenBatchArgs {
    /// List files (see `caravan screen lists`).
    #[arg(long = "list", required_unless_present = "index", conflicts_with = "index", num_args = 1..)]
    pub lists: Vec<PathBuf>,
    /// A sealed index file written by `caravan screen index`, instead of list files.
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// CSV with a `query` column.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV: `query,entity_id,score`.
    #[arg(long)]
    pub output: PathBuf,
    /// Review threshold.
    #[arg(long, default_value_t = 0.70)]
    pub threshold: f64,
}

/// `caravan screen pairs`.
#[derive(Debug, Args)]
pub struct ScreenPairsArgs {
    /// CSV with columns `left,right` (others are kept).
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV: the input columns plus `score`.
    #[arg(long)]
    pub output: PathBuf,
}

/// `caravan screen resolve`.
#[derive(Debug, Args)]
pub struct ScreenResolveArgs {
    /// CSV with columns `record_id,name` and optionally `country`, `scheme`, `identifier`,
    /// `address`.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV: `record_id,cluster_id`.
    #[arg(long)]
    pub output: PathBuf,
}

/// `caravan screen eval`.
#[derive(Debug, Args)]
pub struct ScreenEvalArgs {
    /// Labelled pairs (`name1,name2,is_match` or `left,right,is_match`; with `case_group`
    /// and `schema` the 70/30 split of spec §10.2 is reported).
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// UN consolidated XML for E2.
    #[arg(long)]
    pub un: Option<PathBuf>,
    /// Innocent names for E2.
    #[arg(long, default_value_t = 50_000)]
    pub negatives: usize,
    /// Seed of the E2 generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// `caravan account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account in one role and print its first token (shown once).
    Add(AccountAddArgs),
    /// List accounts.
    List,
    /// Disable an account: its tokens and sessions are refused from now on.
    Disable(AccountNameArgs),
    /// Enable a disabled account again.
    Enable(AccountNameArgs),
    /// Issue another token for an account (shown once).
    Token(AccountTokenArgs),
    /// Revoke a token.
    Revoke(AccountRevokeArgs),
    /// Set an account's password, read from standard input (never from the command line).
    Password(AccountPasswordArgs),
    /// Link an OpenID Connect subject to the account: signing in at that identity provider
    /// signs in as this account, in this account's role.
    LinkOidc(AccountLinkOidcArgs),
}

/// `caravan account link-oidc`.
#[derive(Debug, Args)]
pub struct AccountLinkOidcArgs {
    /// Login name.
    #[arg(long)]
    pub name: String,
    /// The provider's issuer identifier, exactly as `[oidc] issuer`.
    #[arg(long)]
    pub issuer: String,
    /// The officer's `sub` at the provider.
    #[arg(long)]
    pub subject: String,
}

/// `caravan account password`.
#[derive(Debug, Args)]
pub struct AccountPasswordArgs {
    /// Login name.
    #[arg(long)]
    pub name: String,
    /// An administrator's initial password: the officer must change it at first sign-in.
    #[arg(long)]
    pub initial: bool,
    /// Also remove the account's TOTP second factor (it enrols again at next sign-in).
    #[arg(long)]
    pub reset_totp: bool,
}

/// `caravan account add`.
#[derive(Debug, Args)]
pub struct AccountAddArgs {
    /// Login name: letters, digits, '.', '_', '-', '@'.
    #[arg(long)]
    pub name: String,
    /// One of: desk_officer, analyst, supervisor, investigator, auditor_dpo, administrator.
    #[arg(long)]
    pub role: String,
    /// Full name shown in the UI and the audit trail (default: the login name).
    #[arg(long)]
    pub display_name: Option<String>,
}

/// An account name.
#[derive(Debug, Args)]
pub struct AccountNameArgs {
    /// Login name.
    #[arg(long)]
    pub name: String,
}

/// `caravan account token`.
#[derive(Debug, Args)]
pub struct AccountTokenArgs {
    /// Login name.
    #[arg(long)]
    pub name: String,
    /// Why it is issued (shown in the audit trail).
    #[arg(long, default_value = "cli")]
    pub label: String,
    /// Expire after this many days (default: until revoked).
    #[arg(long)]
    pub days: Option<u32>,
}

/// `caravan account revoke`.
#[derive(Debug, Args)]
pub struct AccountRevokeArgs {
    /// The token secret (`cvn_…`).
    #[arg(long)]
    pub token: String,
}

/// `caravan audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit rows, oldest first.
    List(AuditListArgs),
    /// Verify the whole chain from the first row.
    Verify,
}

/// `caravan audit list`.
#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only actions starting with this prefix (e.g. `screen.`).
    #[arg(long)]
    pub action: Option<String>,
    /// Only rows about this object.
    #[arg(long)]
    pub object: Option<String>,
    /// Only rows after this sequence number.
    #[arg(long)]
    pub after: Option<i64>,
    /// At most this many rows.
    #[arg(long, default_value_t = 200)]
    pub limit: u32,
}

/// `caravan hitnohit …`.
#[derive(Debug, Subcommand)]
pub enum HitnohitCommand {
    /// Ask the partner whether it holds a record (the answer arrives through `caravan serve`).
    Ask(HitnohitAskArgs),
    /// Queries asked (`out`) and answered (`in`), newest first; never the identifier.
    List(HitnohitListArgs),
}

#[derive(Debug, Args)]
pub struct HitnohitAskArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Query type: company, conveyance, declaration or document_number.
    #[arg(long = "type")]
    pub query_type: String,
    /// The identifier (container number, company id, reference, document number).
    #[arg(long)]
    pub id: String,
    /// Purpose (INTEL, ADMIN, CIVIL, CRIMINAL); mandatory, refused without.
    #[arg(long)]
    pub purpose: Option<String>,
    /// The requesting case's reference.
    #[arg(long)]
    pub case_ref: String,
}

#[derive(Debug, Args)]
pub struct HitnohitListArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Only `in` or `out`.
    #[arg(long)]
    pub direction: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// `caravan bulk …`.
#[derive(Debug, Subcommand)]
pub enum BulkCommand {
    /// Cut and queue the batch of a dataset this node provides for a closed period.
    Send(BulkSendArgs),
    /// Batches sent and received, newest first.
    List(BulkListArgs),
}

#[derive(Debug, Args)]
pub struct BulkSendArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Dataset profile id from the agreement's annex, e.g. `us-exports-v1`.
    #[arg(long)]
    pub dataset: String,
    /// First day of the period (YYYY-MM-DD).
    #[arg(long)]
    pub from: chrono::NaiveDate,
    /// Last day of the period (YYYY-MM-DD), before today.
    #[arg(long)]
    pub to: chrono::NaiveDate,
}

#[derive(Debug, Args)]
pub struct BulkListArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// `caravan feedback …`.
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Report the outcome of one of our requests to the provider, from a JSON file
    /// (`seizures`, `revenue`, `cases_opened`, `convictions`).
    Report(FeedbackReportArgs),
    /// Outcome reports sent and received.
    List(FeedbackListArgs),
}

#[derive(Debug, Args)]
pub struct FeedbackReportArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// The request (case id).
    #[arg(long)]
    pub request: String,
    /// The outcome report (JSON).
    #[arg(long)]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct FeedbackListArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// Only this request.
    #[arg(long)]
    pub request: Option<String>,
}

/// `caravan marking …`.
#[derive(Debug, Subcommand)]
pub enum MarkingCommand {
    /// Replace an item's (or a field's) markings and send the `Marking.Change` to the
    /// partner. Loosening is the provider's only (a supervisor).
    Change(MarkingChangeArgs),
}

#[derive(Debug, Args)]
pub struct MarkingChangeArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// The item (evidence id or spontaneous item id).
    pub item: String,
    /// A field selector; the whole item when absent.
    #[arg(long)]
    pub field: Option<String>,
    /// TLP 2.0 (CLEAR, GREEN, AMBER, AMBER+STRICT, RED).
    #[arg(long)]
    pub tlp: String,
    /// PAP (CLEAR, GREEN, AMBER, RED).
    #[arg(long)]
    pub pap: String,
    /// Caveat codes, comma-separated (the full set after the change).
    #[arg(long, default_value = "")]
    pub caveats: String,
    /// Why (recorded, audited and sent).
    #[arg(long)]
    pub reason: String,
}

/// `caravan directory …`.
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Both sections (ours and the partner's) with their versions, and the updates exchanged.
    Show(DirectoryShowArgs),
    /// Replace our section with the contact points of a JSON file and send it to the partner
    /// as the next version (two-person rule: --as and --with, administrator + supervisor).
    Update(DirectoryUpdateArgs),
}

#[derive(Debug, Args)]
pub struct DirectoryShowArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DirectoryUpdateArgs {
    #[command(flatten)]
    pub acting: ActingArgs,
    /// The second person (two-person rule).
    #[arg(long = "with")]
    pub second: String,
    /// JSON array of contact points (or an object with `entries`): our whole section.
    #[arg(long)]
    pub file: PathBuf,
    /// Why (recorded and audited).
    #[arg(long)]
    pub reason: String,
}
