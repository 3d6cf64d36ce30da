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
