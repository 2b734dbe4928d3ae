//! Stable-toolchain driver of the fuzz targets (libFuzzer needs nightly). For each target: the
//! seed corpus (`fuzz/corpus/<target>/`, shared with cargo-fuzz), then mutated inputs until its
//! time is spent — bit flips, random and "interesting" bytes, dictionary tokens, deletions,
//! duplications, splices — with a crude feedback (inputs giving a new outcome of the property
//! join the corpus). A panic is a failure: the input is written to
//! `fuzz/artifacts/<target>/crash-<hash>` (replayable by `cargo fuzz run <target> <file>` and by
//! `--replay <file>`) and the driver exits 1.
//!
//!   cargo run --no-default-features --bin stable-fuzz -- [--seconds 60] [--target NAME]… [--seed N]
//!   cargo run --no-default-features --bin stable-fuzz -- --target dossier_json --replay <file>

use conventions_ent_fuzz::{known_bug, TARGETS};
use std::collections::{hash_map::DefaultHasher, HashSet};
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const DICTIONARY: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"false",
    b"-0",
    b"1e999",
    b"\\u0000",
    b"\\ud800",
    b"\\n",
    b"\r\n",
    b"\xff",
    b"\xc3\xa9",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xa8",
    b"\"collectivite\"",
    b"\"siret\"",
    b"\"signataire\"",
    b"\"prenom\"",
    b"\"nom\"",
    b"\"qualite\"",
    b"\"email\"",
    b"\"ecoles\"",
    b"\"uai\"",
    b"\"referent\"",
    b"\"designe\"",
    b"\"prenom_nom\"",
    b"\"approbation\"",
    b"21350016800025",
    b"35600000000048",
    b"0350122T",
    b"0350165P",
    b"0351383N",
    b"mairie@exemple.fr",
    b"<script>",
    b";",
    b"\n",
    b"Identifiant_de_l_etablissement",
    b"Nom_etablissement",
    b"Type_etablissement",
    b"Statut_public_prive",
    b"Code_commune",
    b"Nom_commune",
    b"Ecole",
    b"Public",
    b"A FERMER",
    b"35016",
    b"Baulon",
    b"saint",
    b"\t",
    b" ",
];

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'A', b'Z', b' ', b'"', b'\\', b'-',
];

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(6) {
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 => {
                let i = rng.below(v.len() + 1);
                let t = DICTIONARY[rng.below(DICTIONARY.len())];
                v.splice(i..i, t.iter().copied());
            }
            4 if !v.is_empty() => {
                let a = rng.below(v.len());
                let b = (a + 1 + rng.below(16)).min(v.len());
                v.drain(a..b);
            }
            5 if !v.is_empty() && v.len() < 1 << 16 => {
                let a = rng.below(v.len());
                let b = (a + 1 + rng.below(64)).min(v.len());
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len() + 1);
                let many = rng.below(8) == 0;
                let times = 1 + rng.below(if many { 200 } else { 3 });
                for _ in 0..times {
                    v.splice(at..at, chunk.iter().copied());
                }
            }
            6 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            7 if !v.is_empty() => {
                // replace an ASCII digit or letter by another of its class
                let i = rng.below(v.len());
                v[i] = match v[i] {
                    b'0'..=b'9' => b'0' + rng.below(10) as u8,
                    b'A'..=b'Z' => b'A' + rng.below(26) as u8,
                    b'a'..=b'z' => b'a' + rng.below(26) as u8,
                    c => c,
                };
            }
            _ => {
                let n = rng.below(8);
                for _ in 0..n {
                    v.push(rng.next() as u8);
                }
            }
        }
    }
    v.truncate(1 << 17);
    v
}

fn load_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

