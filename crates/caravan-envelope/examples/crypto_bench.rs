//! The crypto-only ceiling of the exchange: how many Ed25519 signatures, HPKE contexts and
//! whole small-message seals/opens one core does, and how fast a large part streams
//! through `PartSealer` → `PartOpener`. The exchange's end-to-end rate is reported as a
//! fraction of these numbers, so they are measured here, on the same machine, in release.
//!
//! `cargo run --release -p caravan-envelope --example crypto_bench -- ops`
//! `/usr/bin/time -v target/release/examples/crypto_bench stream 1000000000`
//!
//! Each figure is the median of five rounds. `bench/envelope_peer.py` measures the Python
//! `cryptography`/`pyhpke` peer on the same operations.

use std::io::{Read, Write};
use std::time::Instant;

use caravan_envelope::{
    Compression, EncryptionSecretKey, Limits, MessageSigningKey, Part, Sealer, WireView, cose,
    hpke, open, seal,
};

#[path = "support/demo_header.rs"]
mod support;

use support::demo_header;

const ROUNDS: usize = 5;

/// Runs `op` `n` times per round and returns the median operations per second.
fn median_rate(n: usize, mut op: impl FnMut()) -> f64 {
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                op();
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[ROUNDS / 2]
}

fn ops() -> Result<(), Box<dyn std::error::Error>> {
    let signing = MessageSigningKey::from_bytes(&[1; 32]);
    let verifying = signing.verifying_key();
    let recipient = EncryptionSecretKey::from_bytes(&[4; 32]);
    let public = recipient.public_key();
    let message = vec![0x42u8; 1024];

    let signed = cose::sign(&message, cose::CONTENT_TYPE_MESSAGE, &signing);
    let sign1 = cose::Sign1::parse(&signed, cose::CONTENT_TYPE_MESSAGE)?;
    let sign = median_rate(2_000, || {
        std::hint::black_box(cose::sign(&message, cose::CONTENT_TYPE_MESSAGE, &signing));
    });
    let verify = median_rate(2_000, || {
        sign1.verify(&verifying).expect("verifies");
    });

    let info = b"caravan/v1 message benchmark";
    let hpke_seal = median_rate(2_000, || {
        let ephemeral = EncryptionSecretKey::generate().expect("randomness");
        let (enc, mut context) = hpke::setup_sender_with(&public, info, &ephemeral).expect("setup");
        std::hint::black_box((enc, context.seal(b"aad", &message).expect("seal")));
    });
    let ephemeral = EncryptionSecretKey::generate()?;
    let (enc, mut context) = hpke::setup_sender_with(&public, info, &ephemeral)?;
    let sealed_message = context.seal(b"aad", &message)?;
    let hpke_open = median_rate(2_000, || {
        let mut context = hpke::setup_recipient(&enc, &recipient, info).expect("setup");
        std::hint::black_box(context.open(b"aad", &sealed_message).expect("open"));
    });

    let header = demo_header(&recipient);
    let body = vec![0x7bu8; 1024];
    let part = Part {
        part_id: "body",
        media_type: "application/json",
        compression: Compression::None,
        body: &body,
    };
    let full_seal = median_rate(1_000, || {
        std::hint::black_box(seal(&header, &[part], &signing, &public).expect("seal"));
    });
    let sealed = seal(&header, &[part], &signing, &public)?;
    let senders = verifying;
    let full_open = median_rate(1_000, || {
        let view = WireView::decode(&sealed.wire, &Limits::default()).expect("decode");
        std::hint::black_box(open(&view, &recipient, &senders).expect("open"));
    });

    println!("operation,per_second");
    println!("ed25519_sign_1KiB_cose,{sign:.0}");
    println!("ed25519_verify_1KiB_cose,{verify:.0}");
    println!("hpke_setup_seal_1KiB,{hpke_seal:.0}");
    println!("hpke_setup_open_1KiB,{hpke_open:.0}");
    println!("envelope_seal_1KiB_message,{full_seal:.0}");
    println!("envelope_decode_open_1KiB_message,{full_open:.0}");
    println!("wire_bytes_1KiB_message,{}", sealed.wire.len());
    Ok(())
}

/// Deterministic plaintext, produced on demand so the part never exists in memory.
struct Generated {
    left: u64,
    state: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        for chunk in buf[..n].chunks_mut(8) {
            self.state = self
                .state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts what it is given and keeps none of it.
struct Sink(u64);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn stream(bytes: u64) -> Result<(), Box<dyn std::error::Error>> {
    let signing = MessageSigningKey::from_bytes(&[1; 32]);
    let recipient = EncryptionSecretKey::from_bytes(&[4; 32]);
    let header = demo_header(&recipient);
    // In production the receiver opens the wire object first and the uploaded segments
    // after. Here both ends run at once through a pipe, so the receiver gets its part key
    // from a probe message sealed with the same pinned ephemeral key: a part key depends
    // on the HPKE context, the header and the part id, not on the part's content.
    let ephemeral = EncryptionSecretKey::from_bytes(&[5; 32]);
    let mut probe = Sealer::with_ephemeral(&header, &recipient.public_key(), &ephemeral)?;
    probe.add_streamed(
        "evidence",
        "application/octet-stream",
        Compression::None,
        std::io::empty(),
        Sink(0),
    )?;
    let probe = probe.finish(&signing)?;
    let view = WireView::decode(&probe.wire, &Limits::default())?;
    let opened = open(&view, &recipient, &signing.verifying_key())?;
    let opener = opened.detached[0].opener();

    // Seal only, into a sink.
    let start = Instant::now();
    let seal_generated = move |writer: Box<dyn Write + Send>| {
        let mut sealer = Sealer::with_ephemeral(&header, &recipient.public_key(), &ephemeral)?;
        sealer.add_streamed(
            "evidence",
            "application/octet-stream",
            Compression::None,
            Generated {
                left: bytes,
                state: 7,
            },
            writer,
        )
    };
    seal_generated(Box::new(Sink(0)))?;
    let seal_only = bytes as f64 / 1e6 / start.elapsed().as_secs_f64();

    // Seal on one thread, open on this one, through a pipe.
    let (pipe_reader, pipe_writer) = std::io::pipe()?;
    let start = Instant::now();
    let sealing = std::thread::spawn(move || seal_generated(Box::new(pipe_writer)));
    let opened = opener.open_stream(pipe_reader, Sink(0), None)?;
    let sealed = sealing.join().map_err(|_| "sealer thread panicked")??;
    let pipeline = bytes as f64 / 1e6 / start.elapsed().as_secs_f64();
    if opened != sealed {
        return Err("the opened part differs from the sealed one".into());
    }
    println!("operation,MB_per_second");
    println!("part_seal_only_{bytes}B,{seal_only:.0}");
    println!("part_seal_to_open_pipeline_{bytes}B,{pipeline:.0}");
    println!("segments,{}", sealed.segments);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "ops".into());
    match mode.as_str() {
        "ops" => ops(),
        "stream" => {
            let bytes = std::env::args()
                .nth(2)
                .map_or(Ok(1_000_000_000), |s| s.parse())?;
            stream(bytes)
        }
        other => Err(format!("unknown mode {other}; use ops or stream <bytes>").into()),
    }
}
