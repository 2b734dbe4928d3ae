//! `make bench-scale` (`bench-handlers --scale`): the instructeur's routes on a national-size
//! table, in-process (handler time, warm), the store in memory (`adapters::memory`: records
//! round-tripped through serde_dynamo at each write). Seeds 20,000 deposited dossiers with
//! 45,000 schools (generated, spread over 13 départements and the statuts), one of them with 500
//! messages of 3,000 characters and 200 decisions through the store's own bounded writes; then
//! counts them as count-statistics would (one record each) and repairs the counters (nothing to
//! correct), then measures the list's first page and the statistics (p50/p99: the counters;
//! under a filter, the dossiers, printed without target), the export jobs writing every school
//! (export-schools' time, and the peak of memory allocated during it above what the seeded
//! store holds, counted by this binary's allocator) and the largest item (DynamoDB's count). Prints each figure with its
//! target.

use crate::{api_event, pct};
use conventions_ent::domain::deposit::{validate, SigningContext};
use conventions_ent::domain::dossier::{DossierRecord, Statut};
use conventions_ent::domain::draft::Draft;
use conventions_ent::domain::ids::DossierId;
use conventions_ent::domain::life::Actor;
use conventions_ent::domain::listing::Ligne;
use conventions_ent::domain::steps;
use conventions_ent::domain::statistics::{Contribution, Figures};
use conventions_ent::domain::time::Now;
use conventions_ent::jobs::count;
use conventions_ent::App;
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The system allocator, counting the bytes in use and their peak.
pub struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

const DOSSIERS: usize = 20_000;
const SCHOOLS: usize = 45_000;
const DEPARTEMENTS: [&str; 13] = [
    "22", "29", "35", "56", "44", "49", "53", "72", "85", "14", "50", "61", "75",
];

fn mib(bytes: usize) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// Status and body (gunzipped) of an instructeur route.
async fn instructeur(app: &App, token: &str, path: &str, query: &str) -> (u16, Vec<u8>) {
    let mut event: Value =
        serde_json::from_str(&api_event("GET", path, query, None, None)).unwrap();
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    event["headers"]["accept-encoding"] = json!("gzip");
    let req = lambda_http::request::from_str(&event.to_string()).expect("valid v2 event");
    let resp = conventions_ent::http::instructeur::handle(app, req)
        .await
        .unwrap();
    let gzipped = resp
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let bytes = match resp.body() {
        lambda_http::Body::Text(t) => t.as_bytes().to_vec(),
        lambda_http::Body::Binary(b) => b.clone(),
        _ => Vec::new(),
    };
    let body = if gzipped {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .expect("gzip");
        out
    } else {
        bytes
    };
    (resp.status().as_u16(), body)
}

/// 20,000 dossiers, 45,000 schools: 5,000 with three schools, 15,000 with two.
async fn seed(app: &App) {
    let template = Draft::from_json(&json!({
        "collectivite": {"siret": "21350016800025"},
        "signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr",
                       "habilitation": {"nature": "deliberation", "date": "2026-03-28", "reference": "2026-014"}},
        "ecoles": [{"uai": "0350122T"}, {"uai": "0350165P"}],
        "referent": {"designe": false},
        "approbation": true
    }))
    .expect("valid draft");
    let ctx = SigningContext {
        horodatage: "2026-09-01T08:00:00.000Z".into(),
        ip: "203.0.113.7".into(),
        user_agent: "Mozilla/5.0".into(),
        version_texte: "2026-11".into(),
        confirmation: Some(conventions_ent::domain::signataire::Confirmation {
            email: "mairie@exemple.fr".into(),
            le: "2026-09-01T08:00:00.000Z".into(),
        }),
    };
    let model = validate(&template, app.directory().as_ref(), ctx).expect("valid deposit");
    let statuts = [
        Statut::Accepte,
        Statut::Accepte,
        Statut::Accepte,
        Statut::EnInstruction,
        Statut::EnConstruction,
        Statut::Refuse,
    ];
    let mut school = 0;
    for i in 0..DOSSIERS {
        let created = Now::at("2026-09-01T08:00:00.000Z".parse().unwrap());
        let mut rec = steps::create(
            DossierId::generate(),
            i as u64 + 1,
            "0".repeat(64),
            template.clone(),
            &created,
        );
        rec.expire_le = None;
        let dep = DEPARTEMENTS[i % DEPARTEMENTS.len()];
        let mut depot = model.clone();
        depot.collectivite.nom = Some(format!("COMMUNE N° {i}"));
        depot.collectivite.siret = format!("2{dep}{:06}00012", i);
        depot.collectivite.departement = Some(dep.to_string());
        let n = if i < SCHOOLS - 2 * DOSSIERS { 3 } else { 2 };
        depot.ecoles = (0..n)
            .map(|k| {
                let mut e = model.ecoles[k % 2].clone();
                e.uai = format!("{dep}{:05}X", school);
                e.code_insee = format!("{dep}{:03}", i % 1000);
                e.nom = format!("ÉCOLE PRIMAIRE PUBLIQUE N° {school}");
                school += 1;
                e
            })
            .collect();
        let at = Now::at(
            (chrono::DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z").unwrap()
                + chrono::Duration::seconds(i as i64 * 37))
            .with_timezone(&chrono::Utc),
        );
        let change = steps::deposit(&rec, template.clone(), depot, &Actor::Collectivite, &at)
            .expect("deposit");
        change.apply(&mut rec);
        rec.statut = statuts[i % statuts.len()];
        app.dossiers.create(&rec).await.expect("stored");
    }
    assert_eq!(school, SCHOOLS);
}

