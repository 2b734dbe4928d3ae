//! Hostile input and access control. A corpus of several hundred malformed or hostile requests
//! on every public route (wrong types, huge strings, control characters, invalid UTF-8, wrong
//! content types, duplicate keys, deep nesting, oversized bodies, mass assignment, bad or other
//! dossiers' jetons, odd ids): every answer is a 4xx problem+json, and the table, the bucket and
//! the sent emails are unchanged. Then: markup and header injection through names (and through
//! the company registry, an outside source) into emails and the PDF; presigned links of the
//! download route against s3s-fs; instructeur routes without valid claims.

use crate::helpers::*;
use base64::Engine;
use conventions_ent::adapters::s3::S3Documents;
use conventions_ent::domain::ids::{hash_jeton, link_jeton, DossierId};
use conventions_ent::domain::siret::Siret;
use conventions_ent::ports::{CompanyRegistry, RegistryEntry, RegistryError};
use conventions_ent::App;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One request of the corpus and what it must get.
struct Case {
    label: String,
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// The exact status when the contract fixes it; any 4xx otherwise.
    status: Option<u16>,
    /// A field the 422 must name.
    champ: Option<String>,
}

fn case(label: impl Into<String>, method: &'static str, path: impl Into<String>) -> Case {
    Case {
        label: label.into(),
        method,
        path: path.into(),
        headers: Vec::new(),
        body: None,
        status: None,
        champ: None,
    }
}

impl Case {
    fn header(mut self, k: &str, v: &str) -> Case {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    fn bearer(self, jeton: &str) -> Case {
        let v = format!("Bearer {jeton}");
        self.header("authorization", &v)
    }
    fn json(self, body: impl Into<Vec<u8>>) -> Case {
        let mut c = self.header("content-type", "application/json");
        c.body = Some(body.into());
        c
    }
    fn raw(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some(body.into());
        self
    }
    fn expect(mut self, status: u16) -> Case {
        self.status = Some(status);
        self
    }
    fn naming(mut self, champ: &str) -> Case {
        self.status = Some(422);
        self.champ = Some(champ.to_string());
        self
    }
}

/// An API Gateway v2 event; bodies that are not UTF-8 travel base64-encoded, as API Gateway
/// sends binary bodies.
fn event(
    method: &str,
    path_and_query: &str,
    body: Option<&[u8]>,
    headers: &[(String, String)],
) -> String {
    let hdrs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let text = body.map(|b| std::str::from_utf8(b).ok());
    let mut e: Value =
        serde_json::from_str(&api_event(method, path_and_query, text.flatten(), &hdrs)).unwrap();
    if let (Some(b), Some(None)) = (body, text) {
        e["body"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
        e["isBase64Encoded"] = json!(true);
    }
    e.to_string()
}

/// Sends one request to the function that serves its route on AWS.
async fn send(app: &App, c: &Case) -> TestResponse {
    let req =
        lambda_http::request::from_str(&event(c.method, &c.path, c.body.as_deref(), &c.headers))
            .unwrap_or_else(|e| panic!("{}: not a valid v2 event: {e}", c.label));
    to_test_response(dispatch(app, req, &c.path).await)
}

/// The function that serves the path on AWS (the HTTP API's routes): reference data to
/// school-lookup, the académie's routes to instructeur-api, the rest to submit-dossier.
async fn dispatch(
    app: &App,
    req: lambda_http::Request,
    path: &str,
) -> lambda_http::Response<lambda_http::Body> {
    if is_lookup(path) {
        conventions_ent::http::lookup::handle(app, req).await
    } else if path.starts_with("/api/instructeur/") || path.starts_with("/api/editeur/") {
        conventions_ent::http::instructeur::handle(app, req).await
    } else {
        conventions_ent::http::handle(app, req).await
    }
    .unwrap()
}

/// The same App, owned, so that a request can run in its own task and a panic be caught
/// (on Lambda a panicking handler is an error: API Gateway answers 500).
fn owned(app: &App) -> Arc<App> {
    Arc::new(App {
        config: app.config.clone(),
        dossiers: app.dossiers.clone(),
        counters: app.counters.clone(),
        exports: app.exports.clone(),
        documents: app.documents.clone(),
        mailer: app.mailer.clone(),
        reference: app.reference.clone(),
        registry: app.registry.clone(),
        seal: app.seal.clone(),
    })
}

/// Like `send`, with a panic of the handler returned as Err(message).
async fn send_caught(app: &Arc<App>, c: &Case) -> Result<TestResponse, String> {
    let req =
        lambda_http::request::from_str(&event(c.method, &c.path, c.body.as_deref(), &c.headers))
            .unwrap_or_else(|e| panic!("{}: not a valid v2 event: {e}", c.label));
    let (app, path) = (app.clone(), c.path.clone());
    let task = tokio::spawn(async move { dispatch(&app, req, &path).await });
    match task.await {
        Ok(resp) => Ok(to_test_response(resp)),
        Err(e) => {
            let p = e.into_panic();
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()))
        }
    }
}

/// Panics found by this corpus or by the fuzzers (fuzz/) in code this test does not own, not
/// fixed yet. Each must still panic: once fixed, the test fails until its line is removed.
/// Handler panics known and not yet fixed (label, panic message). Empty: the one the fuzz
/// target `communes` found (« €ab » sliced inside a multibyte character in search.rs) is fixed.
const KNOWN_PANICS: &[(&str, &str)] = &[];

/// A problem+json answer of RFC 9457 with a 4xx status and a French detail.
fn assert_problem(label: &str, r: &TestResponse) {
    assert!(
        (400..500).contains(&r.status),
        "{label}: {} {}",
        r.status,
        r.body
    );
    assert_eq!(
        r.header("content-type"),
        "application/problem+json; charset=utf-8",
        "{label}"
    );
    let p: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(p["status"], r.status, "{label}");
    assert!(
        p["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problemes/")),
        "{label}: {p}"
    );
    for k in ["title", "detail"] {
        assert!(
            p[k].as_str().is_some_and(|s| !s.is_empty()),
            "{label}: {k} {p}"
        );
    }
}

/// Everything the requests could have changed: table items, stored objects (every version),
/// emails sent from this test's sender.
async fn storage(t: &TestApp) -> (Vec<String>, Vec<String>, usize) {
    (
        t.table_snapshot().await,
        t.objects().await,
        t.sent_emails().await.len(),
    )
}

const TEXT_FIELDS: [(&str, &str); 7] = [
    ("collectivite", "siret"),
    ("signataire", "prenom"),
    ("signataire", "nom"),
    ("signataire", "qualite"),
    ("signataire", "email"),
    ("referent", "prenom_nom"),
    ("referent", "email"),
];

