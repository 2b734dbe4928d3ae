//! Reference data benchmark on a national-scale GENERATED data set (not real data): 52,000
//! schools in 36,000 communes and 1,250 EPCI, names built from French toponymic pieces.
//! `make bench-reference` (release build) prints load time and memory of the binary snapshot
//! (and, for comparison, of the older JSON snapshots), commune search,
//! schools-of-a-commune, and each lookup route's handler, p50/p99.

use async_trait::async_trait;
use conventions_ent::domain::school::Ecole;
use conventions_ent::domain::school::SchoolDirectory;
use conventions_ent::domain::siret::Siret;
use conventions_ent::domain::uai::Uai;
use conventions_ent::ports::{CompanyRegistry, RegistryEntry, RegistryError};
use conventions_ent::reference::decoupage::{Collectivites, CommuneRef, EpciRef};
use conventions_ent::reference::Directory;
use std::time::Instant;

/// Deterministic pseudo-random numbers (xorshift), so every run benchmarks the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const PREFIXES: &[&str] = &[
    "Saint-", "Sainte-", "La ", "Le ", "Les ", "", "", "", "", "", "", "",
];
const ROOTS: &[&str] = &[
    "Mont", "Val", "Bois", "Roche", "Fontaine", "Ville", "Court", "Champ", "Pré", "Château",
    "Mesnil", "Bourg", "Lande", "Plou", "Tré", "Ker", "Lan", "Guer", "Vern", "Beau", "Bel", "Aub",
    "Ligné", "Mar", "Pont", "Chapelle", "Neuv",
];
const SUFFIXES: &[&str] = &[
    "-sur-Mer",
    "-en-Brie",
    "-le-Grand",
    "ignac",
    "ville",
    "court",
    "y",
    "ac",
    "é",
    "on",
    "ières",
    "",
    "",
    "",
];

fn generate(n_communes: usize, n_schools: usize) -> (Vec<Ecole>, Collectivites) {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut communes = Vec::with_capacity(n_communes);
    for i in 0..n_communes {
        let dep = 1 + (i % 95);
        let code = format!("{dep:02}{:03}", i / 95 + 1);
        let nom = format!(
            "{}{}{}{}",
            rng.pick(PREFIXES),
            rng.pick(ROOTS),
            rng.pick(&ROOTS[..10]).to_lowercase(),
            rng.pick(SUFFIXES)
        );
        communes.push(CommuneRef {
            siren: format!("21{:07}", i),
            codes_postaux: vec![format!("{dep:02}{:03}", (rng.next() % 999) as u32)],
            departement: format!("{dep:02}"),
            code_insee: code,
            nom,
        });
    }
    let mut ecoles = Vec::with_capacity(n_schools);
    for i in 0..n_schools {
        // Skewed: big towns have many schools.
        let c = &communes[if i % 3 == 0 {
            (rng.next() % 300) as usize
        } else {
            (rng.next() % n_communes as u64) as usize
        }];
        let n = 400_000 + i as u32;
        ecoles.push(Ecole {
            uai: format!(
                "{n:07}{}",
                char::from(b"ABCDEFGHJKLMNPRSTUVWXYZ"[(n % 23) as usize])
            ),
            nom: format!(
                "Ecole {} {}",
                if i % 2 == 0 {
                    "primaire publique"
                } else {
                    "maternelle"
                },
                rng.pick(ROOTS)
            ),
            nature: "ECOLE DE NIVEAU ELEMENTAIRE".into(),
            statut: "Public".into(),
            code_insee: c.code_insee.clone(),
            commune: c.nom.clone(),
            code_postal: c.codes_postaux[0].clone(),
            siren_siret: Some(format!("{}00017", c.siren)),
            ouverte: true,
        });
    }
    let epcis = (0..1250)
        .map(|e| EpciRef {
            siren: format!("2{:08}", 40_000_000 + e),
            nom: format!("CC du pays {e}"),
            nature: "CC".into(),
            membres: communes
                .iter()
                .skip(e)
                .step_by(1250)
                .map(|c| c.code_insee.clone())
                .collect(),
        })
        .collect();
    (ecoles, Collectivites { communes, epcis })
}

