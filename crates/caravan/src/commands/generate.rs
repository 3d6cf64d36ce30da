//! `caravan generate`: the synthetic corridor written to files, one shipment at a time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use caravan_corridor::{CorridorConfig, TRUTH_CSV_HEADER, shipments, write_truth_row};
use caravan_domain::declaration::draft::DeclarationDraft;
use caravan_ingest::format::caravan_csv::CsvWriter;
use caravan_ingest::format::cusdec::{CusdecWriter, Envelope};
use caravan_ingest::format::{caravan_json, wco_xml};

use crate::cli::GenerateArgs;

pub(crate) fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let formats = Formats::parse(&args.formats)?;
    let config = CorridorConfig::with(args.seed, args.shipments);
    let summary = write_corridor(&args.out, &config, &formats)?;
    println!(
        "wrote {} shipments to {}: US node {} declarations ({} goods items), UZ node {} declarations ({} goods items), {} anomalies in truth.csv",
        args.shipments,
        args.out.display(),
        summary.us_declarations,
        summary.us_items,
        summary.uz_declarations,
        summary.uz_items,
        summary.anomalies
    );
    Ok(ExitCode::SUCCESS)
}

/// Which syntaxes to write.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Formats {
    pub(crate) csv: bool,
    pub(crate) json: bool,
    pub(crate) xml: bool,
    pub(crate) edifact: bool,
}

impl Formats {
    pub(crate) fn parse(names: &[String]) -> anyhow::Result<Formats> {
        let mut formats = Formats::default();
        for name in names {
            match name.trim() {
                "csv" => formats.csv = true,
                "json" => formats.json = true,
                "xml" => formats.xml = true,
                "edifact" | "cusdec" => formats.edifact = true,
                other => bail!("--formats takes csv, json, xml and edifact, not {other:?}"),
            }
        }
        Ok(formats)
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) us_declarations: u64,
    pub(crate) us_items: u64,
    pub(crate) uz_declarations: u64,
    pub(crate) uz_items: u64,
    pub(crate) anomalies: u64,
}

/// One node's output files.
struct SideWriters {
    csv: Option<CsvWriter<BufWriter<File>>>,
    json: Option<BufWriter<File>>,
    edifact: Option<CusdecWriter<BufWriter<File>>>,
    xml_dir: Option<PathBuf>,
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

impl SideWriters {
    fn open(
        dir: &Path,
        formats: &Formats,
        sender: &str,
        recipient: &str,
    ) -> anyhow::Result<SideWriters> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let csv = match formats.csv {
            true => Some(
                CsvWriter::new(create(&dir.join("declarations.csv"))?)
                    .context("write CSV header")?,
            ),
            false => None,
        };
        let json = match formats.json {
            true => Some(create(&dir.join("declarations.jsonl"))?),
            false => None,
        };
        let edifact = match formats.edifact {
            true => {
                let envelope = Envelope {
                    sender,
                    recipient,
                    control_ref: "1",
                    date: "20250101",
                    time: "0000",
                };
                Some(
                    CusdecWriter::begin(create(&dir.join("declarations.edi"))?, &envelope)
                        .context("write UNB")?,
                )
            }
            false => None,
        };
        let xml_dir = match formats.xml {
            true => {
                let xml_dir = dir.join("wco-xml");
                std::fs::create_dir_all(&xml_dir)
                    .with_context(|| format!("create {}", xml_dir.display()))?;
                Some(xml_dir)
            }
            false => None,
        };
        Ok(SideWriters {
            csv,
            json,
            edifact,
            xml_dir,
        })
    }

    fn write(&mut self, draft: &DeclarationDraft) -> anyhow::Result<()> {
        if let Some(csv) = &mut self.csv {
            csv.write(draft).context("write CSV")?;
        }
        if let Some(json) = &mut self.json {
            caravan_json::write_line(json, draft).context("write JSON")?;
        }
        if let Some(edifact) = &mut self.edifact {
            edifact.write_message(draft).context("write CUSDEC")?;
        }
        if let Some(dir) = &self.xml_dir {
            let name: String = draft
                .header
                .lrn
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(format!("{name}.xml"));
            // DEC-DMS cannot carry everything the node holds; `carried` says what is lost.
            wco_xml::write_document(create(&path)?, &wco_xml::carried(draft))
                .with_context(|| format!("write {}", path.display()))?;
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Some(csv) = self.csv {
            csv.finish()
                .context("flush CSV")?
                .flush()
                .context("flush CSV")?;
        }
        if let Some(mut json) = self.json {
            json.flush().context("flush JSON")?;
        }
        if let Some(edifact) = self.edifact {
            edifact
                .finish()
                .context("write UNZ")?
                .flush()
                .context("flush CUSDEC")?;
        }
        Ok(())
    }
}

/// Writes `out/us/…`, `out/uz/…` and `out/truth.csv`, streaming.
pub(crate) fn write_corridor(
    out: &Path,
    config: &CorridorConfig,
    formats: &Formats,
) -> anyhow::Result<Summary> {
    let mut us = SideWriters::open(&out.join("us"), formats, "US-CBP", "US-CBP")?;
    let mut uz = SideWriters::open(&out.join("uz"), formats, "UZ-DCS", "UZ-DCS")?;
    let mut truth = create(&out.join("truth.csv"))?;
    writeln!(truth, "{TRUTH_CSV_HEADER}").context("write truth.csv")?;
    let mut summary = Summary::default();
    for shipment in shipments(config) {
        for draft in &shipment.us {
            us.write(draft)?;
            summary.us_declarations += 1;
            summary.us_items += draft.items.len() as u64;
        }
        for draft in &shipment.uz {
            uz.write(draft)?;
            summary.uz_declarations += 1;
            summary.uz_items += draft.items.len() as u64;
        }
        summary.anomalies += u64::from(shipment.truth.anomaly.is_some());
        write_truth_row(&mut truth, &shipment.truth).context("write truth.csv")?;
    }
    us.finish()?;
    uz.finish()?;
    truth.flush().context("flush truth.csv")?;
    Ok(summary)
}