/// Bodies that are refused whatever the route and the dossier: (label, bytes, status).
fn bad_bodies() -> Vec<(String, Vec<u8>, Option<u16>)> {
    let mut out: Vec<(String, Vec<u8>, Option<u16>)> = Vec::new();
    let mut add = |label: &str, body: Vec<u8>, status: Option<u16>| {
        out.push((label.to_string(), body, status))
    };
    // Not an object at the root.
    for b in [
        "[]",
        "[1,2]",
        "\"texte\"",
        "1",
        "true",
        "null",
        "-0",
        "[{}]",
    ] {
        add(&format!("racine {b}"), b.into(), Some(422));
    }
    // Mass assignment and unknown fields.
    for f in [
        r#"{"pirate": 1}"#,
        r#"{"__proto__": {"admin": true}}"#,
        r#"{"constructor": {"prototype": {}}}"#,
        r#"{"statut": "accepte"}"#,
        r#"{"etape": "accuse_envoye"}"#,
        r#"{"id": "00000000000000000000000000000000"}"#,
        r#"{"numero": "ENT-000001"}"#,
        r#"{"jeton_sha256": "00"}"#,
        r#"{"depot": {}}"#,
        r#"{"convention": {"cle": "conventions/x.pdf"}}"#,
        r#"{"accuse": {"envoye_le": "2026-01-01"}}"#,
        r#"{"code_verification": "AAAA-BBBB-CCCC"}"#,
        r#"{"collectivite": {"siret": "21350016800025", "nom": "Autre"}}"#,
        r#"{"signataire": {"nom": "Martin", "telephone": "06"}}"#,
        r#"{"ecoles": [{"uai": "0350122T", "nom": "x"}]}"#,
        r#"{"referent": {"designe": false, "role": "admin"}}"#,
        r#"{"Approbation": true}"#,
        r#"{"approbation ": true}"#,
    ] {
        add(&format!("champ inconnu {f}"), f.into(), Some(422));
    }
    // Wrong types, every field.
    let wrong_for_text = ["1", "-1.5", "true", "[]", "{}", "[\"a\"]"];
    for (section, field) in TEXT_FIELDS {
        for v in wrong_for_text {
            let mut inner = format!(r#"{{"{field}": {v}}}"#);
            if section == "referent" {
                inner = format!(r#"{{"designe": true, "{field}": {v}}}"#);
            }
            add(
                &format!("type {section}.{field} = {v}"),
                format!(r#"{{"{section}": {inner}}}"#).into(),
                Some(422),
            );
        }
    }
    for v in ["\"oui\"", "1", "0", "[]", "{}", "\"true\""] {
        add(
            &format!("type approbation = {v}"),
            format!(r#"{{"approbation": {v}}}"#).into(),
            Some(422),
        );
        add(
            &format!("type referent.designe = {v}"),
            format!(r#"{{"referent": {{"designe": {v}}}}}"#).into(),
            Some(422),
        );
    }
    for section in ["collectivite", "signataire", "referent"] {
        for v in ["\"x\"", "1", "[]", "true", "[{}]"] {
            add(
                &format!("type {section} = {v}"),
                format!(r#"{{"{section}": {v}}}"#).into(),
                Some(422),
            );
        }
    }
    for v in ["\"0350122T\"", "1", "{}", "true", "{\"uai\": \"0350122T\"}"] {
        add(
            &format!("type ecoles = {v}"),
            format!(r#"{{"ecoles": {v}}}"#).into(),
            Some(422),
        );
    }
    for v in [
        "1",
        "true",
        "[]",
        "[\"0350122T\"]",
        "{\"uai\": 350122}",
        "{\"uai\": []}",
    ] {
        add(
            &format!("type ecoles[0] = {v}"),
            format!(r#"{{"ecoles": [{v}]}}"#).into(),
            Some(422),
        );
    }
    // Huge strings and lists.
    for (section, field) in TEXT_FIELDS {
        for n in [501, 20_000] {
            add(
                &format!("texte de {n} caractères {section}.{field}"),
                json!({ section: { field: "é".repeat(n) } })
                    .to_string()
                    .into(),
                Some(422),
            );
        }
    }
    add(
        "1001 écoles",
        json!({"ecoles": vec!["0350122T"; 1001]}).to_string().into(),
        Some(422),
    );
    add(
        "UAI de 600 caractères",
        json!({"ecoles": ["A".repeat(600)]}).to_string().into(),
        Some(422),
    );
    // Oversized bodies (64 KiB is the limit), checked before anything else.
    add(
        "corps de 64 Kio + 1",
        format!(r#"{{"a": "{}"}}"#, "x".repeat(64 * 1024)).into(),
        Some(413),
    );
    add("corps de 1 Mio", vec![b'{'; 1 << 20], Some(413));
    add("70 Kio d'espaces", vec![b' '; 70 * 1024], Some(413));
    add(
        "signataire de 70 Kio",
        json!({"signataire": {"nom": "x".repeat(70 * 1024)}})
            .to_string()
            .into(),
        Some(413),
    );
    // Deep nesting: serde_json's recursion limit (128) answers, no stack overflow.
    for depth in [129, 1_000, 10_000] {
        add(
            &format!("tableaux imbriqués {depth}"),
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into(),
            Some(400),
        );
        add(
            &format!("objets imbriqués {depth}"),
            format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)).into(),
            Some(400),
        );
    }
    add(
        "imbrication dans ecoles",
        format!(r#"{{"ecoles": {}{}}}"#, "[".repeat(100), "]".repeat(100)).into(),
        Some(422),
    );
    add(
        "imbrication dans signataire",
        format!(
            r#"{{"signataire": {{"nom": {}1{}}}}}"#,
            r#"{"a":"#.repeat(100),
            "}".repeat(100)
        )
        .into(),
        Some(422),
    );
    // Invalid UTF-8, in and out of strings; lone surrogates.
    for (label, bytes) in [
        (
            "octet 0xFF dans une chaîne",
            b"{\"signataire\": {\"nom\": \"\xff\"}}".to_vec(),
        ),
        (
            "séquence tronquée",
            b"{\"signataire\": {\"nom\": \"\xc3\"}}".to_vec(),
        ),
        (
            "séquence trop longue (overlong)",
            b"{\"signataire\": {\"nom\": \"\xc0\xaf\"}}".to_vec(),
        ),
        (
            "surrogate encodé en UTF-8",
            b"{\"signataire\": {\"nom\": \"\xed\xa0\x80\"}}".to_vec(),
        ),
        (
            "au-delà de U+10FFFF",
            b"{\"signataire\": {\"nom\": \"\xf4\x90\x80\x80\"}}".to_vec(),
        ),
        (
            "octet de continuation isolé",
            b"{\"signataire\": {\"nom\": \"\x80\"}}".to_vec(),
        ),
        ("octets invalides hors chaîne", b"{\xfe\xff}".to_vec()),
        ("UTF-16 avec BOM", b"\xff\xfe{\x00}\x00".to_vec()),
        ("BOM UTF-8", b"\xef\xbb\xbf{}".to_vec()),
        ("clé non UTF-8", b"{\"\xff\": 1}".to_vec()),
        (
            "surrogate isolé échappé",
            br#"{"signataire": {"nom": "\ud800"}}"#.to_vec(),
        ),
        (
            "surrogate bas isolé échappé",
            br#"{"signataire": {"nom": "\udc00x"}}"#.to_vec(),
        ),
        (
            "échappement invalide",
            br#"{"signataire": {"nom": "\x41"}}"#.to_vec(),
        ),
    ] {
        add(label, bytes, Some(400));
    }
    // Not JSON.
    for b in [
        "{",
        "{\"signataire\": ",
        "{'approbation': true}",
        "{approbation: true}",
        "{\"approbation\": true,}",
        "[1,]",
        "{\"approbation\": tru}",
        "{\"a\": NaN}",
        "{\"a\": Infinity}",
        "{\"a\": 1e999}",
        "{\"a\": 01}",
        "{\"a\": .5}",
        "{} {}",
        "{}garbage",
        "/* commentaire */ {}",
        "{\"a\": 1 // commentaire\n}",
        "<dossier><approbation>true</approbation></dossier>",
        "approbation=true",
        "{\"a\": \"\u{1}\"}",
        "\u{0}",
    ] {
        add(&format!("pas du JSON {b:?}"), b.into(), Some(400));
    }
    // Duplicate keys: a parser differential (another reader sees the first value).
    for b in [
        r#"{"approbation": "oui", "approbation": true}"#,
        r#"{"collectivite": {"siret": "x"}, "collectivite": {"siret": "21350016800025"}}"#,
        r#"{"signataire": {"nom": 1, "nom": "Martin"}}"#,
        r#"{"ecoles": 1, "ecoles": []}"#,
        r#"{"referent": {"designe": "oui", "designe": false}}"#,
        r#"{"pirate": 1, "pirate": 2}"#,
    ] {
        add(&format!("clé en double {b}"), b.into(), Some(400));
    }
    out
}

/// Values that are well-formed JSON but refused at the deposit, each naming its field.
/// Header-reaching fields get every line-break spelling; the others markup and injection.
fn bad_values() -> Vec<(String, Value, &'static str)> {
    let mut out = Vec::new();
    let breaks = [
        "Martin\r\nBcc: pirate@exemple.fr",
        "Martin\nBcc: pirate@exemple.fr",
        "Martin\rBcc: pirate@exemple.fr",
        "Martin\u{85}Bcc: pirate@exemple.fr",
        "Martin\u{0}",
        "Martin\u{1b}[31m",
        "Martin\u{7f}",
        "\u{8}\u{8}\u{8}Maire",
    ];
    for (section, field) in [
        ("signataire", "prenom"),
        ("signataire", "nom"),
        ("signataire", "qualite"),
        ("referent", "prenom_nom"),
    ] {
        for b in breaks {
            let mut body = full_dossier();
            body[section][field] = json!(b);
            out.push((
                format!("{section}.{field} = {b:?}"),
                body,
                field_path(section, field),
            ));
        }
    }
    for (section, field) in [("signataire", "email"), ("referent", "email")] {
        for v in [
            "mairie@exemple.fr\r\nBcc: pirate@exemple.fr",
            "mairie@exemple.fr\nCc: pirate@exemple.fr",
            "mairie@exemple.fr, pirate@exemple.fr",
            "mairie@exemple.fr;pirate@exemple.fr",
            "Mairie <mairie@exemple.fr>",
            "\"<script>\"@exemple.fr",
            "mairie@exemple.fr%0d%0aBcc:pirate@exemple.fr",
            "mairie@<b>exemple</b>.fr",
            "mairie@exemple.fr\u{0}",
        ] {
            let mut body = full_dossier();
            body[section][field] = json!(v);
            out.push((
                format!("{section}.{field} = {v:?}"),
                body,
                field_path(section, field),
            ));
        }
    }
    for v in [
        "<script>alert(1)</script>",
        "21350016800025<b>",
        "2135001680002\u{0}5",
        "' OR 1=1 --",
        "21350016800025\r\n",
        "２１３５００１６８０００２５",
    ] {
        let mut body = full_dossier();
        body["collectivite"]["siret"] = json!(v);
        out.push((format!("siret = {v:?}"), body, "collectivite.siret"));
    }
    for v in [
        "<img src=x onerror=alert(1)>",
        "0350122T\u{0}",
        "../../etc/passwd",
        "0350122T%0A",
        "０３５０１２２Ｔ",
        "0350122T'--",
    ] {
        let mut body = full_dossier();
        body["ecoles"] = json!([{ "uai": v }]);
        out.push((format!("uai = {v:?}"), body, "ecoles[0].uai"));
    }
    out
}

fn field_path(section: &str, field: &str) -> &'static str {
    // Leaked once per distinct pair: a handful of static strings for the whole run.
    Box::leak(format!("{section}.{field}").into_boxed_str())
}

struct Dossier {
    id: String,
    jeton: String,
}

fn corpus(app: &App, a: &Dossier, b: &Dossier) -> Vec<Case> {
    let mut cases = Vec::new();
    let secret = app.config.link_secret.as_bytes();
    let link_b = link_jeton(secret, &DossierId::parse(&b.id).unwrap(), 0);
    let routes_with_body = [
        ("POST", "/api/dossiers".to_string(), None),
        (
            "PATCH",
            format!("/api/dossiers/{}", a.id),
            Some(a.jeton.as_str()),
        ),
        (
            "POST",
            format!("/api/dossiers/{}/depot", a.id),
            Some(a.jeton.as_str()),
        ),
    ];
    for (method, path, jeton) in &routes_with_body {
        let with_auth = |c: Case| match jeton {
            Some(j) => c.bearer(j),
            None => c,
        };
        for (label, body, status) in bad_bodies() {
            let mut c = with_auth(
                case(format!("{method} {path} : {label}"), method, path.clone()).json(body),
            );
            c.status = status;
            cases.push(c);
        }
        // Wrong content types, with a body that would otherwise be accepted.
        for ct in [
            None,
            Some("text/plain"),
            Some("text/json"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/xml"),
            Some("text/html"),
            Some("application/javascript"),
            Some("application/octet-stream"),
            Some("application/jsonx"),
            Some("application/json-seq"),
            Some("json"),
            Some("*/*"),
            Some("application/x-json"),
            Some(""),
        ] {
            let mut c = with_auth(case(
                format!("{method} {path} : content-type {ct:?}"),
                method,
                path.clone(),
            ))
            .raw(r#"{"signataire": {"nom": "Martin"}}"#)
            .expect(415);
            if let Some(ct) = ct {
                c = c.header("content-type", ct);
            }
            cases.push(c);
        }
    }
    // Values refused at the deposit (each would be accepted in a draft: drafts store what is
    // typed; the deposit is the gate).
    for (label, body, champ) in bad_values() {
        cases.push(
            case(
                format!("dépôt : {label}"),
                "POST",
                format!("/api/dossiers/{}/depot", a.id),
            )
            .bearer(&a.jeton)
            .json(body.to_string())
            .naming(champ),
        );
    }
    // The code given back: anything but a string of six digits is a 422 on `code`, and counts
    // as no try (nothing written).
    for (label, body) in [
        ("code nombre", json!({"code": 123456})),
        ("code null", json!({"code": null})),
        ("code absent", json!({})),
        ("code liste", json!({"code": ["123456"]})),
        ("code 5 chiffres", json!({"code": "12345"})),
        ("code 7 chiffres", json!({"code": "1234567"})),
        ("code lettres", json!({"code": "abcdef"})),
        ("code chiffres arabes-indiens", json!({"code": "١٢٣٤٥٦"})),
        (
            "code 10 000 caractères",
            json!({"code": "1".repeat(10_000)}),
        ),
        ("code avec NUL", json!({"code": "123\u{0}56"})),
    ] {
        cases.push(
            case(
                format!("confirmation : {label}"),
                "POST",
                format!("/api/dossiers/{}/signataire/confirmation", a.id),
            )
            .bearer(&a.jeton)
            .json(body.to_string())
            .naming("code"),
        );
    }
    // Bad, foreign or forged jetons on every dossier route of A: the same 404 as an unknown id.
    let jetons: Vec<(String, Option<String>)> = vec![
        ("aucun jeton".into(), None),
        ("Bearer vide".into(), Some("Bearer ".into())),
        ("Bearer x".into(), Some("Bearer x".into())),
        ("jeton de B".into(), Some(format!("Bearer {}", b.jeton))),
        (
            "jeton de lien de B".into(),
            Some(format!("Bearer {link_b}")),
        ),
        (
            "empreinte du jeton de A".into(),
            Some(format!("Bearer {}", hash_jeton(&a.jeton))),
        ),
        (
            "jeton de A + 1 caractère".into(),
            Some(format!("Bearer {}x", a.jeton)),
        ),
        (
            "jeton de A tronqué".into(),
            Some(format!("Bearer {}", &a.jeton[..a.jeton.len() - 1])),
        ),
        (
            "jeton de A en majuscules".into(),
            Some(format!("Bearer {}", a.jeton.to_uppercase())),
        ),
        (
            "jeton de A avec remplissage base64".into(),
            Some(format!("Bearer {}=", a.jeton)),
        ),
        (
            "jeton de A en Basic".into(),
            Some(format!("Basic {}", a.jeton)),
        ),
        (
            "jeton de 10 000 caractères".into(),
            Some(format!("Bearer {}", "A".repeat(10_000))),
        ),
        ("jeton null".into(), Some("Bearer null".into())),
        (
            "JWT non signé".into(),
            Some("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".into()),
        ),
        (
            "jeton de lien de A avec un autre secret".into(),
            Some(format!(
                "Bearer {}",
                link_jeton(b"autre-secret", &DossierId::parse(&a.id).unwrap(), 0)
            )),
        ),
    ];
    let dossier_routes = [
        ("GET", format!("/api/dossiers/{}", a.id)),
        ("PATCH", format!("/api/dossiers/{}", a.id)),
        ("POST", format!("/api/dossiers/{}/depot", a.id)),
        ("GET", format!("/api/dossiers/{}/convention", a.id)),
        ("POST", format!("/api/dossiers/{}/signataire/code", a.id)),
        (
            "POST",
            format!("/api/dossiers/{}/signataire/confirmation", a.id),
        ),
    ];
    for (method, path) in &dossier_routes {
        for (label, auth) in &jetons {
            let mut c =
                case(format!("{method} {path} : {label}"), method, path.clone()).expect(404);
            if let Some(h) = auth {
                c = c.header("authorization", h);
            }
            if *method != "GET" {
                c = c.json(full_dossier().to_string());
            }
            cases.push(c);
        }
        // The jeton in the query string: B's, empty, B's link jeton.
        for q in [
            format!("jeton={}", b.jeton),
            "jeton=".into(),
            format!("jeton={link_b}"),
            "jeton".into(),
        ] {
            let mut c = case(
                format!("{method} {path}?{q}"),
                method,
                format!("{path}?{q}"),
            )
            .expect(404);
            if *method != "GET" {
                c = c.json(full_dossier().to_string());
            }
            cases.push(c);
        }
    }
    // B's convention with A's jeton (B has one).
    cases.push(
        case(
            "convention de B avec le jeton de A",
            "GET",
            format!("/api/dossiers/{}/convention", b.id),
        )
        .bearer(&a.jeton)
        .expect(404),
    );
    // Odd ids, with A's valid jeton.
    let odd_ids = [
        "0".to_string(),
        "..".into(),
        "%2e%2e".into(),
        "%2F".into(),
        "%00".into(),
        "null".into(),
        "undefined".into(),
        "*".into(),
        "'%20OR%201=1%20--".into(),
        "%7B%22$ne%22:null%7D".into(),
        a.id.to_uppercase(),
        format!("{}0", a.id),
        a.id[..31].to_string(),
        format!("%20{}", a.id),
        format!("{}%0a", a.id),
        "x".repeat(10_000),
        "%C3%A9".repeat(16),
        "0".repeat(32),
        "g".repeat(32),
    ];
    for (method, suffix) in [
        ("GET", ""),
        ("PATCH", ""),
        ("POST", "/depot"),
        ("GET", "/convention"),
    ] {
        for id in &odd_ids {
            let path = format!("/api/dossiers/{id}{suffix}");
            let mut c = case(
                format!("{method} id {:?}{suffix}", &id[..id.len().min(40)]),
                method,
                path,
            )
            .bearer(&a.jeton)
            .expect(404);
            if method != "GET" {
                c = c.json(full_dossier().to_string());
            }

            cases.push(c);
        }
    }
    // Reference data: bad UAIs, SIRETs, INSEE codes, verification codes, queries.
    for uai in [
        "0",
        "0350122",
        "0350122TT",
        "0350122U",
        "035O122T",
        "AAAAAAAA",
        "%00",
        "..",
        "0350122T%00",
        "%3Cb%3E",
        "%3Cscript%3E",
        "0350122T'--",
        "%20%20%20",
        "x".repeat(5000).as_str(),
    ] {
        cases.push(
            case(
                format!("école {uai:.40}"),
                "GET",
                format!("/api/ecoles/{uai}"),
            )
            .expect(400),
        );
    }
    cases.push(case("école inconnue", "GET", "/api/ecoles/0359999D").expect(404));
    for siret in [
        "0",
        "2135001680002",
        "213500168000250",
        "21350016800026",
        "2135001680002A",
        "%00",
        "..",
        "%3Cscript%3E",
        "21350016800025'--",
        "-21350016800025",
        "1e13",
        "x".repeat(5000).as_str(),
    ] {
        cases.push(
            case(
                format!("collectivité {siret:.40}"),
                "GET",
                format!("/api/collectivites/{siret}"),
            )
            .expect(400),
        );
    }
    for code in [
        "0",
        "99999",
        "..",
        "%00",
        "%3Cb%3E",
        "35016%00",
        "x".repeat(5000).as_str(),
        "35016'--",
    ] {
        cases.push(
            case(
                format!("écoles de la commune {code:.40}"),
                "GET",
                format!("/api/communes/{code}/ecoles"),
            )
            .expect(404),
        );
    }
    cases.push(
        case(
            "recherche de 101 caractères",
            "GET",
            format!("/api/communes?q={}", "a".repeat(101)),
        )
        .expect(400),
    );
    cases.push(
        case(
            "recherche de 5000 caractères",
            "GET",
            format!("/api/communes?q={}", "%C3%A9".repeat(5000)),
        )
        .expect(400),
    );
    for code in [
        "0",
        "AAAA-BBBB-CCCC",
        "AAAA-BBBB-CCC",
        "AAAA-BBBB-CCCCC",
        "%00",
        "..",
        "%3Cscript%3E",
        "'%20OR%201=1%20--",
        "x".repeat(5000).as_str(),
        "AAAA%0ABBBB-CCCC",
    ] {
        cases.push(
            case(
                format!("vérification {code:.40}"),
                "GET",
                format!("/api/conventions/verification/{code}"),
            )
            .expect(404),
        );
    }
    // Wrong methods on every route.
    let all_routes = [
        "/api/dossiers".to_string(),
        format!("/api/dossiers/{}", a.id),
        format!("/api/dossiers/{}/depot", a.id),
        format!("/api/dossiers/{}/convention", a.id),
        "/api/conventions/verification/AAAA-BBBB-CCCC".into(),
        "/api/communes".into(),
        "/api/communes/35016/ecoles".into(),
        "/api/ecoles/0350122T".into(),
        "/api/collectivites/21350016800025".into(),
    ];
    for path in &all_routes {
        for method in [
            "PUT", "DELETE", "PATCH", "POST", "GET", "HEAD", "OPTIONS", "TRACE",
        ] {
            let allowed: &[&str] = if path == "/api/dossiers" || path.ends_with("/depot") {
                &["POST"]
            } else if path.starts_with("/api/dossiers/") && !path.ends_with("/convention") {
                // DELETE deletes a draft: tested in instructeur.rs, not a hostile case.
                &["GET", "PATCH", "DELETE"]
            } else {
                &["GET"]
            };
            if allowed.contains(&method) {
                continue;
            }
            cases.push(
                case(format!("{method} {path}"), method, path.clone())
                    .bearer(&a.jeton)
                    .expect(405),
            );
        }
    }
    // The ENT editor's answer route.
    let b_uai = full_dossier()["ecoles"][0]["uai"]
        .as_str()
        .unwrap()
        .to_string();
    cases.extend(editor_cases(&b_uai));
    // Unknown addresses.
    for path in [
        "/api",
        "/api/",
        "/api/dossiers/x/y/z",
        format!("/api/dossiers/{}/depot/encore", a.id).as_str(),
        "/api/admin",
        "/api/dossiers/../../etc/passwd",
        "/.env",
        "/api/instructeur",
    ] {
        cases.push(
            case(format!("adresse {path}"), "GET", path)
                .bearer(&a.jeton)
                .expect(400),
        );
    }
    // The convention's life: the lost link (only refused requests here: an accepted one
    // takes from its address's quota), the termination of a dossier that is not in force.
    for (label, body, champ) in [
        ("racine tableau", "[]".to_string(), ""),
        ("sans rien", "{}".to_string(), "siret"),
        (
            "SIRET faux",
            r#"{"siret": "21350016800026", "email": "a@b.fr"}"#.to_string(),
            "siret",
        ),
        (
            "SIRET nombre",
            r#"{"siret": 21350016800025, "email": "a@b.fr"}"#.to_string(),
            "siret",
        ),
        (
            "adresse fausse",
            r#"{"siret": "21350016800025", "email": "pas une adresse"}"#.to_string(),
            "email",
        ),
        (
            "adresse sur deux lignes",
            "{\"siret\": \"21350016800025\", \"email\": \"a@b.fr\\r\\nBcc: x@y.fr\"}".to_string(),
            "email",
        ),
        (
            "champ en plus",
            r#"{"siret": "21350016800025", "email": "a@b.fr", "dossier": "x"}"#.to_string(),
            "dossier",
        ),
        (
            "adresse de 300 caractères",
            json!({"siret": "21350016800025", "email": format!("{}@b.fr", "a".repeat(300))})
                .to_string(),
            "email",
        ),
    ] {
        let mut c = case(
            format!("POST /api/acces/lien : {label}"),
            "POST",
            "/api/acces/lien",
        )
        .json(body)
        .expect(422);
        if !champ.is_empty() {
            c = c.naming(champ);
        }
        cases.push(c);
    }
    cases.push(
        case(
            "POST /api/acces/lien : text/plain",
            "POST",
            "/api/acces/lien",
        )
        .header("content-type", "text/plain")
        .raw(r#"{"siret": "21350016800025", "email": "mairie@exemple.fr"}"#)
        .expect(415),
    );
    cases.push(case("GET /api/acces/lien", "GET", "/api/acces/lien").expect(405));
    let motif = r#"{"motif": "Fin du contrat"}"#;
    for (label, path, jeton, body, status) in [
        (
            "brouillon",
            format!("/api/dossiers/{}/resiliation", a.id),
            a.jeton.as_str(),
            motif,
            409,
        ),
        (
            "déposé, pas accepté",
            format!("/api/dossiers/{}/resiliation", b.id),
            b.jeton.as_str(),
            motif,
            409,
        ),
        (
            "lien de l’email, pas accepté",
            format!("/api/dossiers/{}/resiliation", b.id),
            link_b.as_str(),
            motif,
            409,
        ),
        (
            "jeton d’un autre dossier",
            format!("/api/dossiers/{}/resiliation", b.id),
            a.jeton.as_str(),
            motif,
            404,
        ),
        (
            "sans motif",
            format!("/api/dossiers/{}/resiliation", b.id),
            b.jeton.as_str(),
            "{}",
            422,
        ),
        (
            "motif vide",
            format!("/api/dossiers/{}/resiliation", b.id),
            b.jeton.as_str(),
            r#"{"motif": "  "}"#,
            422,
        ),
        (
            "motif nombre",
            format!("/api/dossiers/{}/resiliation", b.id),
            b.jeton.as_str(),
            r#"{"motif": 3}"#,
            422,
        ),
        (
            "statut imposé",
            format!("/api/dossiers/{}/resiliation", b.id),
            b.jeton.as_str(),
            r#"{"motif": "x", "statut": "resilie"}"#,
            422,
        ),
    ] {
        cases.push(
            case(format!("POST {path} : {label}"), "POST", path.clone())
                .bearer(jeton)
                .json(body)
                .expect(status),
        );
    }
    cases.push(
        case(
            "GET …/resiliation",
            "GET",
            format!("/api/dossiers/{}/resiliation", b.id),
        )
        .bearer(&b.jeton)
        .expect(405),
    );
    // The other new routes of the convention's life: a follow-up draft of a dossier not in
    // force, a body where `{}` is expected, a new signatory's bad fields.
    for route in ["avenant", "renouvellement"] {
        let path = format!("/api/dossiers/{}/{route}", b.id);
        for (label, jeton, body, status) in [
            ("pas en vigueur", b.jeton.as_str(), "{}", 409),
            ("corps non vide", b.jeton.as_str(), r#"{"ecoles": []}"#, 422),
            ("racine tableau", b.jeton.as_str(), "[]", 422),
            ("jeton d’un autre dossier", a.jeton.as_str(), "{}", 404),
        ] {
            cases.push(
                case(format!("POST {path} : {label}"), "POST", path.clone())
                    .bearer(jeton)
                    .json(body)
                    .expect(status),
            );
        }
    }
    let signataire = format!("/api/dossiers/{}/signataire", b.id);
    for (label, body, champ) in [
        ("sans rien", "{}", "prenom"),
        (
            "adresse fausse",
            r#"{"prenom": "A", "nom": "B", "qualite": "Maire", "email": "x"}"#,
            "email",
        ),
        (
            "nom nombre",
            r#"{"prenom": "A", "nom": 3, "qualite": "Maire", "email": "a@b.fr"}"#,
            "nom",
        ),
        (
            "champ en plus",
            r#"{"prenom": "A", "nom": "B", "qualite": "Maire", "email": "a@b.fr", "habilitation": {}}"#,
            "habilitation",
        ),
        ("racine tableau", "[]", ""),
    ] {
        let mut c = case(
            format!("POST {signataire} : {label}"),
            "POST",
            signataire.clone(),
        )
        .bearer(&b.jeton)
        .json(body)
        .expect(422);
        if !champ.is_empty() {
            c = c.naming(champ);
        }
        cases.push(c);
    }
    cases.push(
        case("GET …/signataire", "GET", signataire.clone())
            .bearer(&b.jeton)
            .expect(405),
    );
    // A dot segment is resolved by the URI parser: the request reaches another (unknown)
    // address, any 4xx will do.
    for c in &mut cases {
        if c.path
            .split(['/', '?'])
            .any(|s| s == ".." || s.eq_ignore_ascii_case("%2e%2e"))
        {
            c.status = None;
        }
    }
    cases
}

/// Requests on the ENT editor's answer route (`POST /api/editeur/ecoles`): signed ones whose
/// body is hostile (each reaches the parser), and hostile signatures. No convention of the
/// table is accepted, so even a well-formed answer on B's school is refused (422).
fn editor_cases(b_uai: &str) -> Vec<Case> {
    use conventions_ent::jobs::standard_webhooks::{key, signature};
    const PATH: &str = "/api/editeur/ecoles";
    let now = chrono::Utc::now().timestamp();
    let signed = |label: String, body: Vec<u8>| {
        let id = format!("msg_hostile_{}", label.len());
        let sig = signature(
            &key(EDITOR_ANSWER_SECRET),
            &id,
            now,
            &String::from_utf8_lossy(&body),
        );
        let mut c = case(format!("éditeur : {label}"), "POST", PATH)
            .header("webhook-id", &id)
            .header("webhook-timestamp", &now.to_string())
            .header("webhook-signature", &sig)
            .json(body);
        // A body that is not UTF-8 cannot carry a valid signature of its lossy text.
        if std::str::from_utf8(c.body.as_deref().unwrap_or_default()).is_err() {
            c.status = Some(401);
        }
        c
    };
    let mut cases = Vec::new();
    for (label, body, _) in bad_bodies() {
        cases.push(signed(label, body));
    }
    let item = |k: &str, v: Value| {
        let mut e =
            json!({"uai": b_uai, "etat": "rejetee", "le": "2026-11-30", "motif": "inconnue"});
        e[k] = v;
        json!({ "ecoles": [e] })
    };
    let long = "a".repeat(20_000);
    for (k, v) in [
        ("uai", json!(350122)),
        ("uai", json!("")),
        ("uai", json!(long)),
        ("uai", json!("<script>alert(1)</script>")),
        ("uai", json!("0350122T\r\nBcc: x@exemple.fr")),
        ("uai", Value::Null),
        ("uai", json!(["0350122T"])),
        ("etat", json!("OUVERTE")),
        ("etat", json!("ouverte\u{0000}")),
        ("etat", json!(1)),
        ("etat", Value::Null),
        ("le", json!("2026-02-30")),
        ("le", json!("9999-12-31")),
        ("le", json!("1900-01-01")),
        ("le", json!("2026-12-01T00:00:00Z")),
        ("le", json!("")),
        ("le", json!(20261201)),
        ("motif", json!("a".repeat(501))),
        ("motif", json!("motif\u{0007}")),
        ("motif", json!(5)),
        ("motif", json!("   ")),
        ("motif", json!({"texte": "x"})),
    ] {
        let champ = format!("ecoles[0].{k}");
        cases.push(
            signed(
                format!(
                    "{k} = {}",
                    v.to_string().chars().take(40).collect::<String>()
                ),
                item(k, v).to_string().into_bytes(),
            )
            .naming(&champ),
        );
    }
    // Well-formed, but no convention of this table is accepted.
    let ok = json!({"ecoles": [{"uai": b_uai, "etat": "ouverte", "le": "2026-11-30"}]}).to_string();
    cases.push(
        signed(
            "école d’un dossier non accepté".into(),
            ok.clone().into_bytes(),
        )
        .naming("ecoles[0].uai"),
    );
    let dup = json!({"ecoles": [{"uai": b_uai, "etat": "ouverte", "le": "2026-11-30"}, {"uai": b_uai, "etat": "ouverte", "le": "2026-11-30"}]});
    cases.push(
        signed("école en double".into(), dup.to_string().into_bytes()).naming("ecoles[1].uai"),
    );
    for (label, body) in [
        ("ecoles objet", json!({"ecoles": {"uai": b_uai}})),
        ("ecoles vide", json!({"ecoles": []})),
        ("ecoles null", json!({"ecoles": null})),
        ("écoles en nombres", json!({"ecoles": [1, 2, 3]})),
        (
            "1001 écoles",
            json!({"ecoles": vec![json!({"uai": b_uai, "etat": "ouverte", "le": "2026-11-30"}); 1001]}),
        ),
    ] {
        cases.push(signed(label.into(), body.to_string().into_bytes()).expect(422));
    }
    let big = format!("{{\"ecoles\": [], \"x\": \"{}\"}}", "a".repeat(600 * 1024));
    cases.push(signed("corps de 600 Kio".into(), big.into_bytes()).expect(413));
    // Hostile signatures: each a 401, before the body is read.
    let sig = |id: &str, ts: i64, body: &str, secret: &str| signature(&key(secret), id, ts, body);
    let unsigned = |label: &str| case(format!("éditeur : {label}"), "POST", PATH).json(ok.clone());
    let ts = now.to_string();
    let good = sig("msg_1", now, &ok, EDITOR_ANSWER_SECRET);
    cases.push(unsigned("sans signature").expect(401));
    cases.push(
        unsigned("signature du webhook (autre secret)")
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", &ts)
            .header("webhook-signature", &sig("msg_1", now, &ok, WEBHOOK_SECRET))
            .expect(401),
    );
    cases.push(
        unsigned("signature périmée")
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", &(now - 301).to_string())
            .header(
                "webhook-signature",
                &sig("msg_1", now - 301, &ok, EDITOR_ANSWER_SECRET),
            )
            .expect(401),
    );
    cases.push(
        unsigned("signature du futur")
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", &(now + 600).to_string())
            .header(
                "webhook-signature",
                &sig("msg_1", now + 600, &ok, EDITOR_ANSWER_SECRET),
            )
            .expect(401),
    );
    cases.push(
        unsigned("autre identifiant")
            .header("webhook-id", "msg_2")
            .header("webhook-timestamp", &ts)
            .header("webhook-signature", &good)
            .expect(401),
    );
    for (label, value) in [
        ("signature vide", String::new()),
        ("signature v1, vide", "v1,".to_string()),
        ("signature non base64", "v1,%%%".to_string()),
        ("signature v2", good.replace("v1,", "v2,")),
        (
            "signature sans schéma",
            good.trim_start_matches("v1,").to_string(),
        ),
        ("signature tronquée", good[..good.len() - 4].to_string()),
        (
            "signature de 10 000 caractères",
            format!("v1,{}", "A".repeat(10_000)),
        ),
    ] {
        cases.push(
            unsigned(label)
                .header("webhook-id", "msg_1")
                .header("webhook-timestamp", &ts)
                .header("webhook-signature", &value)
                .expect(401),
        );
    }
    for (label, value) in [
        ("horodatage texte", "maintenant"),
        ("horodatage négatif", "-1"),
        ("horodatage énorme", "99999999999999999999999"),
    ] {
        cases.push(
            unsigned(label)
                .header("webhook-id", "msg_1")
                .header("webhook-timestamp", value)
                .header("webhook-signature", &good)
                .expect(401),
        );
    }
    for m in ["GET", "PATCH", "DELETE"] {
        cases.push(case(format!("éditeur : {m}"), m, PATH).expect(405));
    }
    cases
}

#[tokio::test]
async fn hostile_corpus_gets_4xx_problems_and_changes_nothing() {
    let t = TestApp::spawn().await;
    // A: a complete draft, not deposited. B: deposited, convention generated.
    let mut draft_a = full_dossier();
    draft_a["approbation"] = json!(false);
    let (a_id, a_jeton) = t.create_draft(&draft_a).await;
    let (b_id, b_jeton) = t.create_draft(&json!({})).await;
    let r = t.deposit_with(&b_id, &b_jeton, &full_dossier()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = t.stream_event().await;
    t.run_generate(&ev).await;
    assert!(t.stored(&b_id).await.unwrap().convention.is_some());
    let a = Dossier {
        id: a_id,
        jeton: a_jeton,
    };
    let b = Dossier {
        id: b_id,
        jeton: b_jeton,
    };

    let not_found = t
        .get(&format!("/api/dossiers/{}", "0".repeat(32)), None)
        .await
        .body;
    let cases = corpus(&t.app, &a, &b);
    assert!(cases.len() >= 300, "corpus of {} requests", cases.len());
    let before = storage(&t).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let app = owned(&t.app);
    for c in &cases {
        let r = send_caught(&app, c)
            .await
            .unwrap_or_else(|panic| panic!("{}: the handler panicked: {panic}", c.label));
        assert_problem(&c.label, &r);
        if let Some(s) = c.status {
            assert_eq!(r.status, s, "{}: {}", c.label, r.body);
        }
        if let Some(champ) = &c.champ {
            assert!(
                r.error_on(champ).is_some(),
                "{}: {champ} not named in {}",
                c.label,
                r.body
            );
        }
        if r.status == 404 && c.path.starts_with("/api/dossiers/") {
            assert_eq!(
                r.body, not_found,
                "{}: a 404 that says more than « introuvable »",
                c.label
            );
        }
        *by_status.entry(r.status).or_default() += 1;
    }
    let after = storage(&t).await;
    assert_eq!(before.0, after.0, "table changed");
    assert_eq!(before.1, after.1, "bucket changed");
    assert_eq!(before.2, after.2, "emails sent");
    eprintln!(
        "corpus hostile : {} requêtes, statuts {by_status:?}",
        cases.len()
    );

    // The dossiers still open with their own jetons, and A still deposits.
    let r = t
        .post_json(
            &format!("/api/dossiers/{}/depot", a.id),
            &json!({"approbation": true}),
            Some(&a.jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Free text of the reference routes (search, path parameters) in every script, with controls
/// and odd byte lengths: an answer (200, 400 or 404), never a panic — except the known ones,
/// which must not panic (KNOWN_PANICS lists any that still do).
#[tokio::test]
async fn reference_routes_take_any_text() {
    let t = TestApp::spawn().await;
    let app = owned(&t.app);
    let texts = [
        "%E2%82%ACab", // « €ab »
        "%E2%82%AC",
        "%C3%A9t%C3%A9",
        "%F0%9F%98%80ab",
        "%F0%9F%98%80%F0%9F%98%80",
        "2%C3%A9abc",
        "%D8%B9%D8%B1%D8%A8",
        "%E4%B8%AD%E6%96%87%E5%AD%97",
        "%00",
        "%0D%0A",
        "%E2%80%AE",
        "2A004",
        "2a",
        "2",
        "saint-%C3%A9tienne",
        "%C2%A0baulon",
        "l%E2%80%99hermitage",
        "%25",
        "%2A",
        "%5C",
    ];
    let mut panics = Vec::new();
    for q in texts {
        for path in [
            format!("/api/communes?q={q}"),
            format!("/api/communes/{q}/ecoles"),
            format!("/api/ecoles/{q}"),
            format!("/api/collectivites/{q}"),
            format!("/api/conventions/verification/{q}"),
        ] {
            let c = case(format!("GET {path}"), "GET", path);
            match send_caught(&app, &c).await {
                Ok(r) => assert!(
                    [200, 400, 404].contains(&r.status),
                    "{}: {} {}",
                    c.label,
                    r.status,
                    r.body
                ),
                Err(message) => panics.push((c.label, message)),
            }
        }
    }
    for (label, message) in &panics {
        assert!(
            KNOWN_PANICS
                .iter()
                .any(|(l, m)| l == label && message.contains(m)),
            "{label}: the handler panicked: {message}"
        );
    }
    for (label, _) in KNOWN_PANICS {
        assert!(
            panics.iter().any(|(l, _)| l == label),
            "{label} no longer panics: remove it from KNOWN_PANICS"
        );
    }
}

/// A company registry that answers with a hostile name and address: an outside source whose
/// text reaches the subject line, the email body and the PDF.
struct HostileRegistry;

pub const HOSTILE_NAME: &str =
    "COMMUNE <script>alert(1)</script> & « Ô'Brien »\r\nBcc: pirate@exemple.fr\u{2028}X-Pirate: 1";

#[async_trait::async_trait]
impl CompanyRegistry for HostileRegistry {
    async fn lookup(&self, _siret: &Siret) -> Result<Option<RegistryEntry>, RegistryError> {
        Ok(Some(RegistryEntry {
            nom: HOSTILE_NAME.into(),
            adresse: Some("1 rue <b>du</b> (Parenthèse) \\ 35580 BAULON\r\nBcc: x@y.fr".into()),
            collectivite_territoriale: true,
            nature_juridique: None,
            siege_code_insee: None,
        }))
    }
}

/// Markup, and template syntax that must stay data.
const PRENOM: &str = "<script>alert(\"prénom\")</script>{{ 7*7 }}{% raw %}";

#[tokio::test]
async fn markup_and_line_breaks_in_names_stay_text_in_emails_pdf_and_views() {
    let mut t = TestApp::spawn().await;
    t.app.registry = Arc::new(HostileRegistry);
    let (id, jeton) = t.create_draft(&json!({})).await;
    let mut body = full_dossier();
    body["signataire"]["prenom"] = json!(PRENOM);
    body["signataire"]["nom"] = json!("Martin) Tj ET BT /F1 99 Tf (pirate \\");
    body["signataire"]["qualite"] = json!("Maire\"><svg onload=alert(1)>");
    body["signataire"]["email"] = json!("o'brien+<x>@exemple.fr".replace("<x>", "x"));
    body["referent"]["prenom_nom"] = json!("<img src=x onerror=alert(1)>");
    body["referent"]["email"] = json!("referent@exemple.fr");
    let r = t.deposit_with(&id, &jeton, &body).await;
    assert_eq!(r.status, 200, "markup is a legal name: {}", r.body);
    assert!(r.header("content-type").starts_with("application/json"));
    assert_eq!(r.json()["signataire"]["prenom"], PRENOM);

    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());

    // Email: one message, to the signatory and the référent only; every header one line.
    let sent = t.sent_emails().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = &sent[0];
    let dest = m["destinations"].to_string();
    assert!(!dest.contains("pirate"), "{dest}");
    let subject = m["subject"].as_str().unwrap();
    assert!(!subject.contains(['\r', '\n', '\u{2028}']), "{subject:?}");
    let record = t.stored(&id).await.unwrap();
    let email = conventions_ent::jobs::acknowledge::build_email(&t.app, &record).unwrap();
    for h in email
        .to
        .iter()
        .chain(&email.cc)
        .chain([&email.subject, &email.reply_to, &email.from])
    {
        assert!(!h.contains(['\r', '\n']), "header value {h:?}");
    }
    assert_eq!(email.to, ["o'brien+x@exemple.fr"]);
    assert!(
        email.cc.is_empty(),
        "the référent is told on acceptance only: {:?}",
        email.cc
    );
    // HTML part: markup escaped, never live; template syntax in data stays data.
    for live in ["<script>", "<svg", "<img", "onerror=alert(1)>"] {
        assert!(!email.html.contains(live), "{live} live in the HTML email");
    }
    assert!(email.html.contains("&lt;script&gt;"), "{}", email.html);
    assert!(
        email.html.contains("{{ 7*7 }}{% raw %}"),
        "template syntax evaluated"
    );
    assert!(
        email.text.contains("{{ 7*7 }}{% raw %}"),
        "template syntax evaluated"
    );
    assert!(email.text.contains(PRENOM));

    // PDF: the names are printed as text; the PDF string syntax is not broken by ( ) \.
    let key = &record.convention.as_ref().unwrap().cle;
    let pdf = t.app.documents.get(key).await.unwrap().unwrap();
    let text = pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for shown in [
        "<script>alert(\"prénom\")</script>",
        "Martin) Tj ET BT /F1 99 Tf (pirate \\",
        "<img src=x onerror=alert(1)>",
    ] {
        let shown = shown.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains(&shown),
            "{shown:?} not printed as text in:\n{text}"
        );
    }
    // The registry's name (line break folded) is printed as text too.
    assert!(
        text.contains("COMMUNE <script>alert(1)</script>"),
        "registry name not printed as text:\n{text}"
    );

    // The dossier view is JSON (not HTML), and not sniffable as HTML.
    let r = t.get(&format!("/api/dossiers/{id}"), Some(&jeton)).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("application/json"));
    // An HTML view of the dossier, when the build has one, escapes the names.
    let r = t
        .get(&format!("/api/dossiers/{id}/apercu"), Some(&jeton))
        .await;
    if r.status == 200 && r.header("content-type").starts_with("text/html") {
        for live in ["<script>alert", "<svg onload", "<img src=x"] {
            assert!(!r.body.contains(live), "{live} live in the HTML view");
        }
    }
}

fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let q: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", q.join("&"))
}

#[tokio::test]
async fn download_route_links_resist_tampering_expiry_and_other_keys() {
    let t = TestApp::spawn().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (id, jeton) = t.create_draft(&json!({})).await;
        let r = t.deposit_with(&id, &jeton, &full_dossier()).await;
        assert_eq!(r.status, 200);
        ids.push((id, jeton));
    }
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());

    // The same conventions on s3s-fs (no SSE there: copied plainly), served by an App whose
    // document store is s3s-fs.
    let s3s = s3s_client().await;
    let bucket = format!("liens-{}", suffix());
    s3s.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut pdfs = HashMap::new();
    for (id, _) in &ids {
        let key = t.stored(id).await.unwrap().convention.unwrap().cle;
        let pdf = t.app.documents.get(&key).await.unwrap().unwrap();
        s3s.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(pdf.clone().into())
            .send()
            .await
            .unwrap();
        pdfs.insert(id.clone(), (key, pdf));
    }
    let mut config = t.app.config.clone();
    config.presign_ttl_seconds = 2;
    let app = App {
        config,
        dossiers: t.app.dossiers.clone(),
        counters: t.app.counters.clone(),
        exports: t.app.exports.clone(),
        documents: Arc::new(S3Documents::new(s3s.clone(), &bucket)),
        mailer: t.app.mailer.clone(),
        reference: t.app.reference.clone(),
        registry: t.app.registry.clone(),
        seal: t.app.seal.clone(),
    };
    let (id0, jeton0) = &ids[0];
    let (id1, _) = &ids[1];
    let download = |id: &str, jeton: &str| {
        case(
            "téléchargement",
            "GET",
            format!("/api/dossiers/{id}/convention"),
        )
        .bearer(jeton)
    };
    let r = send(&app, &download(id0, jeton0)).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("referrer-policy"), "no-referrer");
    let url = r.header("location").to_string();
    assert!(
        url.contains("X-Amz-Expires=2&") || url.ends_with("X-Amz-Expires=2"),
        "{url}"
    );
    // The link jeton of the email opens the same route.
    let link0 = link_jeton(
        app.config.link_secret.as_bytes(),
        &DossierId::parse(id0).unwrap(),
        0,
    );
    let r = send(
        &app,
        &case(
            "lien de l'email",
            "GET",
            format!("/api/dossiers/{id0}/convention?jeton={link0}"),
        ),
    )
    .await;
    assert_eq!(r.status, 302);

    let (status, headers, body) = http_get(url.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body, pdfs[id0].1);
    assert!(headers
        .get("content-disposition")
        .is_some_and(|d| d.contains("attachment")));

    let sig = url.split("X-Amz-Signature=").nth(1).unwrap()[..64].to_string();
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == 'a' {
                    'b'
                } else {
                    'a'
                }
            } else {
                c
            }
        })
        .collect();
    let key1 = &pdfs[id1].0;
    let tampered = [
        ("signature modifiée", url.replace(&sig, &flipped)),
        (
            "signature absente",
            with_query_param(&url, "X-Amz-Signature", ""),
        ),
        (
            "durée allongée",
            with_query_param(&url, "X-Amz-Expires", "604800"),
        ),
        (
            "date déplacée",
            with_query_param(&url, "X-Amz-Date", "20991231T000000Z"),
        ),
        (
            "nom de fichier changé",
            with_query_param(&url, "response-content-disposition", "inline"),
        ),
        (
            "type changé",
            with_query_param(&url, "response-content-type", "text%2Fhtml"),
        ),
        ("autre clé", url.replace(&pdfs[id0].0, key1)),
        (
            "autre seau",
            url.replace(&format!("/{bucket}/"), "/autre-seau/"),
        ),
        ("sans signature", url.split('?').next().unwrap().to_string()),
    ];
    for (label, u) in tampered {
        let (status, _, body) = http_get(u.clone()).await;
        assert!(
            (400..500).contains(&status),
            "{label}: {u} → {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Without the right jeton there is no link at all.
    let r = send(&app, &download(id1, jeton0)).await;
    assert_eq!(r.status, 404);
    // Expired.
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    assert_eq!(http_get(url).await.0, 403, "expired link still served");
}

#[tokio::test]
async fn instructeur_routes_give_nothing_without_valid_claims() {
    use conventions_ent::http::instructeur::auth::sign_hs256;
    let t = TestApp::spawn().await;
    // A deposited dossier: what the académie's routes would show.
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let now = chrono::Utc::now().timestamp();
    let signed =
        |claims: Value, key: &str| format!("Bearer {}", sign_hs256(&claims, key.as_bytes()));
    let dev_key = t.app.config.dev_jwt_secret.clone().unwrap_or_default();
    let forged = [
        ("sans jeton".to_string(), None),
        ("jeton bidon".into(), Some("Bearer x".to_string())),
        ("Basic".into(), Some("Basic aW5zdHJ1Y3RldXI6eA==".into())),
        (
            "JWT alg none, groupe instructeurs".into(),
            Some("Bearer eyJhbGciOiJub25lIn0.eyJjb2duaXRvOmdyb3VwcyI6WyJpbnN0cnVjdGV1cnMiXSwiZXhwIjo5OTk5OTk5OTk5fQ.".into()),
        ),
        (
            "signé d’une autre clé".into(),
            Some(signed(json!({"sub": "x", "token_use": "id", "cognito:groups": ["instructeurs"], "exp": now + 3600}), "autre-cle")),
        ),
        (
            "expiré".into(),
            Some(signed(json!({"sub": "x", "token_use": "id", "cognito:groups": ["instructeurs"], "exp": now - 10}), &dev_key)),
        ),
        (
            "sans le groupe instructeurs".into(),
            Some(signed(json!({"sub": "x", "token_use": "id", "cognito:groups": ["collectivites"], "exp": now + 3600}), &dev_key)),
        ),
        (
            "groupe en chaîne voisine".into(),
            Some(signed(json!({"sub": "x", "token_use": "id", "cognito:groups": "instructeurs-stagiaires", "exp": now + 3600}), &dev_key)),
        ),
    ];
    let paths = [
        ("GET", "/api/instructeur/dossiers".to_string()),
        ("GET", format!("/api/instructeur/dossiers/{id}")),
        ("POST", format!("/api/instructeur/dossiers/{id}/decision")),
        ("POST", format!("/api/instructeur/dossiers/{id}/messages")),
        ("POST", format!("/api/instructeur/dossiers/{id}/webhook")),
        ("GET", "/api/instructeur/export/ecoles.csv".into()),
        ("GET", "/api/instructeur/export/ecoles.json".into()),
        (
            "GET",
            "/api/instructeur/exports/0123456789abcdef0123456789abcdef".into(),
        ),
    ];
    let before = storage(&t).await;
    for (method, path) in &paths {
        for (label, auth) in &forged {
            let mut c = case(format!("{method} {path} {label}"), method, path.clone());
            if let Some(a) = auth {
                c = c.header("authorization", a);
            }
            if *method == "POST" {
                c = c.json(r#"{"statut": "accepte", "texte": "x", "motif": "x"}"#);
            }
            let r = send(&t.app, &c).await;
            assert_problem(&c.label, &r);
            assert!([401, 403].contains(&r.status), "{}: {}", c.label, r.status);
            assert!(
                !r.body.contains("Martin") && !r.body.contains("mairie@"),
                "{}: {}",
                c.label,
                r.body
            );
        }
    }
    assert_eq!(before, storage(&t).await, "an unauthenticated call wrote");
}
