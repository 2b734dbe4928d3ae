//! The académie's side: access control, the list an instructeur works through in September,
//! decisions with their emails and audit trail, the messagerie, the export for the ENT editor.

use crate::helpers::*;
use conventions_ent::domain::siret::Siret;
use conventions_ent::http::instructeur::auth::sign_hs256;
use serde_json::{json, Value};

fn token(groups: &[&str], exp_in: i64, secret: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    sign_hs256(
        &json!({"sub": "i1", "email": "instructrice@ac-test.fr", "token_use": "id", "cognito:groups": groups, "exp": now + exp_in}),
        secret.as_bytes(),
    )
}

fn good() -> String {
    token(&["instructeurs"], 3600, DEV_JWT_SECRET)
}

impl TestApp {
    /// The dossier's row in the instructeur's list (first page, the académie's view).
    pub(crate) async fn list_row(&self, id: &str) -> Value {
        let list = self
            .as_instructeur("GET", "/api/instructeur/dossiers", None)
            .await
            .json();
        list["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in the list"))
            .clone()
    }

    pub(crate) async fn as_instructeur(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        self.with_token(&good(), method, path, body).await
    }

    /// An export as the page gets it: the request answers 202 (the job asked for), export-schools
    /// runs on the stream's records, the job's status says it is written and gives the file's
    /// presigned link, downloaded (its bytes as written). Any other first answer (a refusal)
    /// is returned as is.
    pub(crate) async fn export_with(&self, token: &str, path: &str) -> TestResponse {
        let first = self.with_token(token, "GET", path, None).await;
        if first.status != 202 {
            return first;
        }
        let link = first.header("location").to_string();
        assert_eq!(first.json()["statut"], link.as_str());
        self.run_exports().await;
        let status = self.with_token(token, "GET", &link, None).await;
        assert_eq!(status.status, 200, "{}", status.body);
        let status = status.json();
        assert_eq!(status["etat"], "pret", "{status}");
        let url = status["telechargement"].as_str().unwrap().to_string();
        let (code, mut headers, bytes) = http_get(url.clone()).await;
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&bytes));
        // The name and type S3 gives the download are in the presigned link (moto does not
        // apply them; S3 and s3s-fs do).
        let disposition = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("response-content-disposition="))
            .map(|v| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        headers.insert("content-disposition".into(), disposition);
        TestResponse {
            status: 200,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    /// A dossier numbered `numero` created from `draft` and deposited at `when` through the
    /// store (the HTTP path is tested elsewhere), its deposit changed by `adjust` first (the
    /// collectivité named as the registry would); its id.
    pub(crate) async fn seed_deposit(
        &self,
        numero: u64,
        draft: &conventions_ent::domain::draft::Draft,
        when: &str,
        adjust: impl FnOnce(&mut conventions_ent::domain::deposit::Depot),
    ) -> String {
        use conventions_ent::domain::deposit::{validate, SigningContext};
        use conventions_ent::domain::{life::Actor, steps, time::Now};
        let created = Now::at("2026-09-01T08:00:00.000Z".parse().unwrap());
        let mut rec = steps::create(
            conventions_ent::domain::ids::DossierId::generate(),
            numero,
            "0".repeat(64),
            draft.clone(),
            &created,
        );
        rec.expire_le = None;
        self.app.dossiers.create(&rec).await.unwrap();
        let ctx = SigningContext {
            horodatage: "x".into(),
            ip: "x".into(),
            user_agent: "x".into(),
            version_texte: "2026-11".into(),
            confirmation: Some(conventions_ent::domain::signataire::Confirmation {
                email: "mairie@exemple.fr".into(),
                le: "2026-09-01T08:00:00.000Z".into(),
            }),
        };
        let mut depot = validate(draft, self.app.directory().as_ref(), ctx).unwrap();
        depot.collectivite.nom = Some("COMMUNE DE BAULON".into());
        adjust(&mut depot);
        let at = Now::at(when.parse().unwrap());
        let change = steps::deposit(&rec, draft.clone(), depot, &Actor::Collectivite, &at).unwrap();
        self.app.dossiers.deposit(&rec, &change).await.unwrap();
        rec.id.to_string()
    }

    /// [`TestApp::export_with`] for the académie-wide instructeur.
    pub(crate) async fn export(&self, path: &str) -> TestResponse {
        self.export_with(&good(), path).await
    }

    /// An instructeur route called with this token and a JSON body.
    pub(crate) async fn with_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = format!("Bearer {token}");
        let b = body.map(|b| b.to_string());
        self.call(
            method,
            path,
            b.as_deref(),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        )
        .await
    }
}

/// A valid SIRET for the commune with this INSEE code (its SIREN from the official list).
fn siret_of(code_insee: &str) -> String {
    let c = shipped_collectivites()
        .communes
        .iter()
        .find(|c| c.code_insee == code_insee)
        .unwrap();
    (10..200)
        .map(|nic| format!("{}{nic:05}", c.siren))
        .find(|s| Siret::parse(s).is_ok())
        .unwrap()
}

async fn deposit(t: &TestApp, siret: &str, uais: &[&str]) -> (String, String) {
    let mut body = full_dossier();
    body["collectivite"]["siret"] = json!(siret);
    body["ecoles"] = json!(uais.iter().map(|u| json!({"uai": u})).collect::<Vec<_>>());
    t.deposit_new(&body).await
}