/// One dossier's 500 messages of 3,000 characters and 200 decisions, through the store's
/// bounded writes (the one that made an item unwritable after 34 messages).
async fn busy(app: &App, id: &DossierId) {
    let actor = Actor::Instructeur {
        sub: "bench".into(),
        email: "instructeur@ac-rennes.fr".into(),
        nom: Some("Alex DURAND".into()),
    };
    let texte = "Pièce jointe attendue. ".repeat(131);
    for _ in 0..500 {
        let r = app.dossiers.get(id).await.unwrap().unwrap();
        let long = conventions_ent::domain::text::LongText::parse(&texte).unwrap();
        let change = steps::message(&r, long, &actor, &Now::system()).unwrap();
        app.dossiers.add_message(&r, &change).await.unwrap();
    }
    for k in 0..200 {
        let r = app.dossiers.get(id).await.unwrap().unwrap();
        use conventions_ent::domain::dossier::Decision;
        let decision = if k % 2 == 0 {
            Decision::RepasserEnConstruction
        } else {
            Decision::PasserEnInstruction
        };
        let motif = conventions_ent::domain::text::LongText::parse(&format!("Décision {k}.")).ok();
        let change =
            steps::decide(&r, decision, motif, &actor, &Now::system(), &app.policy(&r)).unwrap();
        app.dossiers.decide(&r, &change).await.unwrap();
    }
}

