//! Evidence reply node to node (issue 5 §6 with issue 4 §7): one large evidence file
//! streamed into the UZ node's vault, replied to the US node as a detached part of the real
//! exchange (mutual TLS, segments uploaded, verified, receipted), streamed into the US
//! node's vault while hashed, then downloaded (read through and checked, custody recorded,
//! streamed again). Reports MB/s per stage and end to end, and the peak RSS before and
//! after, which must not grow with the file.
//!
//! Run: `cargo run --release -p caravan-testkit --example evidence_bench [-- MB]` (default
//! 512 MiB; `BENCH_DIR` puts the nodes' folders on another disk).

use std::io::Write;
use std::time::{Duration, Instant};

use caravan_assistance::agreement::Purpose;
use caravan_assistance::evidence::Form;
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::usecontrol::{Recipient, UseAction};
use caravan_assistance_node::at_rest::HashingWriter;
use caravan_assistance_node::service::{EvidenceUpload, UploadContent};
use caravan_assistance_node::story::{self, Officials};
use caravan_testkit::exchange::{now, pair, runtime};

/// Peak resident set of this process (`VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let mb: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("tempdir");
    let rt = runtime();
    rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        let (us, uz) =
            caravan_testkit::exchange::assistance_pair(dir.path(), &us_node, &uz_node, 31);
        let (a, b) = (us.clone(), uz.clone());
        tokio::task::spawn_blocking(move || {
            let settle = |at| {
                story::settle_over_exchange(
                    [&a, &b],
                    at,
                    Duration::from_millis(10),
                    4,
                    Duration::from_secs(3600),
                )
            };
            let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
            let t = now() as i64;
            let case_id =
                story::up_to_accepted(&a, &b, t, &mut |at| settle(at)).expect("up to accepted");
            let rss_before = peak_rss_mb();

            let started = Instant::now();
            let mut writer = b.upload_writer(t, u64::MAX).expect("writer");
            let chunk: Vec<u8> = (0..1u32 << 20)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            for _ in 0..mb {
                writer.write_all(&chunk).expect("write");
            }
            let stored = writer.finish().expect("finish");
            let sha = stored.sha256.clone();
            let uploaded = started.elapsed();
            let upload = EvidenceUpload {
                name: "scan.bin".into(),
                media_type: "application/octet-stream".into(),
                content: UploadContent::Stored(stored),
                form: Form::Copy,
                certification: None,
                markings: Markings::new(Tlp::Amber, Pap::Amber),
                permitted_uses: vec![Purpose::Admin],
            };
            let reply_at = Instant::now();
            b.reply(
                &uzx.desk,
                Some(&uzx.supervisor),
                &case_id,
                vec![upload],
                None,
                t,
            )
            .expect("reply");
            let handed = reply_at.elapsed();
            let arrived = || {
                a.store()
                    .case_evidence(&case_id)
                    .expect("evidence")
                    .into_iter()
                    .find(|r| r.sha256 == sha)
            };
            let row = loop {
                settle(t).expect("settle");
                if let Some(row) = arrived() {
                    break row;
                }
            };
            let delivered = reply_at.elapsed();
            let download_at = Instant::now();
            let (_, content) = a
                .use_evidence(
                    &usx.desk,
                    &row.evidence_id,
                    UseAction::View,
                    Purpose::Admin,
                    Recipient::SameAdmin,
                    t,
                )
                .expect("use");
            let checked = download_at.elapsed();
            let mut sink = HashingWriter::new(std::io::sink());
            content.copy_to(&mut sink).expect("download");
            let downloaded = download_at.elapsed();
            assert_eq!(sink.finish(), (sha, mb << 20));
            let size = mb as f64 * 1.048_576;
            let rate = |d: Duration| size / d.as_secs_f64();
            println!(
                "evidence of {mb} MiB: upload into the UZ vault {:.2} s ({:.0} MB/s); reply \
                 (sealed into the exchange spool from the vault) {:.2} s ({:.0} MB/s); reply to \
                 evidence row at US (upload, verify, receipt, stream into the US vault) {:.2} s \
                 = {:.0} MB/s end to end; download check + custody {:.2} s, stream {:.2} s \
                 ({:.0} MB/s for both reads); peak RSS {:.1} MB before, {:.1} MB after",
                uploaded.as_secs_f64(),
                rate(uploaded),
                handed.as_secs_f64(),
                rate(handed),
                delivered.as_secs_f64(),
                rate(delivered),
                checked.as_secs_f64(),
                (downloaded - checked).as_secs_f64(),
                rate(downloaded) * 2.0,
                rss_before,
                peak_rss_mb()
            );
        })
        .await
        .expect("bench thread");
        us_node.stop().await;
        uz_node.stop().await;
    });
}