#[tokio::test]
async fn only_instructeurs_get_in() {
    let t = TestApp::spawn().await;
    let list = "/api/instructeur/dossiers";
    let r = t.call("GET", list, None, &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("content-type"),
        "application/problem+json; charset=utf-8"
    );
    assert_eq!(r.header("www-authenticate"), "Bearer");
    for (tok, status) in [
        (token(&["collectivites"], 3600, DEV_JWT_SECRET), 403),
        (token(&[], 3600, DEV_JWT_SECRET), 403),
        (token(&["instructeurs"], -10, DEV_JWT_SECRET), 401),
        (token(&["instructeurs"], 3600, "autre-cle"), 401),
        ("pas-un-jwt".to_string(), 401),
        (good(), 200),
    ] {
        let auth = format!("Bearer {tok}");
        let r = t.call("GET", list, None, &[("authorization", &auth)]).await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    // On AWS the authorizer passes the claims in the request context.
    for (groups, status) in [("[instructeurs]", 200), ("[collectivites]", 403)] {
        let mut event: Value = serde_json::from_str(&api_event("GET", list, None, &[])).unwrap();
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": {"sub": "x", "email": "a@ac-test.fr", "token_use": "id", "cognito:groups": groups}, "scopes": null}});
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        let mut app_without_dev_key = TestApp::spawn().await;
        app_without_dev_key.app.config.dev_jwt_secret = None;
        let resp = conventions_ent::http::instructeur::handle(&app_without_dev_key.app, req)
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{groups}");
    }
}

#[tokio::test]
async fn list_filters_and_pages() {
    let t = TestApp::spawn().await;
    let (baulon, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    let (cardroc, _) = deposit(&t, &siret_of("35050"), &[UAI_CARDROC]).await;
    let (chavagne, _) = deposit(&t, &siret_of("35076"), &["0350192U"]).await;
    t.create_draft(&json!({})).await; // a draft is not listed

    let ids = |v: &Value| -> Vec<String> {
        v["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = t
        .as_instructeur("GET", "/api/instructeur/dossiers", None)
        .await
        .json();
    assert_eq!(
        ids(&all),
        [chavagne.clone(), cardroc.clone(), baulon.clone()],
        "newest deposit first"
    );
    assert_eq!(
        all["dossiers"][2]["collectivite"]["nom"],
        "COMMUNE DE BAULON"
    );
    assert_eq!(all["curseur_suivant"], json!(null));

    let by_commune = t
        .as_instructeur("GET", "/api/instructeur/dossiers?commune=35050", None)
        .await
        .json();
    assert_eq!(ids(&by_commune), std::slice::from_ref(&cardroc));
    let by_text = t
        .as_instructeur("GET", "/api/instructeur/dossiers?q=baulon", None)
        .await
        .json();
    assert_eq!(ids(&by_text), std::slice::from_ref(&baulon));
    let by_dep = t
        .as_instructeur("GET", "/api/instructeur/dossiers?departement=35", None)
        .await
        .json();
    assert_eq!(ids(&by_dep).len(), 3);
    assert_eq!(
        ids(&t
            .as_instructeur("GET", "/api/instructeur/dossiers?departement=54", None)
            .await
            .json())
        .len(),
        0
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        ids(&t
            .as_instructeur(
                "GET",
                &format!("/api/instructeur/dossiers?du={today}&au={today}"),
                None
            )
            .await
            .json())
        .len(),
        3
    );
    assert_eq!(
        ids(&t
            .as_instructeur("GET", "/api/instructeur/dossiers?au=2020-01-01", None)
            .await
            .json())
        .len(),
        0
    );

    t.as_instructeur(
        "POST",
        &format!("/api/instructeur/dossiers/{cardroc}/decision"),
        Some(&json!({"action": "passer_en_instruction"})),
    )
    .await;
    let by_statut = t
        .as_instructeur(
            "GET",
            "/api/instructeur/dossiers?statut=en_instruction",
            None,
        )
        .await
        .json();
    assert_eq!(ids(&by_statut), std::slice::from_ref(&cardroc));

    // Pages of 2, then the rest, nothing twice.
    let p1 = t
        .as_instructeur("GET", "/api/instructeur/dossiers?limite=2", None)
        .await
        .json();
    assert_eq!(ids(&p1).len(), 2);
    let cursor = p1["curseur_suivant"]
        .as_str()
        .expect("a next page")
        .to_string();
    let p2 = t
        .as_instructeur(
            "GET",
            &format!("/api/instructeur/dossiers?limite=2&curseur={cursor}"),
            None,
        )
        .await
        .json();
    assert_eq!(ids(&p2), [baulon]);
    // The cursor continues these filters only: with others, or edited, it is refused (400),
    // never another list's page.
    for forged in [
        format!("/api/instructeur/dossiers?limite=2&statut=refuse&curseur={cursor}"),
        format!("/api/instructeur/dossiers?limite=3&curseur={cursor}x"),
        format!(
            "/api/instructeur/dossiers?limite=2&curseur={}",
            cursor.split('.').next().unwrap()
        ),
    ] {
        let r = t.as_instructeur("GET", &forged, None).await;
        assert_eq!(r.status, 400, "{forged}: {}", r.body);
        assert!(r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("première page"));
    }
    // Every JSON and problem answer says its type is not to be sniffed.
    assert_eq!(p2_headers(&t).await, "nosniff");
    let twice = t
        .as_instructeur(
            "GET",
            "/api/instructeur/dossiers?statut=accepte,accepte",
            None,
        )
        .await;
    assert_eq!(twice.status, 422, "{}", twice.body);
    assert_eq!(twice.header("x-content-type-options"), "nosniff");
    // Every parameter is bounded: said in French, naming it.
    let long_q = "a".repeat(101);
    for (query, champ) in [
        ("departement=ille-et-vilaine".to_string(), "departement"),
        ("commune=35".to_string(), "commune"),
        (format!("q={long_q}"), "q"),
        (format!("curseur={}", "x".repeat(2001)), "curseur"),
    ] {
        let r = t
            .as_instructeur("GET", &format!("/api/instructeur/dossiers?{query}"), None)
            .await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert!(r.error_on(champ).is_some(), "{query}: {}", r.body);
    }
    let reversed = t
        .as_instructeur(
            "GET",
            "/api/instructeur/dossiers?du=2026-10-01&au=2026-09-01",
            None,
        )
        .await;
    assert_eq!(reversed.status, 422, "{}", reversed.body);
    assert!(reversed.error_on("au").unwrap().contains("précède"));

    let bad = t
        .as_instructeur(
            "GET",
            "/api/instructeur/dossiers?statut=valide&du=hier",
            None,
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error_on("statut").is_some() && bad.error_on("du").is_some());
    assert_eq!(
        t.as_instructeur("GET", "/api/instructeur/dossiers?curseur=xyz", None)
            .await
            .status,
        400
    );
}

/// The `X-Content-Type-Options` of a JSON answer of the list.
async fn p2_headers(t: &TestApp) -> String {
    t.as_instructeur("GET", "/api/instructeur/dossiers?limite=1", None)
        .await
        .header("x-content-type-options")
        .to_string()
}

#[tokio::test]
async fn decisions_follow_the_rules_and_are_told_and_traced() {
    let t = TestApp::spawn().await;
    let (id, jeton) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    let decide = |action: &str, motif: Option<&str>| {
        let mut b = json!({"action": action});
        if let Some(m) = motif {
            b["motif"] = json!(m);
        }
        b
    };
    let path = format!("/api/instructeur/dossiers/{id}/decision");
    let r = t
        .as_instructeur("POST", &path, Some(&decide("accepter", None)))
        .await;
    assert_eq!(r.status, 409, "not from en_construction");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("en_construction"));
    let r = t
        .as_instructeur("POST", &path, Some(&decide("supprimer", None)))
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .as_instructeur("POST", &path, Some(&decide("passer_en_instruction", None)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["statut"], "en_instruction");
    let r = t
        .as_instructeur("POST", &path, Some(&decide("refuser", None)))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_on("motif").unwrap(), "Ce champ est obligatoire.");
    let r = t
        .as_instructeur(
            "POST",
            &path,
            Some(&decide(
                "refuser",
                Some("L’école 0350122T relève d’une autre collectivité."),
            )),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["email_envoye"], true);
    assert_eq!(
        t.as_instructeur("POST", &path, Some(&decide("accepter", None)))
            .await
            .status,
        409
    );
    assert_eq!(
        t.as_instructeur(
            "POST",
            &path,
            Some(&decide("repasser_en_instruction", None))
        )
        .await
        .status,
        200
    );
    assert_eq!(
        t.as_instructeur("POST", &path, Some(&decide("accepter", None)))
            .await
            .json()["statut"],
        "accepte"
    );

    // The applicant sees the statut; the audit trail says who did what.
    assert_eq!(
        t.get(&format!("/api/dossiers/{id}"), Some(&jeton))
            .await
            .json()["statut"],
        "accepte"
    );
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    let trail: Vec<(String, String)> = detail["historique"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["par"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        trail[0],
        (
            "collectivité".into(),
            "dossier déposé, convention signée".into()
        )
    );
    assert_eq!(
        trail[1],
        (
            "instructrice@ac-test.fr".into(),
            "dossier passé en instruction".into()
        )
    );
    assert_eq!(trail[2].1, "dossier refusé");
    assert_eq!(
        detail["historique"][2]["detail"],
        "L’école 0350122T relève d’une autre collectivité."
    );
    assert_eq!(trail.len(), 5);
    assert_eq!(detail["signature"]["ip"], "203.0.113.7");

    let mut emails = t.sent_emails().await;
    // On acceptance, the référent is told once (the convention and the role).
    let to_referent: Vec<Value> = emails
        .iter()
        .filter(|e| {
            e["destinations"]
                .to_string()
                .contains("jean.garcia@exemple.fr")
        })
        .cloned()
        .collect();
    assert_eq!(to_referent.len(), 1, "{to_referent:?}");
    assert!(to_referent[0]["subject"]
        .as_str()
        .unwrap()
        .contains("vous êtes le référent"));
    emails.retain(|e| {
        !e["destinations"]
            .to_string()
            .contains("jean.garcia@exemple.fr")
    });
    // One email per decision; the acceptance's goes with the académie's countersigned
    // convention, once generated (tests/api/countersignature.rs), not at decision time.
    assert_eq!(emails.len(), 3, "one email per decision but the acceptance");
    assert!(!emails
        .iter()
        .any(|e| e["subject"].as_str().unwrap().contains("accepté")));
    let refus = emails
        .iter()
        .find(|e| e["subject"].as_str().unwrap().contains("refusé"))
        .unwrap();
    assert!(refus["body"]
        .as_str()
        .unwrap()
        .contains("relève d’une autre collectivité"));
    assert!(refus.to_string().contains("mairie@exemple.fr"));
    assert_eq!(
        t.as_instructeur(
            "GET",
            &format!("/api/instructeur/dossiers/{}", "0".repeat(32)),
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn messagerie_both_ways_with_emails() {
    let t = TestApp::spawn().await;
    let (draft_id, draft_jeton) = t.create_draft(&full_dossier()).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{draft_id}/messages"),
            &json!({"texte": "Bonjour"}),
            Some(&draft_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "the messagerie opens at deposit");

    let (id, jeton) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/messages"),
            Some(&json!({"texte": "Pouvez-vous confirmer l’école ?"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/messages"),
            &json!({"texte": "Oui, c’est bien elle.\nCordialement"}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/messages"),
            &json!({"texte": "   "}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.error_on("texte").is_some());
    assert_eq!(
        t.post_json(
            &format!("/api/dossiers/{id}/messages"),
            &json!({"texte": "x"}),
            Some("faux")
        )
        .await
        .status,
        404
    );

    let thread = t
        .get(&format!("/api/dossiers/{id}/messages"), Some(&jeton))
        .await
        .json();
    let authors: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["auteur"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["instructeur", "collectivite"]);
    assert_eq!(
        thread["messages"][1]["texte"],
        "Oui, c’est bien elle.\nCordialement"
    );

    let emails = t.sent_emails().await;
    let to_collectivite = emails
        .iter()
        .find(|e| {
            e["subject"]
                .as_str()
                .unwrap()
                .contains("message de l’académie")
        })
        .unwrap();
    assert!(to_collectivite.to_string().contains("mairie@exemple.fr"));
    assert!(to_collectivite["body"]
        .as_str()
        .unwrap()
        .contains("Pouvez-vous confirmer"));
    assert!(
        to_collectivite["body"]
            .as_str()
            .unwrap()
            .contains(&format!("/dossiers/{id}?jeton=")),
        "a link that opens the dossier"
    );
    let to_academie = emails
        .iter()
        .find(|e| {
            e["subject"]
                .as_str()
                .unwrap()
                .contains("message de la collectivité")
        })
        .unwrap();
    assert!(to_academie.to_string().contains("contact-ent@ac-test.fr"));
}

#[tokio::test]
async fn drafts_expire_or_are_deleted_deposits_are_kept() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    let expiry = t
        .stored(&id)
        .await
        .unwrap()
        .expire_le
        .expect("drafts carry a TTL");
    let in_90_days = chrono::Utc::now().timestamp() + 90 * 86_400;
    assert!((in_90_days - expiry).abs() < 60);
    let r = t.delete(&format!("/api/dossiers/{id}"), &jeton).await;
    assert_eq!(r.status, 204);
    assert!(t.stored(&id).await.is_none());
    assert_eq!(
        t.get(&format!("/api/dossiers/{id}"), Some(&jeton))
            .await
            .status,
        404
    );

    let (id, jeton) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    assert_eq!(
        t.stored(&id).await.unwrap().expire_le,
        None,
        "a deposited dossier does not expire"
    );
    let r = t.delete(&format!("/api/dossiers/{id}"), &jeton).await;
    assert_eq!(r.status, 409);
    assert!(t.stored(&id).await.is_some());
}

/// A draft is the applicant's until deposited: no decision moves it (once, « renvoyer à la
/// collectivité » on a draft cleared its expiry and let it be accepted unsigned).
#[tokio::test]
async fn an_instructeur_cannot_move_or_write_on_a_draft() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    let before = t.stored(&id).await.unwrap();
    let path = format!("/api/instructeur/dossiers/{id}/decision");
    for action in [
        "repasser_en_construction",
        "passer_en_instruction",
        "accepter",
    ] {
        let r = t
            .as_instructeur(
                "POST",
                &path,
                Some(&json!({"action": action, "motif": "Pièce manquante."})),
            )
            .await;
        assert_eq!(r.status, 409, "{action}: {}", r.json());
        assert!(
            r.json()["detail"].as_str().unwrap().contains("brouillon"),
            "{action}: {}",
            r.json()
        );
    }
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/messages"),
            Some(&json!({"texte": "Bonjour"})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.json());
    assert_eq!(t.stored(&id).await.unwrap(), before, "nothing written");
    assert!(t.sent_emails().await.is_empty());
    // The applicant still owns it: it can still be completed and deposited.
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/depot"),
            &json!({"approbation": true}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json());
}

#[tokio::test]
async fn export_of_a_thousand_dossiers_for_the_ent_editor() {
    use conventions_ent::domain::draft::Draft;
    let t = TestApp::spawn().await;
    // 1,000 deposits through the store (the HTTP path is tested elsewhere), 32 at a time.
    let draft = Draft::from_json(&full_dossier()).unwrap();
    // Numbers first, one at a time: moto's UpdateItem ADD is not atomic under concurrency
    // (DynamoDB's is), and this test checks that every dossier is exported once by its number.
    let mut numeros = Vec::new();
    for _ in 0..1000 {
        numeros.push(t.app.dossiers.next_numero().await.unwrap());
    }
    let mut ids = Vec::new();
    for chunk in 0..(1000 / 40) {
        let futures = (0..40).map(|k| {
            let draft = draft.clone();
            let t = &t;
            let numeros = &numeros;
            async move {
                let when = format!(
                    "2026-09-{:02}T10:{:02}:{:02}.000Z",
                    1 + chunk % 28,
                    k,
                    chunk % 60
                );
                t.seed_deposit(numeros[chunk * 40 + k], &draft, &when, |_| {})
                    .await
            }
        });
        ids.extend(futures::future::join_all(futures).await);
    }
    assert_eq!(ids.len(), 1000);
    let started = std::time::Instant::now();
    // Deposited, not yet accepted: exported on request (the default is accepted ones only).
    let r = t
        .export("/api/instructeur/export/ecoles.csv?statut=en_construction")
        .await;
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-disposition")
        .contains("ecoles-conventionnees-"));
    // The file as written, BOM first so that a spreadsheet reads the accents as UTF-8.
    assert!(r.body.starts_with('\u{feff}'), "BOM for spreadsheets");
    assert!(
        r.header("content-type").starts_with("text/csv"),
        "{:?}",
        r.headers
    );
    let lines: Vec<&str> = r.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "uai;nom_ecole;commune;code_insee;siret_collectivite;nom_collectivite;numero_dossier;date_convention;statut;secteur;siren_collectivite;version_convention;date_acceptation;editeur");
    assert_eq!(lines.len(), 1 + 2000, "two schools per dossier");
    assert!(lines[1].starts_with("0350122T;Ecole primaire publique les Lucioles;Baulon;35016;21350016800025;COMMUNE DE BAULON;ENT-"));
    let numeros: std::collections::HashSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(';').nth(6).unwrap())
        .collect();
    assert_eq!(numeros.len(), 1000, "every dossier once");
    println!(
        "export CSV of 1,000 dossiers / 2,000 schools: {elapsed:?}, {} bytes",
        r.body.len()
    );

    let j = t
        .export("/api/instructeur/export/ecoles.json?depuis=2026-09-15&statut=en_construction")
        .await
        .json();
    let since = j.as_array().unwrap();
    assert!(!since.is_empty() && since.len() < 2000);
    assert!(
        since
            .iter()
            .all(|e| e["date_convention"].as_str().unwrap() >= "2026-09-15"),
        "since-date filter"
    );
    assert_eq!(since[0]["statut"], "en_construction");
    assert_eq!(
        since[0]["secteur"], "Public",
        "the directory says public or private"
    );
    assert_eq!(since[0]["siren_collectivite"], "213500168");
    assert_eq!(since[0]["version_convention"], "2026-11");
    assert_eq!(since[0]["date_acceptation"], "", "not accepted");
    assert_eq!(
        t.as_instructeur("GET", "/api/instructeur/export/ecoles.ods", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_export_opens_as_a_spreadsheet_with_the_same_rows_as_the_json() {
    let t = TestApp::spawn().await;
    let (a, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON, UAI_CARDROC]).await;
    let (b, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    for id in [&a, &b] {
        decide(&t, id.clone(), "passer_en_instruction").await;
        decide(&t, id.clone(), "accepter").await;
    }
    let json = t.export("/api/instructeur/export/ecoles.json").await.json();
    let r = t.export("/api/instructeur/export/ecoles.xlsx").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(r.header("content-disposition").contains(".xlsx"));
    let book = read_xlsx(&r.bytes).unwrap_or_else(|e| panic!("openpyxl: {e}"));
    let sheet = &book["feuilles"][0];
    assert_eq!(sheet["nom"], "Écoles conventionnées");
    let rows = sheet["lignes"].as_array().unwrap();
    let header: Vec<&str> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(header[..3], ["uai", "nom_ecole", "commune"]);
    assert_eq!(rows.len(), 1 + json.as_array().unwrap().len(), "{sheet}");
    for (row, item) in rows[1..].iter().zip(json.as_array().unwrap()) {
        for (k, v) in header.iter().zip(row.as_array().unwrap()) {
            let expected = item[*k].as_str().unwrap();
            // An empty cell reads as nothing.
            assert_eq!(v.as_str().unwrap_or(""), expected, "{k}");
        }
    }
    // UAIs and SIRETs stay text (no number, no formula); the header is frozen and filtered.
    assert_eq!(sheet["types"], json!(["s"]), "{sheet}");
    assert_eq!(rows[1][0], UAI_BAULON);
    assert_eq!(sheet["figee"], "A2");
    assert_eq!(sheet["filtre"], format!("A1:N{}", rows.len()));
}

/// A stand-in for the ENT editor: records each call and answers the given statuses in turn.
/// (headers, body) of each call.
pub(crate) type Calls =
    std::sync::Arc<std::sync::Mutex<Vec<(std::collections::HashMap<String, String>, String)>>>;

pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) calls: Calls,
}

pub(crate) fn receiver(statuses: Vec<u16>) -> Receiver {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let c = calls.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let k = stream.read(&mut chunk).unwrap();
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let head = text[..end].to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break (
                            head,
                            String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string(),
                        );
                    }
                }
            };
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            c.lock().unwrap().push((headers, body));
            let status = statuses.get(n).copied().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    Receiver { url, calls }
}

#[tokio::test]
async fn accepted_dossiers_reach_the_editor_signed_retried_and_replayable() {
    use conventions_ent::jobs::stream::process_selected;
    use conventions_ent::jobs::webhook::{deliver, scheduled, signature};
    let editor = receiver(vec![500, 200, 200]);
    let mut t = TestApp::spawn().await;
    t.app.config.webhook_url = Some(editor.url.clone());
    let (id, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON, UAI_CARDROC]).await;
    let path = format!("/api/instructeur/dossiers/{id}/decision");
    t.as_instructeur(
        "POST",
        &path,
        Some(&json!({"action": "passer_en_instruction"})),
    )
    .await;
    assert_eq!(
        t.as_instructeur("POST", &path, Some(&json!({"action": "accepter"})))
            .await
            .status,
        200
    );

    let event = t.stream_event().await;
    let step = |ev| process_selected(ev, scheduled, |d| deliver(&t.app, d));
    let first = step(&event).await;
    assert_eq!(
        first.batch_item_failures.len(),
        1,
        "the editor answered 500: the record is retried"
    );
    assert!(
        step(&event).await.batch_item_failures.is_empty(),
        "the retry is delivered"
    );
    assert!(
        step(&event).await.batch_item_failures.is_empty(),
        "a third delivery of the record sends nothing"
    );
    let later = t.stream_event().await;
    assert!(
        later.records.iter().all(|r| scheduled(r).is_none()),
        "recording attempts does not schedule again"
    );

    let calls = editor.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    for (headers, body) in &calls {
        // The editor's off-the-shelf library verifies it (Standard Webhooks).
        assert_eq!(
            editor_library_accepts(headers, body),
            Ok("vérifié : convention.acceptee".to_string())
        );
        let ts: i64 = headers["webhook-timestamp"].parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        // The older signature, for one release.
        assert_eq!(
            headers["x-conventions-signature"],
            signature(WEBHOOK_SECRET.as_bytes(), ts, body),
            "signed with the shared secret"
        );
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["type"], "convention.acceptee");
        assert_eq!(payload["data"]["ecoles"][1]["uai"], UAI_CARDROC);
        assert_eq!(payload["data"]["collectivite"]["siret"], SIRET_BAULON);
        assert_eq!(payload["data"]["collectivite"]["siren"], "213500168");
    }
    // Retries carry the same id: the editor deduplicates.
    assert_eq!(calls[0].0["webhook-id"], calls[1].0["webhook-id"]);
    // Replayed outside the tolerance window, or with another body: refused by the library.
    let (headers, body) = &calls[1];
    let mut stale = headers.clone();
    let old = chrono::Utc::now().timestamp() - 600;
    stale.insert("webhook-timestamp".into(), old.to_string());
    stale.insert(
        "webhook-signature".into(),
        conventions_ent::jobs::standard_webhooks::signature(
            &conventions_ent::jobs::standard_webhooks::key(WEBHOOK_SECRET),
            &headers["webhook-id"],
            old,
            body,
        ),
    );
    let refused = editor_library_accepts(&stale, body).unwrap_err();
    assert!(refused.contains("refusé"), "{refused}");
    assert!(editor_library_accepts(headers, &body.replace("0350", "0351")).is_err());
    let d = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    assert_eq!(d["webhook"]["etat"], "livre");
    let codes: Vec<u64> = d["webhook"]["tentatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["statut_http"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [500, 200], "every attempt recorded");

    // Replay on demand.
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/webhook"),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let replay = t.stream_event().await;
    assert!(step(&replay).await.batch_item_failures.is_empty());
    assert_eq!(editor.calls.lock().unwrap().len(), 3);

    // Only accepted dossiers go to the editor.
    let (other, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    assert_eq!(
        t.as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{other}/webhook"),
            None
        )
        .await
        .status,
        409
    );
}

/// The TTL removes a refused dossier at the end of its retention: its convention leaves S3
/// with it, every version. A deletion by a person, or a removal record for a dossier still
/// stored, erases nothing; a replay of the removal is harmless.
#[tokio::test]
async fn a_dossier_removed_by_its_retention_takes_its_convention_with_it() {
    let mut t = TestApp::spawn().await;
    t.app.config.dossier_retention_days = 30;
    t.enable_versioning().await;
    let (refused, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    let (kept, _) = deposit(&t, SIRET_BAULON, &[UAI_CARDROC]).await;
    assert!(t
        .run_generate(&t.stream_event().await)
        .await
        .batch_item_failures
        .is_empty());
    let key_of = |id: &str| format!("conventions/{id}/");
    let stored_under = |objects: &[String], id: &str| {
        objects
            .iter()
            .filter(|k| k.starts_with(&key_of(id)))
            .count()
    };
    let before = t.objects().await;
    assert_eq!(
        (
            stored_under(&before, &refused),
            stored_under(&before, &kept)
        ),
        (1, 1)
    );
    // Give the refused convention an older version and a delete marker, as a bucket that has
    // lived has: the erasure must leave none of them.
    let key = t.stored(&refused).await.unwrap().convention.unwrap().cle;
    t.s3.put_object()
        .bucket(t.bucket())
        .key(&key)
        .body(b"%PDF- version 2".to_vec().into())
        .send()
        .await
        .unwrap();
    t.s3.delete_object()
        .bucket(t.bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored_under(&t.objects().await, &refused),
        2,
        "two versions"
    );
    decide(&t, refused.clone(), "passer_en_instruction").await;
    decide(&t, refused.clone(), "refuser").await;
    assert!(t.stored(&refused).await.unwrap().expire_le.is_some());
    let kept_image = serde_dynamo::to_item(t.stored(&kept).await.unwrap()).unwrap();

    // What DynamoDB's TTL does once expire_le has passed (moto runs no TTL): the item goes,
    // and the stream carries a REMOVE with the old image.
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .delete_item()
        .table_name(&t.table)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(refused.clone()),
        )
        .send()
        .await
        .unwrap();
    let mut event = t.stream_event().await;
    assert!(event.records.iter().any(|r| r.event_name == "REMOVE"));
    // As moto delivers it, without the TTL's identity: a person's deletion, nothing erased.
    assert!(t.run_generate(&event).await.batch_item_failures.is_empty());
    assert_eq!(stored_under(&t.objects().await, &refused), 2);

    // With the identity AWS gives TTL removals.
    let ttl: aws_lambda_events::event::dynamodb::UserIdentity =
        serde_json::from_value(json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}))
            .unwrap();
    event.records.retain(|r| r.event_name == "REMOVE");
    event.records[0].user_identity = Some(ttl);
    for _ in 0..2 {
        let r = t.run_generate(&event).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
        let versions =
            t.s3.list_object_versions()
                .bucket(t.bucket())
                .prefix(key_of(&refused))
                .send()
                .await
                .unwrap();
        assert!(versions.versions().is_empty(), "no version left to restore");
        assert!(versions.delete_markers().is_empty(), "nor a delete marker");
        assert_eq!(
            stored_under(&t.objects().await, &kept),
            1,
            "other dossiers untouched"
        );
    }

    // A removal record naming a dossier that is still stored: its convention stays.
    let mut forged = event.clone();
    forged.records[0].change.old_image = kept_image;
    assert!(t.run_generate(&forged).await.batch_item_failures.is_empty());
    assert_eq!(stored_under(&t.objects().await, &kept), 1);
}

async fn decide(t: &TestApp, id: String, action: &str) {
    let path = format!("/api/instructeur/dossiers/{id}/decision");
    let mut body = json!({"action": action});
    if matches!(action, "refuser" | "classer_sans_suite") {
        body["motif"] = json!("Hors du périmètre de l’académie.");
    }
    let r = t.as_instructeur("POST", &path, Some(&body)).await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
}

/// DOSSIER_RETENTION_DAYS: a refused or classé sans suite dossier gets its TTL at the decision,
/// a reopened one loses it, an accepted convention never gets one; 0 keeps everything.
#[tokio::test]
async fn retention_of_decided_dossiers_follows_the_setting() {
    let mut t = TestApp::spawn().await;
    t.app.config.dossier_retention_days = 30;
    let in_days = |d: i64| chrono::Utc::now().timestamp() + d * 86_400;

    let (refused, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    decide(&t, refused.clone(), "passer_en_instruction").await;
    assert_eq!(t.stored(&refused).await.unwrap().expire_le, None);
    decide(&t, refused.clone(), "refuser").await;
    let exp = t
        .stored(&refused)
        .await
        .unwrap()
        .expire_le
        .expect("TTL set");
    assert!((exp - in_days(30)).abs() < 60, "decision time + 30 days");
    let v = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{refused}"), None)
        .await
        .json();
    assert_eq!(
        v["expire_le"].as_str().unwrap(),
        chrono::DateTime::from_timestamp(exp, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    // Reopened: kept again, whatever comes next.
    decide(&t, refused.clone(), "repasser_en_instruction").await;
    assert_eq!(t.stored(&refused).await.unwrap().expire_le, None);
    decide(&t, refused.clone(), "accepter").await;
    let accepted = t.stored(&refused).await.unwrap();
    assert_eq!(accepted.statut.as_str(), "accepte");
    assert_eq!(accepted.expire_le, None, "an accepted convention is kept");
    // Accepted once, then reopened and refused: the convention was in force, it stays.
    decide(&t, refused.clone(), "repasser_en_instruction").await;
    decide(&t, refused.clone(), "refuser").await;
    let after = t.stored(&refused).await.unwrap();
    assert_eq!(after.statut.as_str(), "refuse");
    assert_eq!(after.expire_le, None, "once accepted, never expires");

    let (closed, _) = deposit(&t, SIRET_BAULON, &[UAI_CARDROC]).await;
    decide(&t, closed.clone(), "passer_en_instruction").await;
    decide(&t, closed.clone(), "classer_sans_suite").await;
    let exp = t.stored(&closed).await.unwrap().expire_le.expect("TTL set");
    assert!((exp - in_days(30)).abs() < 60);

    // 0 (the default): nothing expires.
    t.app.config.dossier_retention_days = 0;
    let (kept, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    decide(&t, kept.clone(), "passer_en_instruction").await;
    decide(&t, kept.clone(), "refuser").await;
    assert_eq!(t.stored(&kept).await.unwrap().expire_le, None);
    let v = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{kept}"), None)
        .await
        .json();
    assert!(v["expire_le"].is_null());
}

/// The instructeur pages are plain pages of submit-dossier: no data, no token, the same
/// security headers as the public pages; the data comes from /api/instructeur/ with a token.
#[tokio::test]
async fn instructeur_pages_are_served_without_data() {
    let t = TestApp::spawn().await;
    let (id, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    for path in [
        "/instructeur".to_string(),
        "/instructeur/".to_string(),
        format!("/instructeur/dossiers/{id}"),
    ] {
        let r = t.call("GET", &path, None, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").starts_with("text/html"));
        assert_eq!(r.header("referrer-policy"), "no-referrer");
        assert!(r
            .header("content-security-policy")
            .contains("script-src 'self'"));
        assert_eq!(r.header("cache-control"), "no-store");
        assert!(r.body.contains("/instructeur.js") && r.body.contains("Espace instructeur"));
        assert!(!r.body.contains("Baulon") && !r.body.contains(SIRET_BAULON));
        // No sign-in configured: the pasted token only, and the page calls nothing elsewhere.
        assert!(!r.body.contains("Se connecter avec mon compte"));
        assert!(r
            .header("content-security-policy")
            .contains("connect-src 'self';"));
    }
    assert_eq!(
        t.call(
            "POST",
            "/instructeur",
            Some("{}"),
            &[("content-type", "application/json")]
        )
        .await
        .status,
        400
    );
}

/// With a sign-in configured (Cognito on AWS), the page offers it and may call its token
/// endpoint (CSP), and nothing else; the public pages are unchanged.
#[tokio::test]
async fn instructeur_page_offers_the_configured_sign_in() {
    let mut t = TestApp::spawn().await;
    let origin = "https://pile-test.auth.eu-west-3.amazoncognito.com";
    t.app.config.sign_in = Some(conventions_ent::config::SignIn {
        origin: origin.into(),
        client_id: "client1234".into(),
    });
    let r = t.call("GET", "/instructeur", None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r
        .body
        .contains("Se connecter avec mon compte de l’académie"));
    // What the browser reads: minijinja escapes « / » in attribute values.
    let html = r.body.replace("&#x2f;", "/");
    assert!(html.contains(&format!("data-origine=\"{origin}\"")));
    assert!(r.body.contains("data-client=\"client1234\""));
    assert!(
        r.body.contains("Se connecter avec un jeton"),
        "the token stays for support"
    );
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains(&format!("connect-src 'self' {origin};")),
        "{csp}"
    );
    assert!(csp.contains("form-action 'self'") && csp.contains("default-src 'none'"));
    let form = t.call("GET", "/demarche", None, &[]).await;
    assert!(form
        .header("content-security-policy")
        .contains("connect-src 'self';"));
}

/// The figures of the campaign: dossiers per statut under the list's filters (statut aside),
/// collectivités, schools signed for and schools accepted, each school counted once. Without
/// filters, from the counters count-statistics keeps from the stream; under filters, from the
/// dossiers: both say the same.
#[tokio::test]
async fn statistics_count_what_the_filters_select() {
    let t = TestApp::spawn().await;
    let (accepted, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    let (refused, _) = deposit(&t, SIRET_BAULON, &[UAI_CARDROC]).await;
    deposit(&t, SIRET_BAULON, &[UAI_BAULON, UAI_CARDROC]).await;
    for (id, actions) in [
        (&accepted, &["passer_en_instruction", "accepter"]),
        (&refused, &["passer_en_instruction", "refuser"]),
    ] {
        for a in actions {
            decide(&t, id.clone(), a).await;
        }
    }
    t.run_count().await;
    let path = "/api/instructeur/statistiques";
    let expected = json!({
        "dossiers": 3,
        "par_statut": {"en_construction": 1, "en_instruction": 0, "accepte": 1, "refuse": 1, "sans_suite": 0, "resilie": 0},
        "collectivites": 1,
        "ecoles": {"conventionnees": 2, "acceptees": 1},
    });
    for (query, source) in [
        ("", "compteurs"),
        ("?statut=refuse", "compteurs"),
        ("?departement=35", "dossiers"),
        ("?q=baulon", "dossiers"),
    ] {
        let r = t
            .as_instructeur("GET", &format!("{path}{query}"), None)
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let mut got = r.json();
        assert_eq!(got["source"], source, "{query}");
        got.as_object_mut().unwrap().remove("source");
        assert_eq!(got, expected, "{query}");
    }
    let none = t
        .as_instructeur("GET", &format!("{path}?departement=22"), None)
        .await
        .json();
    assert_eq!(none["dossiers"], 0);
    assert_eq!(none["par_statut"]["accepte"], 0);
    assert_eq!(none["ecoles"]["conventionnees"], 0);
    let bad = t
        .as_instructeur("GET", &format!("{path}?du=hier"), None)
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error_on("du").is_some(), "{}", bad.body);
    assert_eq!(t.call("GET", path, None, &[]).await.status, 401);
}

/// The counters under what the stream does to them: every record delivered again (a retried
/// batch, after the fact), a dossier removed by the retention; then counters broken by hand and
/// put right by the repair (`admin recompter-statistiques`), whose second run writes nothing.
#[tokio::test]
async fn counters_survive_replays_and_the_repair_recomputes_them() {
    use conventions_ent::jobs::count;
    let t = TestApp::spawn().await;
    let figures = || async {
        let mut v = t
            .as_instructeur("GET", "/api/instructeur/statistiques", None)
            .await
            .json();
        assert_eq!(v["source"], "compteurs");
        v.as_object_mut().unwrap().remove("source");
        v
    };
    let exact = || async {
        let mut v = t
            .as_instructeur("GET", "/api/instructeur/statistiques?departement=35", None)
            .await
            .json();
        v.as_object_mut().unwrap().remove("source");
        v
    };
    let (a, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON, UAI_CARDROC]).await;
    let (b, _) = deposit(&t, SIRET_BAULON, &[UAI_CARDROC]).await;
    decide(&t, a.clone(), "passer_en_instruction").await;
    let first = t.run_count().await;
    decide(&t, a.clone(), "accepter").await;
    decide(&t, b.clone(), "passer_en_instruction").await;
    decide(&t, b.clone(), "classer_sans_suite").await;
    let second = t.run_count().await;
    assert_eq!(figures().await, exact().await);
    let settled = figures().await;
    assert_eq!(settled["par_statut"]["accepte"], 1, "{settled}");
    assert_eq!(settled["par_statut"]["sans_suite"], 1, "{settled}");
    assert_eq!(settled["ecoles"]["acceptees"], 2, "{settled}");
    assert_eq!(settled["ecoles"]["conventionnees"], 2, "{settled}");

    // Both batches again, the older one last: nothing moves.
    for batch in [&second, &first, &first] {
        let answer = count::handle(t.app.counters.as_ref(), batch).await;
        assert!(answer.batch_item_failures.is_empty());
        assert_eq!(figures().await, settled);
    }

    // The retention removes the closed dossier: it leaves the figures.
    t.delete_raw(&b).await;
    t.run_count().await;
    let after = figures().await;
    assert_eq!(after["dossiers"], 1, "{after}");
    assert_eq!(after["par_statut"]["sans_suite"], 0, "{after}");
    assert_eq!(after, exact().await);

    // Broken by hand: a département's counts overwritten, a dossier's counted item removed.
    t.put_raw(std::collections::HashMap::from([
        ("id".to_string(), s("#statistiques#35")),
        ("departement".to_string(), s("35")),
        ("accepte".to_string(), n("7")),
        ("ecoles_acceptees".to_string(), n("40")),
    ]))
    .await
    .unwrap();
    t.delete_raw(&format!("#compte#dossier#{a}")).await;
    assert_ne!(figures().await, after);
    let repaired = count::repair(t.app.dossiers.as_ref(), t.app.counters.as_ref())
        .await
        .unwrap();
    assert!(
        repaired.departements >= 1 && repaired.dossiers >= 1,
        "{repaired}"
    );
    assert_eq!(figures().await, after);
    let again = count::repair(t.app.dossiers.as_ref(), t.app.counters.as_ref())
        .await
        .unwrap();
    assert_eq!(
        (again.departements, again.ensembles, again.dossiers),
        (0, 0, 0),
        "{again}"
    );
    // The stream goes on from the repaired counters.
    deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    t.run_count().await;
    assert_eq!(figures().await["dossiers"], 2);
    assert_eq!(figures().await, exact().await);
}

fn s(v: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(v.into())
}

fn n(v: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(v.into())
}

#[tokio::test]
async fn page_sizes_outside_the_bounds_and_other_methods_are_refused_in_french() {
    let t = TestApp::spawn().await;
    for l in ["0", "201", "deux", "-1"] {
        let r = t
            .as_instructeur(
                "GET",
                &format!("/api/instructeur/dossiers?limite={l}"),
                None,
            )
            .await;
        assert_eq!(r.status, 422, "{l}: {}", r.body);
        assert!(
            r.error_on("limite").unwrap().contains("de 1 à 200"),
            "{}",
            r.body
        );
    }
    // A statut list longer than the statuts: one error, not one per item.
    let long = vec!["inconnu"; 5000].join(",");
    let r = t
        .as_instructeur(
            "GET",
            &format!("/api/instructeur/dossiers?statut={long}"),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.json()["errors"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    assert!(r.error_on("statut").unwrap().contains("sept au plus"));
    for (method, path, allow) in [
        ("TRACE", "/api/instructeur/dossiers", "GET"),
        (
            "DELETE",
            "/api/instructeur/dossiers/0123456789abcdef0123456789abcdef",
            "GET",
        ),
        (
            "GET",
            "/api/instructeur/dossiers/0123456789abcdef0123456789abcdef/decision",
            "POST",
        ),
        ("PUT", "/api/instructeur/statistiques", "GET"),
        ("POST", "/api/instructeur/export/ecoles.csv", "GET"),
    ] {
        let r = t.as_instructeur(method, path, None).await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.body);
        assert_eq!(r.header("allow"), allow, "{method} {path}");
    }
}

/// An export is a job: the request answers 202 with its status link (a second request finds
/// the same run), the status says where it stands (for the scope that asked only), the job
/// writes the file once however often its record is delivered, the request then answers 302
/// to the file while it is fresh; past that a new run is written, and the old run's record,
/// delivered late, leaves the new run alone.
#[tokio::test]
async fn an_export_is_a_job_its_status_then_its_file() {
    let mut t = TestApp::spawn().await;
    t.app.config.export_fresh_seconds = 60;
    let (id, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    decide(&t, id.clone(), "passer_en_instruction").await;
    decide(&t, id.clone(), "accepter").await;
    let path = "/api/instructeur/export/ecoles.csv";
    let first = t.as_instructeur("GET", path, None).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let job = first.json();
    let link = job["statut"].as_str().unwrap().to_string();
    assert_eq!(first.header("location"), link);
    assert_eq!(first.header("retry-after"), "2");
    assert_eq!(job["etat"], "demande");
    let again = t.as_instructeur("GET", path, None).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["id"], job["id"], "the same run");

    // Another scope does not see it; an unknown or malformed id neither.
    let other = token(&["instructeurs-22"], 3600, DEV_JWT_SECRET);
    let r = t.with_token(&other, "GET", &link, None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("relancez-le"), "{}", r.body);
    for bad in ["0123456789abcdef0123456789abcdef", "pas-un-id", "0123"] {
        let r = t
            .as_instructeur("GET", &format!("/api/instructeur/exports/{bad}"), None)
            .await;
        assert_eq!(r.status, 404, "{bad}: {}", r.body);
    }

    let event = t.run_exports().await;
    let status = t.as_instructeur("GET", &link, None).await.json();
    assert_eq!(status["etat"], "pret", "{status}");
    assert_eq!(
        (status["dossiers_lus"].as_u64(), status["lignes"].as_u64()),
        (Some(1), Some(1))
    );
    let file_url = status["telechargement"].as_str().unwrap().to_string();
    let (code, _, file) = http_get(file_url).await;
    assert_eq!(code, 200);
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.starts_with("\u{feff}uai;nom_ecole;"), "{text}");
    assert!(text.contains(&format!("{UAI_BAULON};")), "{text}");
    assert_eq!(status["octets"].as_u64(), Some(file.len() as u64));

    // The same record again: written once.
    let answer = conventions_ent::jobs::export::handle(&t.app, &event).await;
    assert!(answer.batch_item_failures.is_empty());
    let replayed = t.as_instructeur("GET", &link, None).await.json();
    assert_eq!(replayed["etat"], "pret");
    assert_eq!(t.objects_under("exports/").await.len(), 1, "one file");

    // Fresh: the request downloads it.
    let ready = t.as_instructeur("GET", path, None).await;
    assert_eq!(ready.status, 302, "{}", ready.body);
    let (code, _, body) = http_get(ready.header("location").to_string()).await;
    assert_eq!((code, body), (200, file));

    // Past its freshness: a new run, which the old run's record leaves alone.
    t.app.config.export_fresh_seconds = 0;
    let renewed = t.as_instructeur("GET", path, None).await;
    assert_eq!(renewed.status, 202);
    assert_eq!(renewed.json()["etat"], "demande");
    let answer = conventions_ent::jobs::export::handle(&t.app, &event).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(
        t.as_instructeur("GET", &link, None).await.json()["etat"],
        "demande"
    );
    t.run_exports().await;
    let done = t.as_instructeur("GET", &link, None).await.json();
    assert_eq!(done["etat"], "pret", "{done}");
    assert_eq!(t.objects_under("exports/").await.len(), 2, "a file per run");
}

/// A job that cannot write its file says so on its status, in French, and the next request
/// starts it again.
#[tokio::test]
async fn a_failed_export_says_so_and_starts_again() {
    use conventions_ent::adapters::s3::S3Documents;
    let mut t = TestApp::spawn().await;
    let (id, _) = deposit(&t, SIRET_BAULON, &[UAI_BAULON]).await;
    decide(&t, id.clone(), "passer_en_instruction").await;
    decide(&t, id, "accepter").await;
    let path = "/api/instructeur/export/ecoles.json";
    let first = t.as_instructeur("GET", path, None).await;
    assert_eq!(first.status, 202);
    let link = first.header("location").to_string();
    let documents = t.app.documents.clone();
    t.app.documents = std::sync::Arc::new(S3Documents::new(t.s3.clone(), "seau-absent"));
    t.run_exports().await;
    let status = t.as_instructeur("GET", &link, None).await.json();
    assert_eq!(status["etat"], "echec", "{status}");
    assert!(
        status["erreur"].as_str().unwrap().contains("relancez-le"),
        "{status}"
    );
    assert!(status["telechargement"].is_null());
    t.app.documents = documents;
    let again = t.as_instructeur("GET", path, None).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["etat"], "demande");
    t.run_exports().await;
    let rows = t.export(path).await.json();
    assert_eq!(rows.as_array().unwrap().len(), 1);
}

/// Past what a Lambda response carries (6 MB): 32 dossiers of 700 schools make a JSON file of
/// over 8 MiB, written in two parts or more, against s3s-fs (which checks the presigned link's
/// signature and applies the download's name). The direct answer refused such an export.
#[tokio::test]
async fn a_large_export_is_written_in_parts_past_what_a_response_carries() {
    use conventions_ent::adapters::s3::S3Documents;
    use conventions_ent::domain::dossier::Statut;
    use conventions_ent::domain::draft::Draft;
    let mut t = TestApp::spawn().await;
    let s3s = s3s_client().await;
    let bucket = format!("exports-{}", suffix());
    s3s.create_bucket().bucket(&bucket).send().await.unwrap();
    t.app.documents = std::sync::Arc::new(S3Documents::new(s3s.clone(), &bucket));
    let draft = Draft::from_json(&full_dossier()).unwrap();
    for n in 0..32u64 {
        let numero = t.app.dossiers.next_numero().await.unwrap();
        t.seed_deposit(numero, &draft, "2026-09-01T08:00:00.000Z", |depot| {
            let model = depot.ecoles[0].clone();
            depot.ecoles = (0..700)
                .map(|k| {
                    let mut e = model.clone();
                    let key = "ABCDEFGHJ".chars().nth((k % 9) as usize).unwrap();
                    e.uai = format!("{:07}{key}", n * 1000 + k);
                    e.nom = format!("École élémentaire publique n°{k} du groupe scolaire {n}");
                    e
                })
                .collect();
        })
        .await;
    }
    let path = "/api/instructeur/export/ecoles.json?statut=en_construction";
    let first = t.as_instructeur("GET", path, None).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let link = first.header("location").to_string();
    t.run_exports().await;
    let status = t.as_instructeur("GET", &link, None).await.json();
    assert_eq!(status["etat"], "pret", "{status}");
    assert_eq!(status["lignes"], 22_400);
    let size = status["octets"].as_u64().unwrap();
    assert!(size > 8 * 1024 * 1024, "{size} bytes: two parts at least");
    let (code, headers, body) = http_get(status["telechargement"].as_str().unwrap().into()).await;
    assert_eq!(code, 200);
    assert_eq!(body.len() as u64, size);
    assert!(
        headers["content-disposition"].contains("ecoles-conventionnees-")
            && headers["content-disposition"].ends_with(".json\""),
        "{headers:?}"
    );
    let rows: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(rows.len(), 22_400);
    assert!(rows
        .iter()
        .all(|r| r["statut"] == Statut::EnConstruction.as_str()));
    let uais: std::collections::HashSet<&str> =
        rows.iter().map(|r| r["uai"].as_str().unwrap()).collect();
    assert_eq!(uais.len(), 22_400, "every school once");
}