pub async fn run(app: &mut App) {
    let secret = "secret-de-mesure-des-instructeurs";
    app.config.dev_jwt_secret = Some(secret.into());
    let now = chrono::Utc::now().timestamp();
    let token = conventions_ent::http::instructeur::auth::sign_hs256(
        &json!({"sub": "bench", "email": "instructeur@ac-rennes.fr", "name": "Alex DURAND",
                "token_use": "id", "cognito:groups": ["instructeurs"], "iat": now, "exp": now + 3600}),
        secret.as_bytes(),
    );
    let started = Instant::now();
    seed(app).await;
    let all = app
        .dossiers
        .all_deposited(&Default::default())
        .await
        .unwrap();
    let busy_id = all
        .iter()
        .find(|r| r.statut == Statut::EnInstruction)
        .unwrap()
        .id
        .clone();
    busy(app, &busy_id).await;
    println!(
        "table : {DOSSIERS} dossiers déposés, {SCHOOLS} écoles, ensemencée en {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The counters as count-statistics keeps them: one count per dossier (its deposit's
    // record), then the repair, which must find nothing to correct.
    let s = Instant::now();
    for (i, r) in all.iter().enumerate() {
        let r = app.dossiers.get(&r.id).await.unwrap().unwrap();
        let seq = format!("{}", 1000 + i);
        count::count(app.counters.as_ref(), &r.id, Some(&seq), Contribution::of(&r))
            .await
            .unwrap();
    }
    let counting = s.elapsed().as_secs_f64();
    let s = Instant::now();
    let repaired = count::repair(app.dossiers.as_ref(), app.counters.as_ref())
        .await
        .unwrap();
    println!(
        "compteurs : {DOSSIERS} dossiers comptés en {counting:.1} s ({:.0} µs par enregistrement du flux) ; \
         réparation {:.1} s, {repaired}",
        counting * 1e6 / DOSSIERS as f64,
        s.elapsed().as_secs_f64()
    );
    let exact = Figures::exact(
        app.dossiers
            .all_deposited(&Default::default())
            .await
            .unwrap()
            .iter()
            .filter_map(Contribution::of)
            .collect::<Vec<_>>()
            .iter(),
    );
    assert_eq!(
        app.counters.figures(None).await.unwrap().to_json("x"),
        exact.to_json("x"),
        "the counters give the figures read from every dossier"
    );

    let mut report = Vec::new();
    let mut line = |what: &str, figure: String, target: &str, met: bool| {
        println!(
            "{what:44} {figure:>22}   cible {target:>10}   {}",
            if met { "atteinte" } else { "NON ATTEINTE" }
        );
        report.push(met);
    };
    for (what, path, query, n) in [
        (
            "liste, première page (p50 / p99)",
            "/api/instructeur/dossiers",
            "",
            200,
        ),
        (
            "statistiques, compteurs (p50 / p99)",
            "/api/instructeur/statistiques",
            "",
            200,
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..n {
            let s = Instant::now();
            let (status, _) = instructeur(app, &token, path, query).await;
            times.push(s.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{path}");
        }
        let (p50, p99) = (pct(&mut times, 50.0), pct(&mut times, 99.0));
        line(
            what,
            format!("{p50:.2} / {p99:.2} ms"),
            "p99 ≤ 50 ms",
            p99 <= 50.0,
        );
    }
    // Under a filter, the figures read the dossiers it selects (no target: what filters cost).
    let mut times = Vec::new();
    for _ in 0..20 {
        let s = Instant::now();
        let (status, _) =
            instructeur(app, &token, "/api/instructeur/statistiques", "departement=35").await;
        times.push(s.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
    }
    println!(
        "{:44} {:>22}   (sans cible : lecture des dossiers filtrés)",
        "statistiques sous filtre (p50 / p99)",
        format!("{:.1} / {:.1} ms", pct(&mut times, 50.0), pct(&mut times, 99.0))
    );
    // Every school: the export's default is accepted conventions; these are all the statuts
    // whose schools it exports.
    let every = "statut=accepte,en_instruction,en_construction,refuse";
    for file in ["ecoles.csv", "ecoles.json", "ecoles.xlsx"] {
        // The request starts the job (202); export-schools writes the file: what is measured.
        let (status, body) = instructeur(
            app,
            &token,
            &format!("/api/instructeur/export/{file}"),
            every,
        )
        .await;
        assert_eq!(status, 202, "{file}");
        let id = serde_json::from_slice::<Value>(&body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let job = app.exports.export_job(&id).await.unwrap().unwrap();
        let base = IN_USE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let s = Instant::now();
        conventions_ent::jobs::export::run(app, job).await.unwrap();
        let secs = s.elapsed().as_secs_f64();
        let peak = PEAK.load(Ordering::Relaxed) - base;
        let job = app.exports.export_job(&id).await.unwrap().unwrap();
        let written = job.cle.as_deref().expect("the file is written");
        let bytes = app.documents.get(written).await.unwrap().unwrap();
        let rows = match file {
            "ecoles.csv" => Some(
                bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count()
                    - 1,
            ),
            _ => None,
        };
        if let Some(rows) = rows {
            assert!(rows >= SCHOOLS * 5 / 6, "{rows} rows");
        }
        let figure = format!("{secs:.2} s {:.0} MiB", mib(peak));
        line(
            &format!(
                "export {file} ({} écoles, {:.1} MiB)",
                job.lignes,
                mib(bytes.len())
            ),
            figure,
            "≤ 20 s, 128 MiB",
            secs <= 20.0 && peak <= 128 * 1024 * 1024,
        );
    }
    let largest = largest_item(app).await;
    line(
        "plus grand item (500 messages, 200 décisions)",
        format!("{:.1} KiB", largest as f64 / 1024.0),
        "≤ 64 KiB",
        largest <= 64 * 1024,
    );
    let (row, whole) = largest_row(app).await;
    println!(
        "{:44} {:>22}   (sans cible : ce que l'index de la liste copie)",
        "plus grande ligne de la liste / son dossier",
        format!("{:.2} / {:.1} KiB", row as f64 / 1024.0, whole as f64 / 1024.0)
    );
    let met = report.iter().filter(|m| **m).count();
    println!("{met}/{} cibles atteintes", report.len());
}

/// The largest row of the list (`domain::listing`: what the list index copies of a dossier,
/// besides a few filtered attributes), as JSON, and the size of its dossier's item.
async fn largest_row(app: &App) -> (usize, usize) {
    let all = app
        .dossiers
        .all_deposited(&Default::default())
        .await
        .unwrap();
    all.iter()
        .map(|r| {
            // The row as stored (the seeded dossiers were written whole, without one).
            let row = r.ligne.clone().unwrap_or_else(|| Ligne::of(r));
            (serde_json::to_vec(&row).unwrap().len(), item_size(r))
        })
        .max()
        .unwrap_or((0, 0))
}

/// A dossier item's size: its JSON as DynamoDB's item.
fn item_size(r: &DossierRecord) -> usize {
    conventions_ent::adapters::item_size::of(r).unwrap()
}

/// The largest dossier item (DynamoDB's count, `adapters::item_size`), pages included (their
/// entries' JSON).
async fn largest_item(app: &App) -> usize {
    let all = app
        .dossiers
        .all_deposited(&Default::default())
        .await
        .unwrap();
    let mut largest = all.iter().map(item_size).max().unwrap_or(0);
    for r in &all {
        if r.archives.is_empty() {
            continue;
        }
        for p in app
            .dossiers
            .archived_pages(&r.id, &r.archives)
            .await
            .unwrap()
        {
            let bytes = match &p.entries {
                conventions_ent::domain::journal::Entries::Historique(v) => serde_json::to_vec(v),
                conventions_ent::domain::journal::Entries::Messages(v) => serde_json::to_vec(v),
                conventions_ent::domain::journal::Entries::WebhookTentatives(v) => {
                    serde_json::to_vec(v)
                }
            }
            .unwrap()
            .len();
            largest = largest.max(bytes);
        }
    }
    largest
}
