//! Generation speed: `cargo run --release -p caravan-corridor --example speed`.

use std::time::Instant;

use caravan_corridor::{CorridorConfig, stream};

fn main() {
    let config = CorridorConfig::with(1, 20_000);
    let start = Instant::now();
    let (mut drafts, mut items) = (0usize, 0usize);
    for (_, d) in stream(&config) {
        drafts += 1;
        items += d.items.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{drafts} drafts, {items} goods items in {secs:.2}s: {:.0} drafts/s, {:.0} items/s",
        drafts as f64 / secs,
        items as f64 / secs
    );
}
