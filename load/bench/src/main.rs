//! Warm handler times, in-process, every AWS call replaced by an in-memory port (same
//! conditional-write semantics as the DynamoDB adapter, items round-tripped through
//! serde_dynamo as the adapter does): what a warm Lambda instance spends in our code per event,
//! from the raw event (API Gateway v2 JSON, DynamoDB stream JSON) to the answer.
//!
//!   cargo run --release --bin bench-handlers -- [--n 500] [--json FILE]
//!
//! Prints p50 / p99 / max per route and per function, and writes them as JSON with --json.

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::ports::{CompanyRegistry, RegistryEntry, RegistryError};
use conventions_ent::config::{Academie, Config};
use conventions_ent::domain::deposit::Depot;
use conventions_ent::domain::dossier::{
    AccuseRecord, ConventionRecord, DossierRecord, Etape, Evenement, Message, Statut, WebhookTentative,
};
use conventions_ent::domain::draft::Draft;
use conventions_ent::domain::siret::Siret;
use conventions_ent::jobs::{acknowledge::acknowledge, generate::generate, stream::process};
use conventions_ent::ports::{
    DocumentStore, DossierStore, ListFilter, Mailer, OutgoingEmail, PutOutcome, StoreError,
};
use conventions_ent::reference::annuaire::import;
use conventions_ent::reference::Directory;
use conventions_ent::App;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
struct MemDossiers {
    items: Mutex<HashMap<String, serde_dynamo::Item>>,
    counter: AtomicU64,
}

impl MemDossiers {
    fn load(&self, id: &str) -> Option<DossierRecord> {
        let item = self.items.lock().unwrap().get(id).cloned()?;
        Some(serde_dynamo::from_item(item).expect("stored dossier reads back"))
    }
    fn store(&self, r: &DossierRecord) {
        let item: serde_dynamo::Item = serde_dynamo::to_item(r).expect("dossier serializes");
        self.items.lock().unwrap().insert(r.id.clone(), item);
    }
    /// Read, check, write under one lock: a conditional update.
    fn update(&self, id: &str, f: impl FnOnce(&mut DossierRecord) -> bool) -> Result<bool, StoreError> {
        let mut items = self.items.lock().unwrap();
        let Some(item) = items.get(id).cloned() else {
            return Ok(false);
        };
        let mut r: DossierRecord = serde_dynamo::from_item(item).expect("reads back");
        if !f(&mut r) {
            return Ok(false);
        }
        items.insert(id.to_string(), serde_dynamo::to_item(&r).expect("serializes"));
        Ok(true)
    }
}

fn conflict_unless(done: Result<bool, StoreError>) -> Result<(), StoreError> {
    match done? {
        true => Ok(()),
        false => Err(StoreError::Conflict),
    }
}

