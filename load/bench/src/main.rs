//! Warm handler times, in-process, every AWS call replaced by the in-memory ports of
//! `conventions_ent::adapters::memory` (the domain's own conditions, items round-tripped through
//! serde_dynamo as the DynamoDB adapter does): what a warm Lambda instance spends in our code per event,
//! from the raw event (API Gateway v2 JSON, DynamoDB stream JSON) to the answer.
//!
//!   cargo run --release --bin bench-handlers -- [--n 500] [--json FILE]
//!
//! Prints p50 / p99 / max per route and per function, and writes them as JSON with --json.
//! `--scale` measures the instructeur's routes on a national-size table instead (`scale.rs`,
//! `make bench-scale`).

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::adapters::memory::{MemoryDocuments, MemoryDossiers, MemoryMailer};
use conventions_ent::config::{Academie, Config};
use conventions_ent::domain::dossier::{DossierRecord, Etape};
use conventions_ent::domain::ids::DossierId;
use conventions_ent::domain::siret::Siret;
use conventions_ent::jobs::{acknowledge::acknowledge, generate::generate, stream::process};
use conventions_ent::ports::{CompanyRegistry, RegistryEntry, RegistryError, SealKey};
use conventions_ent::reference::annuaire::import;
use conventions_ent::reference::Directory;
use conventions_ent::seal::certificate::{self_signed, SealSubject};
use conventions_ent::seal::{Seal, SealError};
use conventions_ent::App;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

mod scale;

#[global_allocator]
static ALLOCATOR: scale::Counting = scale::Counting;

/// The registry answers at once (its network time is an outside call, excluded like AWS's).
struct Registry;

#[async_trait]
impl CompanyRegistry for Registry {
    async fn lookup(&self, _s: &Siret) -> Result<Option<RegistryEntry>, RegistryError> {
        Ok(Some(RegistryEntry {
            nom: "COMMUNE DE BAULON".into(),
            adresse: Some("1 PLACE DE L'EGLISE 35580 BAULON".into()),
            collectivite_territoriale: true,
            nature_juridique: None,
            siege_code_insee: None,
        }))
    }
}

/// The seal's key for the benchmark: a P-256 key made and used by the `openssl` command (a
/// process per signature, a stand-in for KMS's network round trip: generate-convention's
/// figure includes it, the seal is real and verifies).
struct OpensslKey {
    dir: std::path::PathBuf,
}