/// Child process: loads the snapshot in `path`, prints the load time (ms) and the resident
/// memory it added (MB).
fn load_in_fresh_process(path: &str) {
    let bytes = std::fs::read(path).unwrap();
    let before = rss_kb();
    let t = Instant::now();
    let dir = Directory::from_snapshot(&bytes).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let after = rss_kb();
    // Worst case over an instance's life: every school returned once (made as an `Ecole`).
    let uais: Vec<Uai> = dir.uais().map(|u| Uai::parse(u).unwrap()).collect();
    let made = uais.iter().filter(|u| dir.ecole(u).is_some()).count();
    assert_eq!(made, dir.len());
    drop(uais);
    println!(
        "{ms} {} {}",
        after.saturating_sub(before) as f64 / 1024.0,
        rss_kb().saturating_sub(before) as f64 / 1024.0
    );
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

struct InstantRegistry;
#[async_trait]
impl CompanyRegistry for InstantRegistry {
    async fn lookup(&self, _: &Siret) -> Result<Option<RegistryEntry>, RegistryError> {
        Ok(None)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice() {
        if flag == "--charger" {
            return load_in_fresh_process(path);
        }
    }
    let (ecoles, collectivites) = generate(36_000, 52_000);
    let queries: Vec<String> = collectivites
        .communes
        .iter()
        .step_by(37)
        .flat_map(|c| {
            let n: String = c.nom.chars().take(4).collect();
            let n2: String = c.nom.to_lowercase().chars().take(7).collect();
            [
                n,
                n2,
                c.codes_postaux[0][..3].to_string(),
                c.nom.replace("Saint-", "st "),
            ]
        })
        .collect();
    let codes: Vec<String> = collectivites
        .communes
        .iter()
        .step_by(7)
        .map(|c| c.code_insee.clone())
        .collect();
    let t = Instant::now();
    let built = Directory::with_collectivites(ecoles.clone(), collectivites.clone());
    let build_ms = t.elapsed().as_secs_f64() * 1000.0;
    let snapshot = built.to_snapshot();
    let ecoles_json = serde_json::to_vec(&ecoles).unwrap();
    let coll_json = serde_json::to_vec(&collectivites).unwrap();
    drop((ecoles, collectivites, built));

    println!(
        "Données GÉNÉRÉES (pas réelles) : 52 000 écoles, 36 000 communes, 1 250 EPCI ; \
         instantané binaire {:.1} Mo (anciens instantanés JSON : {:.1} Mo + {:.1} Mo)",
        snapshot.len() as f64 / 1e6,
        ecoles_json.len() as f64 / 1e6,
        coll_json.len() as f64 / 1e6
    );
    println!("import (hors chargement) : tables et index construits en {build_ms:.1} ms");
    // A cold start is a fresh process: measured in five children, median.
    let file = std::env::temp_dir().join(format!("bench-reference-{}.bin", std::process::id()));
    std::fs::write(&file, &snapshot).unwrap();
    let mut runs: Vec<(f64, f64, f64)> = (0..5)
        .map(|_| {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .arg("--charger")
                .arg(&file)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            let mut v = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
            (v.next().unwrap(), v.next().unwrap(), v.next().unwrap())
        })
        .collect();
    std::fs::remove_file(&file).unwrap();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (load_ms, rss_mb, all_made_mb) = runs[2];
    let dir = Directory::from_snapshot(&snapshot).unwrap();
    drop(snapshot);
    println!(
        "chargement à froid (instantané binaire → index, processus neuf, médiane de 5) : \
         {load_ms:.1} ms ; mémoire résidente de l’index : {rss_mb:.1} Mo (tas : {:.1} Mo), \
         {all_made_mb:.1} Mo une fois toutes les écoles servies",
        dir.heap_bytes() as f64 / 1e6,
    );
    let t = Instant::now();
    let parsed: Vec<Ecole> = serde_json::from_slice(&ecoles_json).unwrap();
    let parsed_c: Collectivites = serde_json::from_slice(&coll_json).unwrap();
    let parse_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop((parsed, parsed_c));
    let t = Instant::now();
    let legacy = Directory::from_snapshots(&ecoles_json, Some(&coll_json)).unwrap();
    println!(
        "pour comparaison, anciens instantanés JSON → index : {:.1} ms (dont analyse JSON seule : {parse_ms:.1} ms)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    drop((legacy, ecoles_json, coll_json));

    let mut times = Vec::new();
    let mut found = 0usize;
    for _ in 0..5 {
        for q in &queries {
            let t = Instant::now();
            found += std::hint::black_box(dir.search_communes(q, 20)).len();
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let (p50, p99) = percentiles(times);
    println!("recherche de communes ({} requêtes, {found} résultats) : p50 {p50:.1} µs, p99 {p99:.1} µs (cible p99 ≤ 100 µs)", queries.len() * 5);

    let mut times = Vec::new();
    for _ in 0..5 {
        for c in &codes {
            let t = Instant::now();
            std::hint::black_box(dir.ecoles_of(c));
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let (p50, p99) = percentiles(times);
    println!("écoles d’une commune : p50 {p50:.2} µs, p99 {p99:.2} µs (cible p99 ≤ 20 µs)");

    // Handlers, in-process, with an instant registry (network excluded).
    let app = bench_app(dir).await;
    let routes: Vec<String> = vec![
        "/api/communes?q=sain".into(),
        "/api/communes?q=plouv".into(),
        format!("/api/communes/{}/ecoles", codes[0]),
        "/api/ecoles/0400000K".into(),
        "/api/collectivites/21000000500017".into(),
    ];
    println!("| route | p50 (µs) | p99 (µs) |\n|---|---|---|");
    for r in routes {
        let mut times = Vec::new();
        for _ in 0..500 {
            let req = lambda_http::request::from_str(&event(&r)).unwrap();
            let t = Instant::now();
            let resp = conventions_ent::http::lookup::handle(&app, req)
                .await
                .unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e6);
            assert!(resp.status().as_u16() < 500);
        }
        let (p50, p99) = percentiles(times);
        println!("| GET {r} | {p50:.0} | {p99:.0} |");
    }
}

fn event(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let qsp: serde_json::Map<String, serde_json::Value> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "bench"}, "queryStringParameters": qsp,
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "accountId": "1", "apiId": "b", "domainName": "bench", "domainPrefix": "b", "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false
    })
    .to_string()
}

/// An App whose AWS clients are never called by the lookup routes.
async fn bench_app(dir: Directory) -> conventions_ent::App {
    use conventions_ent::adapters::{dynamo::DynamoDossiers, s3::S3Documents, ses::SesMailer};
    use std::sync::Arc;
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    conventions_ent::App {
        config: conventions_ent::config::Config {
            table_name: "bench".into(),
            bucket_name: "bench".into(),
            public_base_url: "http://bench".into(),
            sender_email: "a@b.fr".into(),
            contact_email: "a@b.fr".into(),
            link_secret: "bench".into(),
            link_secret_precedent: None,
            origin_secret: None,
            presign_ttl_seconds: 60,
            export_fresh_seconds: 0,
            academie: conventions_ent::academie::Academie::parse_json(
                r#"{"nom": "A", "departements": {"35": {"dasen_nom": "B", "dasen_titre": "C",
                    "adresse": "D", "contact_email": "a@b.fr"}}}"#,
                "bench",
            )
            .expect("valid"),
            registry_base_url: "http://bench".into(),
            webhook_url: None,
            webhook_secret: String::new(),
            webhook_secret_precedent: None,
            editor_answer_secret: None,
            editor_answer_secret_precedent: None,
            editor_answer_configured: false,
            editeurs: Default::default(),
            dossier_retention_days: 0,
            digest_waiting_days: 0,
            dev_jwt_secret: None,
            sign_in: None,
            seal: None,
            endpoint_url: None,
        },
        dossiers: Arc::new(DynamoDossiers::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            "bench",
        )),
        counters: Arc::new(DynamoDossiers::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            "bench",
        )),
        exports: Arc::new(DynamoDossiers::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            "bench",
        )),
        documents: Arc::new(S3Documents::new(aws_sdk_s3::Client::new(&sdk), "bench")),
        mailer: Arc::new(SesMailer::new(aws_sdk_ses::Client::new(&sdk))),
        reference: Arc::new(conventions_ent::reference::live::LiveDirectory::new(
            dir,
            None,
            conventions_ent::reference::live::REFRESH_EVERY,
        )),
        registry: Arc::new(InstantRegistry),
        seal: None,
    }
}