#[async_trait]
impl DossierStore for MemDossiers {
    async fn next_numero(&self) -> Result<u64, StoreError> {
        Ok(self.counter.fetch_add(1, Ordering::SeqCst) + 1)
    }
    async fn create(&self, record: &DossierRecord) -> Result<(), StoreError> {
        if self.items.lock().unwrap().contains_key(&record.id) {
            return Err(StoreError::Conflict);
        }
        self.store(record);
        Ok(())
    }
    async fn get(&self, id: &str) -> Result<Option<DossierRecord>, StoreError> {
        Ok(self.load(id))
    }
    async fn save_draft(&self, id: &str, draft: &Draft, now: &str) -> Result<(), StoreError> {
        conflict_unless(self.update(id, |r| {
            (r.statut == Statut::Brouillon).then(|| {
                r.brouillon = draft.clone();
                r.modifie_le = now.into();
            })
            .is_some()
        }))
    }
    async fn deposit(&self, id: &str, draft: &Draft, depot: &Depot, now: &str) -> Result<(), StoreError> {
        conflict_unless(self.update(id, |r| {
            (r.statut == Statut::Brouillon)
                .then(|| {
                    r.brouillon = draft.clone();
                    r.depot = Some(depot.clone());
                    r.statut = Statut::EnConstruction;
                    r.etape = Etape::Depose;
                    r.depose_le = Some(now.into());
                    r.modifie_le = now.into();
                })
                .is_some()
        }))
    }
    async fn record_convention(&self, id: &str, c: &ConventionRecord) -> Result<bool, StoreError> {
        self.update(id, |r| {
            (r.etape == Etape::Depose && r.convention.is_none())
                .then(|| {
                    r.convention = Some(c.clone());
                    r.code_verification = Some(c.code_verification.clone());
                    r.etape = Etape::ConventionEnregistree;
                })
                .is_some()
        })
    }
    async fn claim_acknowledgement(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        self.update(id, |r| {
            (r.etape == Etape::ConventionEnregistree
                && r.accuse.is_none()
                && r.accuse_bail.is_none_or(|b| b < now))
            .then(|| r.accuse_bail = Some(until))
            .is_some()
        })
    }
    async fn record_acknowledgement(&self, id: &str, a: &AccuseRecord) -> Result<(), StoreError> {
        self.update(id, |r| {
            r.accuse
                .is_none()
                .then(|| {
                    r.accuse = Some(a.clone());
                    r.etape = Etape::AccuseEnvoye;
                    r.accuse_bail = None;
                })
                .is_some()
        })
        .map(|_| ())
    }
    async fn release_acknowledgement(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |r| {
            r.accuse_bail = None;
            true
        })
        .map(|_| ())
    }
    async fn find_by_verification_code(&self, code: &str) -> Result<Option<DossierRecord>, StoreError> {
        let items = self.items.lock().unwrap();
        let found = items.values().find(|i| {
            matches!(i.get("code_verification"), Some(serde_dynamo::AttributeValue::S(c)) if c == code)
        });
        Ok(found.map(|i| serde_dynamo::from_item(i.clone()).expect("reads back")))
    }
    // The instructeur and webhook operations: not on the timed paths, kept simple but faithful.
    async fn transition(&self, id: &str, from: Statut, to: Statut, ev: &Evenement, expire_le: Option<i64>) -> Result<(), StoreError> {
        conflict_unless(self.update(id, |r| {
            (r.statut == from)
                .then(|| {
                    r.statut = to;
                    r.expire_le = expire_le;
                    r.historique.push(ev.clone());
                })
                .is_some()
        }))
    }
    async fn add_message(&self, id: &str, m: &Message, ev: &Evenement) -> Result<(), StoreError> {
        conflict_unless(self.update(id, |r| {
            r.messages.push(m.clone());
            r.historique.push(ev.clone());
            true
        }))
    }
    async fn request_webhook(&self, id: &str, ev: &Evenement) -> Result<(), StoreError> {
        conflict_unless(self.update(id, |r| {
            (r.statut == Statut::Accepte)
                .then(|| {
                    r.webhook_etat = Some("a_envoyer".into());
                    r.historique.push(ev.clone());
                })
                .is_some()
        }))
    }
    async fn record_webhook_attempt(&self, id: &str, a: &WebhookTentative, delivered: bool) -> Result<(), StoreError> {
        conflict_unless(self.update(id, |r| {
            r.webhook_tentatives.push(a.clone());
            if delivered {
                r.webhook_etat = Some("livre".into());
            }
            true
        }))
    }
    async fn delete_draft(&self, id: &str) -> Result<(), StoreError> {
        let mut items = self.items.lock().unwrap();
        match items.get(id).map(|i| matches!(i.get("statut"), Some(serde_dynamo::AttributeValue::S(s)) if s == "brouillon")) {
            Some(true) => {
                items.remove(id);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
    async fn list_deposited(
        &self,
        _filter: &ListFilter,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError> {
        Err(StoreError::Unavailable("pas de liste dans la mesure".into()))
    }
}

#[derive(Default)]
struct MemDocuments {
    objects: Mutex<HashMap<String, Vec<u8>>>,
}

#[async_trait]
impl DocumentStore for MemDocuments {
    async fn put_pdf_if_absent(&self, key: &str, bytes: Vec<u8>, _sha256: &str) -> Result<PutOutcome, StoreError> {
        self.objects.lock().unwrap().entry(key.to_string()).or_insert(bytes);
        Ok(PutOutcome::Created)
    }
    async fn presign_get(&self, key: &str, _filename: &str, ttl: u64) -> Result<String, StoreError> {
        Ok(format!("https://bucket.s3.example/{key}?X-Amz-Expires={ttl}"))
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        self.objects.lock().unwrap().insert(key.to_string(), bytes);
        Ok(())
    }
}

struct MemMailer(AtomicU64);

#[async_trait]
impl Mailer for MemMailer {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, StoreError> {
        Ok(format!("message-{}", self.0.fetch_add(1, Ordering::SeqCst)))
    }
}

/// The registry answers at once (its network time is an outside call, excluded like AWS's).
struct Registry;

#[async_trait]
impl CompanyRegistry for Registry {
    async fn lookup(&self, _s: &Siret) -> Result<Option<RegistryEntry>, RegistryError> {
        Ok(Some(RegistryEntry {
            nom: "COMMUNE DE BAULON".into(),
            adresse: Some("1 PLACE DE L'EGLISE 35580 BAULON".into()),
            collectivite_territoriale: true,
        }))
    }
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
            presign_ttl_seconds: 300,
            academie: Academie {
                nom: "Académie de Rennes".into(),
                dasen_nom: "Mme Claire DUPONT".into(),
                dasen_titre: "inspectrice d’académie – directrice académique des services de l’Éducation nationale d’Ille-et-Vilaine".into(),
                adresse: "1 quai Dujardin, 35000 Rennes".into(),
            },
            registry_base_url: "http://127.0.0.1:9".into(),
            webhook_url: None,
            webhook_secret: "secret-de-mesure".into(),
            dossier_retention_days: 0,
            dev_jwt_secret: None,
            sign_in: None,
            endpoint_url: None,
        },
        dossiers: Arc::new(MemDossiers::default()),
        documents: Arc::new(MemDocuments::default()),
        mailer: Arc::new(MemMailer(AtomicU64::new(0))),
        directory: Arc::new(directory),
        registry: Arc::new(Registry),
    }
}

/// An API Gateway HTTP API (v2) event, as events/submit-dossier/*.json.
fn api_event(method: &str, path: &str, query: &str, body: Option<&Value>, jeton: Option<&str>) -> String {
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
            A::M(m) => json!({"M": m.into_iter().map(|(k, v)| (k, av(v))).collect::<serde_json::Map<_, _>>()}),
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
        self.0.entry((function, route)).or_default().push(started.elapsed().as_secs_f64() * 1000.0);
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
    let opt = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let n: usize = opt("--n").map_or(500, |v| v.parse().expect("--n N"));
    let app = app();
    let mut t = Timings::default();
    let dossier = json!({
        "signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr"},
        "ecoles": [{"uai": "0350122T"}, {"uai": "0350165P"}],
        "referent": {"designe": true, "prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr"}
    });
    let lookups = [
        ("GET /api/ecoles/{uai}", "/api/ecoles/0350122T", ""),
        ("GET /api/communes?q=", "/api/communes", "q=saint"),
        ("GET /api/communes/{code}/ecoles", "/api/communes/35238/ecoles", ""),
        ("GET /api/collectivites/{siret}", "/api/collectivites/21350016800025", ""),
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
        let ev = api_event("POST", "/api/dossiers", "", Some(&json!({"collectivite": {"siret": "21350016800025"}})), None);
        let s = Instant::now();
        let (status, created) = http(&app, false, &ev).await;
        if timed {
            t.add("submit-dossier", "POST /api/dossiers", s);
        }
        assert_eq!(status, 201);
        let (id, jeton) = (created["id"].as_str().unwrap().to_string(), created["jeton"].as_str().unwrap().to_string());
        let steps: [(&'static str, &str, String, Option<Value>, u16); 3] = [
            ("PATCH /api/dossiers/{id}", "PATCH", format!("/api/dossiers/{id}"), Some(dossier.clone()), 200),
            ("POST /api/dossiers/{id}/depot", "POST", format!("/api/dossiers/{id}/depot"), Some(json!({"approbation": true})), 200),
            ("GET /api/dossiers/{id}", "GET", format!("/api/dossiers/{id}"), None, 200),
        ];
        for (route, method, path, body, want) in steps {
            let ev = api_event(method, &path, "", body.as_ref(), Some(&jeton));
            let s = Instant::now();
            let (status, b) = http(&app, false, &ev).await;
            if timed {
                t.add("submit-dossier", route, s);
            }
            assert_eq!(status, want, "{route}: {b}");
        }
        ids.push((id, jeton, timed));
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
        let resp = process(&event, Etape::ConventionEnregistree, |d| acknowledge(&app, d)).await;
        if *timed {
            t.add("send-acknowledgement", "flux : convention enregistrée", s);
        }
        assert!(resp.batch_item_failures.is_empty());
        let ev = api_event("GET", &format!("/api/dossiers/{id}/convention"), "", None, Some(jeton));
        let s = Instant::now();
        let (status, _) = http(&app, false, &ev).await;
        if *timed {
            t.add("submit-dossier", "GET /api/dossiers/{id}/convention", s);
        }
        assert_eq!(status, 302);
    }

    let mut per_function: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut out = json!({"n": n, "routes": {}, "functions": {}});
    println!("{:22} {:36} {:>6} {:>8} {:>8} {:>8}", "fonction", "route / événement", "n", "p50", "p99", "max");
    for ((f, route), v) in t.0.iter_mut() {
        per_function.entry(f).or_default().extend(v.iter());
        let (p50, p99, max) = (pct(v, 50.0), pct(v, 99.0), pct(v, 100.0));
        println!("{f:22} {route:36} {:6} {p50:6.3} ms {p99:6.3} ms {max:6.3} ms", v.len());
        out["routes"][format!("{f} {route}")] = json!({"n": v.len(), "p50": p50, "p99": p99, "max": max});
    }
    for (f, v) in per_function.iter_mut() {
        out["functions"][*f] = json!({"n": v.len(), "p50": pct(v, 50.0), "p99": pct(v, 99.0), "max": pct(v, 100.0)});
    }
    if let Some(path) = opt("--json") {
        std::fs::write(path, out.to_string()).expect("--json file written");
    }
}