impl OpensslKey {
    fn generate() -> OpensslKey {
        let dir = std::env::temp_dir().join(format!("bench-sceau-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = OpensslKey { dir };
        key.openssl(
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
            None,
        );
        key
    }

    fn openssl(&self, args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write;
        let mut child = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("openssl (the benchmark's seal key)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.unwrap_or_default())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

#[async_trait]
impl SealKey for OpensslKey {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(self.openssl(&["dgst", "-sha256", "-sign", "key.pem"], Some(message)))
    }

    async fn public_key(&self) -> Result<Vec<u8>, SealError> {
        Ok(self.openssl(
            &["ec", "-in", "key.pem", "-pubout", "-outform", "DER"],
            None,
        ))
    }
}

async fn bench_seal() -> Seal {
    let key = Arc::new(OpensslKey::generate());
    let subject = SealSubject::local("Académie de Rennes");
    let cert = self_signed(key.as_ref(), &subject, chrono::Utc::now())
        .await
        .unwrap();
    Seal::new(key, &cert.pem()).unwrap()
}

fn app() -> App {
    let csv = include_bytes!("../../../data/annuaire/fr-en-annuaire-education-035.csv");
    let directory = Directory::new(import(csv).expect("shipped extract").0);
    App {
        config: Config {
            table_name: "bench".into(),
            bucket_name: "bench".into(),
            public_base_url: "https://conventions.example".into(),
            sender_email: "ne-pas-repondre@ac-rennes.fr".into(),
            contact_email: "ent-ecole@ac-rennes.fr".into(),
            link_secret: "secret-de-mesure".into(),
            link_secret_precedent: None,
            origin_secret: None,
            presign_ttl_seconds: 300,
            export_fresh_seconds: 0,
            academie: Academie::parse_json(
                r#"{"nom": "Académie de Rennes", "departements": {"35": {
                    "dasen_nom": "Mme Claire DUPONT",
                    "dasen_titre": "inspectrice d’académie – directrice académique des services de l’Éducation nationale d’Ille-et-Vilaine",
                    "adresse": "1 quai Dujardin, 35000 Rennes",
                    "contact_email": "contact-ent@ac-rennes.fr"}}}"#,
                "bench",
            )
            .expect("valid"),
            registry_base_url: "http://127.0.0.1:9".into(),
            webhook_url: None,
            webhook_secret: "secret-de-mesure".into(),
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
        dossiers: Arc::new(MemoryDossiers::default()),
        counters: Arc::new(conventions_ent::adapters::memory::MemoryCounters::default()),
        exports: Arc::new(conventions_ent::adapters::memory::MemoryExports::default()),
        documents: Arc::new(MemoryDocuments::default()),
        mailer: Arc::new(MemoryMailer::default()),
        reference: Arc::new(conventions_ent::reference::live::LiveDirectory::new(
            directory,
            None,
            conventions_ent::reference::live::REFRESH_EVERY,
        )),
        registry: Arc::new(Registry),
        seal: None, // set by main: the seal is made asynchronously
    }
}

/// An API Gateway HTTP API (v2) event, as events/submit-dossier/*.json.
fn api_event(
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
    jeton: Option<&str>,
) -> String {
    let mut headers = json!({"host": "conventions.example", "user-agent": "Mozilla/5.0", "content-type": "application/json"});
    if let Some(j) = jeton {
        headers["authorization"] = json!(format!("Bearer {j}"));
    }
    let qsp: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers, "queryStringParameters": qsp,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "conventions.example",
            "domainPrefix": "conventions",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:20:00:00 +0000", "timeEpoch": 1795896000000u64
        },
        "body": body.map(Value::to_string), "isBase64Encoded": false
    })
    .to_string()
}

