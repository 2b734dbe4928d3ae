//! Convention rendering benchmark: `make bench-convention` (release build).
//!
//! Renders the sample convention with 10 and 200 schools, prints p50/p95 and sizes, and writes
//! the filled text and schools to `target/bench-convention/` so that `scripts/bench_typesetters.py`
//! typesets the same content with Typst and WeasyPrint in the same run. `--sample <dir>` writes
//! the sample PDF only.

use conventions_ent::render::convention::{render, sample};
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--sample") {
        let dir = std::path::PathBuf::from(args.get(pos + 1).expect("--sample <dir>"));
        std::fs::create_dir_all(&dir).unwrap();
        let (pdf, _) = render(&sample(12)).unwrap();
        std::fs::write(dir.join("convention-exemple.pdf"), pdf).unwrap();
        return;
    }
    let out = std::path::Path::new("target/bench-convention");
    std::fs::create_dir_all(out).unwrap();
    println!("| moteur | écoles | p50 (ms) | p95 (ms) | taille (Ko) |");
    println!("|---|---|---|---|---|");
    for n in [10usize, 200] {
        let data = sample(n);
        // Warm-up (font metrics parsed once per process, as in a warm Lambda).
        let (pdf, _) = render(&data).unwrap();
        let runs = if n <= 10 { 200 } else { 40 };
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(render(&data).unwrap());
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "| genpdf (ce projet) | {n} | {:.2} | {:.2} | {:.1} |",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            pdf.len() as f64 / 1024.0
        );
        std::fs::write(out.join(format!("genpdf-{n}.pdf")), &pdf).unwrap();
        std::fs::write(
            out.join(format!("data-{n}.json")),
            serde_json::to_vec(&data).unwrap(),
        )
        .unwrap();
    }
}