fn hash(data: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// Runs one input; Err(message) on a panic.
fn run(f: fn(&[u8]) -> u64, data: &[u8]) -> Result<u64, String> {
    catch_unwind(AssertUnwindSafe(|| f(data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: f64 = opt("--seconds").map_or(60.0, |s| s.parse().expect("--seconds N"));
    let seed: u64 = opt("--seed").map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |s| s.parse().expect("--seed N"),
    );
    let wanted: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && args[i - 1] == "--target")
        .map(|(_, a)| a.as_str())
        .collect();
    let targets: Vec<_> = TARGETS
        .iter()
        .filter(|(n, _)| wanted.is_empty() || wanted.contains(n))
        .collect();
    assert!(
        !targets.is_empty(),
        "unknown target; targets: {:?}",
        TARGETS.map(|t| t.0)
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Panics are expected to be caught and reported here, not printed by the default hook.
    std::panic::set_hook(Box::new(|_| {}));

    if let Some(file) = opt("--replay") {
        let data = std::fs::read(&file).expect("replay file");
        for (name, f) in &targets {
            match run(*f, &data) {
                Ok(o) => println!("{name}: {file}: ok (issue {o})"),
                Err(m) => {
                    println!("{name}: {file}: PANIC {m}");
                    std::process::exit(1);
                }
            }
        }
        return;
    }

    println!(
        "stable-fuzz : graine {seed}, {seconds} s répartis sur {} cibles",
        targets.len()
    );
    let per_target = Duration::from_secs_f64(seconds / targets.len() as f64);
    let mut failed = false;
    for (name, f) in &targets {
        let mut rng = Rng(seed ^ hash(name.as_bytes()) | 1);
        let mut corpus = load_corpus(&root.join("corpus").join(name));
        let seeds = corpus.len();
        if corpus.is_empty() {
            corpus.push(Vec::new());
        }
        let mut outcomes = HashSet::new();
        let started = Instant::now();
        let mut execs = 0u64;
        let mut crash: Option<(Vec<u8>, String)> = None;
        let mut known = 0u64;
        // A panic is a crash unless it is a known, reported bug (see `known_bug`).
        let mut judge = |input: &[u8], m: String| match known_bug(name, input) {
            Some(expected) if m.contains(expected) => {
                known += 1;
                None
            }
            _ => Some((input.to_vec(), m)),
        };
        for input in corpus.clone() {
            execs += 1;
            match run(*f, &input) {
                Ok(o) => {
                    outcomes.insert(o);
                }
                Err(m) => {
                    crash = judge(&input, m);
                    if crash.is_some() {
                        break;
                    }
                }
            }
        }
        while crash.is_none() && started.elapsed() < per_target {
            let base = corpus[rng.below(corpus.len())].clone();
            let input = if rng.below(50) == 0 {
                (0..rng.below(256)).map(|_| rng.next() as u8).collect()
            } else {
                mutate(&mut rng, &corpus, &base)
            };
            execs += 1;
            match run(*f, &input) {
                Ok(o) => {
                    if outcomes.insert(o) && corpus.len() < 10_000 {
                        corpus.push(input);
                    }
                }
                Err(m) => crash = judge(&input, m),
            }
        }
        let secs = started.elapsed().as_secs_f64();
        match crash {
            None => println!(
                "  {name:13} {execs:9} exécutions en {secs:5.1} s ({:7.0}/s), {seeds} graines, {} issues distinctes, aucun plantage{}",
                execs as f64 / secs,
                outcomes.len(),
                if known > 0 {
                    format!(" nouveau ({known} entrées retrouvent le bogue connu, voir known_bug)")
                } else {
                    String::new()
                }
            ),
            Some((input, message)) => {
                failed = true;
                let dir = root.join("artifacts").join(name);
                std::fs::create_dir_all(&dir).expect("artifacts directory");
                let path = dir.join(format!("crash-{:016x}", hash(&input)));
                std::fs::write(&path, &input).expect("artifact written");
                println!("  {name:13} PLANTAGE après {execs} exécutions : {message}\n    entrée : {}", path.display());
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
