//! Micro benchmark for `aggregate`: 100,000 item scores × 1,000 resamples.
//!
//! Run with `cargo run --release -p medbench-stats --example bench_aggregate`
//! (optional args: items, resamples). Prints the wall time of each phase.

use medbench_stats::{ItemScore, aggregate};
use std::time::Instant;

/// A deterministic synthetic run: 3 tracks, 13 dimensions, 104 tasks, 20
/// specialties on half of the items; mixed binary and fractional scores.
fn synthetic(n: usize) -> Vec<ItemScore> {
    let dims = [("llm", 5), ("multimodal", 3), ("agent", 5)];
    let mut layout = Vec::new();
    for (track, nd) in dims {
        for d in 0..nd {
            for t in 0..8 {
                layout.push((
                    track,
                    format!("{track}_dim{d}"),
                    format!("{track}_d{d}_t{t}"),
                ));
            }
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // xorshift64*: a cheap deterministic generator for test data only.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    (0..n)
        .map(|i| {
            let (track, dim, task) = &layout[i % layout.len()];
            let r = next();
            let value = if i % 3 == 0 {
                (r >> 11) as f64 / (1u64 << 53) as f64
            } else {
                (r % 100 < 70) as u8 as f64
            };
            let item = ItemScore::new(task, dim, track, &format!("q{i}"), value);
            if i % 2 == 0 {
                item.with_specialty(&format!("spec{}", (r >> 40) % 20))
            } else {
                item
            }
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().expect("items"));
    let resamples: usize = args.next().map_or(1_000, |a| a.parse().expect("resamples"));
    let items = synthetic(n);
    let start = Instant::now();
    let agg = aggregate(&items, 0, 1);
    let build = start.elapsed();
    let start = Instant::now();
    let agg2 = aggregate(&items, resamples, 1);
    let full = start.elapsed();
    assert_eq!(agg.overall.score, agg2.overall.score);
    println!(
        "aggregate: {n} items, {} tasks, {} specialties, {resamples} resamples: {:.3} s \
         (of which hierarchy build + point estimate {:.3} s); overall {:.2} [{:.2}, {:.2}]",
        agg2.tasks.len(),
        agg2.specialties.len(),
        full.as_secs_f64(),
        build.as_secs_f64(),
        agg2.overall.score,
        agg2.overall.ci_low,
        agg2.overall.ci_high,
    );
}