/// A DynamoDB stream event with one record: the dossier as its NewImage.
fn stream_event(r: &DossierRecord, seq: usize) -> String {
    let item: serde_dynamo::Item = serde_dynamo::to_item(r).expect("serializes");
    let image: HashMap<String, aws_sdk_dynamodb_free::Av> = aws_sdk_dynamodb_free::from(item);
    json!({"Records": [{
        "eventID": seq.to_string(), "eventName": "MODIFY", "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-3", "eventSourceARN": "arn:aws:dynamodb:eu-west-3:123456789012:table/bench/stream/x",
        "dynamodb": {"ApproximateCreationDateTime": 1795896000.0, "Keys": {"id": {"S": r.id}},
                     "NewImage": image, "SequenceNumber": seq.to_string(), "SizeBytes": 100,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]})
    .to_string()
}

/// DynamoDB JSON of an item (the wire format of stream records), without the SDK.
mod aws_sdk_dynamodb_free {
    use serde_json::{json, Value};
    use std::collections::HashMap;
    pub type Av = Value;
    pub fn from(item: serde_dynamo::Item) -> HashMap<String, Av> {
        let map: HashMap<String, serde_dynamo::AttributeValue> = item.into();
        map.into_iter().map(|(k, v)| (k, av(v))).collect()
    }
    fn av(v: serde_dynamo::AttributeValue) -> Value {
        use serde_dynamo::AttributeValue as A;
        match v {
            A::S(s) => json!({"S": s}),
            A::N(n) => json!({"N": n}),
            A::Bool(b) => json!({"BOOL": b}),
            A::Null(_) => json!({"NULL": true}),
            A::M(m) => {
                json!({"M": m.into_iter().map(|(k, v)| (k, av(v))).collect::<serde_json::Map<_, _>>()})
            }
            A::L(l) => json!({"L": l.into_iter().map(av).collect::<Vec<_>>()}),
            A::Ss(s) => json!({"SS": s}),
            A::Ns(s) => json!({"NS": s}),
            A::B(_) | A::Bs(_) => json!({"NULL": true}),
        }
    }
}

#[derive(Default)]
struct Timings(BTreeMap<(&'static str, &'static str), Vec<f64>>);

impl Timings {
    fn add(&mut self, function: &'static str, route: &'static str, started: Instant) {
        self.0
            .entry((function, route))
            .or_default()
            .push(started.elapsed().as_secs_f64() * 1000.0);
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let k = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[k]
}

async fn http(app: &App, lookup: bool, event: &str) -> (u16, Value) {
    let req = lambda_http::request::from_str(event).expect("valid v2 event");
    let resp = if lookup {
        conventions_ent::http::lookup::handle(app, req).await
    } else {
        conventions_ent::http::handle(app, req).await
    }
    .unwrap();
    let status = resp.status().as_u16();
    let body = match resp.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = opt("--n").map_or(500, |v| v.parse().expect("--n N"));
    let mut app = app();
    if args.iter().any(|a| a == "--scale") {
        return scale::run(&mut app).await;
    }
    app.seal = Some(Arc::new(bench_seal().await));
    // Kept to read the confirmation codes the signatories receive.
    let mailer = Arc::new(MemoryMailer::default());
    app.mailer = mailer.clone();
    let mut t = Timings::default();
    let dossier = json!({
        "signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr",
                       "habilitation": {"nature": "deliberation", "date": "2026-03-28", "reference": "2026-014"}},
        "ecoles": [{"uai": "0350122T"}, {"uai": "0350165P"}],
        "referent": {"designe": true, "prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr"}
    });
    let lookups = [
        ("GET /api/ecoles/{uai}", "/api/ecoles/0350122T", ""),
        ("GET /api/communes?q=", "/api/communes", "q=saint"),
        (
            "GET /api/communes/{code}/ecoles",
            "/api/communes/35238/ecoles",
            "",
        ),
        (
            "GET /api/collectivites/{siret}",
            "/api/collectivites/21350016800025",
            "",
        ),
    ];
    let mut ids = Vec::new();
    // 50 untimed rounds first: a warm instance.
    for round in 0..n + 50 {
        let timed = round >= 50;
        for (route, path, query) in lookups {
            let ev = api_event("GET", path, query, None, None);
            let s = Instant::now();
            let (status, _) = http(&app, true, &ev).await;
            if timed {
                t.add("school-lookup", route, s);
            }
            assert_eq!(status, 200, "{route}");
        }
        let ev = api_event(
            "POST",
            "/api/dossiers",
            "",
            Some(&json!({"collectivite": {"siret": "21350016800025"}})),
            None,
        );
        let s = Instant::now();
        let (status, created) = http(&app, false, &ev).await;
        if timed {
            t.add("submit-dossier", "POST /api/dossiers", s);
        }
        assert_eq!(status, 201);
        let (id, jeton) = (
            created["id"].as_str().unwrap().to_string(),
            created["jeton"].as_str().unwrap().to_string(),
        );
        // One address per dossier: the code quotas count per address and per day.
        let mut dossier = dossier.clone();
        dossier["signataire"]["email"] = json!(format!("mairie{round}@exemple.fr"));
        let steps: [(&'static str, &str, String, Option<Value>, u16); 5] = [
            (
                "PATCH /api/dossiers/{id}",
                "PATCH",
                format!("/api/dossiers/{id}"),
                Some(dossier.clone()),
                200,
            ),
            (
                "POST /api/dossiers/{id}/signataire/code",
                "POST",
                format!("/api/dossiers/{id}/signataire/code"),
                Some(json!({})),
                202,
            ),
            (
                "POST /api/dossiers/{id}/signataire/confirmation",
                "POST",
                format!("/api/dossiers/{id}/signataire/confirmation"),
                None,
                200,
            ),
            (
                "POST /api/dossiers/{id}/depot",
                "POST",
                format!("/api/dossiers/{id}/depot"),
                Some(json!({"approbation": true})),
                200,
            ),
            (
                "GET /api/dossiers/{id}",
                "GET",
                format!("/api/dossiers/{id}"),
                None,
                200,
            ),
        ];
        for (route, method, path, body, want) in steps {
            // The code, as the signatory reads it in the last email (its subject carries it).
            let body = body.or_else(|| {
                let sent = mailer.sent.lock().unwrap();
                let subject = &sent.last().expect("the code's email").subject;
                let code: String = subject
                    .chars()
                    .filter(char::is_ascii_digit)
                    .take(6)
                    .collect();
                Some(json!({ "code": code }))
            });
            let ev = api_event(method, &path, "", body.as_ref(), Some(&jeton));
            let s = Instant::now();
            let (status, b) = http(&app, false, &ev).await;
            if timed {
                t.add("submit-dossier", route, s);
            }
            assert_eq!(status, want, "{route}: {b}");
        }
        ids.push((DossierId::parse(&id).expect("a dossier id"), jeton, timed));
    }
    // Stream work, one record per invocation (the per-dossier cost).
    for (k, (id, jeton, timed)) in ids.iter().enumerate() {
        let r = app.dossiers.get(id).await.unwrap().unwrap();
        let ev = stream_event(&r, 2 * k);
        let s = Instant::now();
        let event: Event = serde_json::from_str(&ev).expect("stream event");
        let resp = process(&event, Etape::Depose, |d| generate(&app, d)).await;
        if *timed {
            t.add("generate-convention", "flux : dossier déposé", s);
        }
        assert!(resp.batch_item_failures.is_empty());
        let r = app.dossiers.get(id).await.unwrap().unwrap();
        assert!(r.convention.is_some());
        let ev = stream_event(&r, 2 * k + 1);
        let s = Instant::now();
        let event: Event = serde_json::from_str(&ev).expect("stream event");
        let resp = process(&event, Etape::ConventionEnregistree, |d| {
            acknowledge(&app, d)
        })
        .await;
        if *timed {
            t.add("send-acknowledgement", "flux : convention enregistrée", s);
        }
        assert!(resp.batch_item_failures.is_empty());
        let ev = api_event(
            "GET",
            &format!("/api/dossiers/{id}/convention"),
            "",
            None,
            Some(jeton),
        );
        let s = Instant::now();
        let (status, _) = http(&app, false, &ev).await;
        if *timed {
            t.add("submit-dossier", "GET /api/dossiers/{id}/convention", s);
        }
        assert_eq!(status, 302);
    }

    let mut per_function: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut out = json!({"n": n, "routes": {}, "functions": {}});
    println!(
        "{:22} {:36} {:>6} {:>8} {:>8} {:>8}",
        "fonction", "route / événement", "n", "p50", "p99", "max"
    );
    for ((f, route), v) in t.0.iter_mut() {
        per_function.entry(f).or_default().extend(v.iter());
        let (p50, p99, max) = (pct(v, 50.0), pct(v, 99.0), pct(v, 100.0));
        println!(
            "{f:22} {route:36} {:6} {p50:6.3} ms {p99:6.3} ms {max:6.3} ms",
            v.len()
        );
        out["routes"][format!("{f} {route}")] =
            json!({"n": v.len(), "p50": p50, "p99": p99, "max": max});
    }
    for (f, v) in per_function.iter_mut() {
        out["functions"][*f] =
            json!({"n": v.len(), "p50": pct(v, 50.0), "p99": pct(v, 99.0), "max": pct(v, 100.0)});
    }
    if let Some(path) = opt("--json") {
        std::fs::write(path, out.to_string()).expect("--json file written");
    }
}
