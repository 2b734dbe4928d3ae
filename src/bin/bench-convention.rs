//! Convention rendering benchmark: `make bench-convention` (release build).
//!
//! Renders the sample convention with 10, 30 and 200 schools as the stack does (PDF/A-2b,
//! PDF/UA-1, signature field, digest of the signed range, signature put in place), prints
//! p50/p95 and sizes, and writes the filled text and schools to `target/bench-convention/` so
//! that `scripts/bench_typesetters.py` typesets the same content with Typst (PDF/A-2b + UA-1)
//! and WeasyPrint in the same run. The seal's KMS round trip is not in these figures: it is a
//! network call, measured apart against moto. `--sample <dir>` writes the sample PDF only.

use conventions_ent::render::convention::{render, render_for_seal, sample};
use conventions_ent::render::pdf::signature::SealSlot;
use std::time::Instant;

/// The signature dictionary of the stack's seal, with the room `Seal::max_signature_len` gives for the local one-certificate chain.
fn slot() -> SealSlot {
    SealSlot {
        name: "Sceau de l’Académie de Rennes".into(),
        reason: "Convention scellée par l’académie".into(),
        location: "Académie de Rennes".into(),
        time: chrono::DateTime::parse_from_rfc3339("2026-11-28T21:14:05+01:00").unwrap(),
        max_len: 990,
    }
}

/// Render, digest, signature in place: everything generate-convention does but the KMS call
/// (a CMS of the local chain's size, 925 bytes, stands for its answer).
fn sealed(data: &conventions_ent::render::convention::ConventionData) -> Vec<u8> {
    let (unsealed, _) = render_for_seal(data, slot()).unwrap();
    let digest = unsealed.digest();
    let mut cms = vec![0x30; 925];
    cms[..32].copy_from_slice(&digest);
    unsealed.seal(&cms).unwrap()
}

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
        // Version 2: countersigned by the académie on acceptance.
        let mut countersigned = sample(12);
        countersigned.version = 2;
        countersigned.contresignature =
            Some(conventions_ent::render::convention::ContresignatureView {
                instructeur: "Sophie LEROY".into(),
                le: "2026-12-01T09:30:00.000Z".into(),
            });
        let (pdf, _) = render(&countersigned).unwrap();
        std::fs::write(dir.join("convention-contresignee-exemple.pdf"), pdf).unwrap();
        return;
    }
    let out = std::path::Path::new("target/bench-convention");
    std::fs::create_dir_all(out).unwrap();
    println!("| moteur | écoles | p50 (ms) | p95 (ms) | taille (Ko) |");
    println!("|---|---|---|---|---|");
    for n in [10usize, 30, 200] {
        let data = sample(n);
        // Warm-up (font metrics parsed once per process, as in a warm Lambda).
        let pdf = sealed(&data);
        let runs = if n <= 30 { 200 } else { 40 };
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(sealed(&data));
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
        // Characters never embedded before (a first convention, or new names): the faces are
        // subset and deflated again.
        let mut cold: Vec<f64> = (0..runs / 4)
            .map(|_| {
                conventions_ent::render::pdf::fonts::forget_prepared();
                let t = Instant::now();
                std::hint::black_box(sealed(&data));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        cold.sort_by(f64::total_cmp);
        println!(
            "| genpdf, polices à sous-ensembler | {n} | {:.2} | {:.2} | {:.1} |",
            percentile(&cold, 0.5),
            percentile(&cold, 0.95),
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
