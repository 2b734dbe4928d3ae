//! One deployment for a two-département académie (the tests' `ACADEMIE_CONFIG`: Ille-et-Vilaine
//! and Côtes-d'Armor): each dossier belongs to its collectivité's département, is made out in
//! the name of that département's DASEN and answered from its DSDEN; scoped instructeurs see,
//! count, export and decide only their département's dossiers; the académie's perimeter is
//! refused at deposit and said by the lookups.

use crate::helpers::*;
use conventions_ent::http::instructeur::auth::sign_hs256;
use serde_json::{json, Value};

fn token_of(groups: &[&str], token_use: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    sign_hs256(
        &json!({"sub": format!("sub-{}", groups.join("-")), "email": "instructrice22@ac-test.fr",
                "token_use": token_use, "cognito:groups": groups, "exp": now + 3600}),
        DEV_JWT_SECRET.as_bytes(),
    )
}

impl TestApp {
    /// An instructeur route called with a token of these groups.
    async fn as_groups(
        &self,
        groups: &[&str],
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        self.with_token(&token_of(groups, "id"), method, path, body)
            .await
    }
}

async fn generate(t: &TestApp) {
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    // The conventions' writes are the acknowledgements' records.
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
}

async fn pdf_of(t: &TestApp, id: &str, jeton: &str) -> String {
    let r = t
        .get(&format!("/api/dossiers/{id}/convention"), Some(jeton))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (_, _, pdf) = http_get(r.header("location").to_string()).await;
    pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn each_dossier_is_signed_for_by_its_departements_dasen_and_answered_by_its_dsden() {
    let t = TestApp::spawn().await;
    let (id35, jeton35) = t.deposit_new(&full_dossier()).await;
    let (id22, jeton22) = t.deposit_new(&dossier_22()).await;
    generate(&t).await;
    let text35 = pdf_of(&t, &id35, &jeton35).await;
    assert!(
        text35.contains("Mme Claire DUPONT") && text35.contains("1 quai Dujardin"),
        "{text35}"
    );
    assert!(!text35.contains("LE GALL"), "{text35}");
    let text22 = pdf_of(&t, &id22, &jeton22).await;
    for needle in [
        "M. Yann LE GALL",
        "Côtes-d’Armor",
        "11 rue du Parc, 22000 Saint-Brieuc",
        "Saint-Brieuc",
    ] {
        assert!(text22.contains(needle), "{needle}: {text22}");
    }
    assert!(!text22.contains("Claire DUPONT"), "{text22}");
    let stored = t.stored(&id22).await.unwrap();
    assert_eq!(stored.departement().as_deref(), Some("22"));
    // The acknowledgement reached Saint-Brieuc; its envelope (moto keeps no Reply-To) answers
    // to the DSDEN 22, as every email about that dossier.
    let emails = t.sent_emails().await;
    assert!(emails.iter().any(|e| e["destinations"]
        .to_string()
        .contains("saint-brieuc.exemple.fr")));
    let rendered = || conventions_ent::render::email::Rendered {
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    let envelope = conventions_ent::mail::to_collectivite(&t.app, &stored, rendered()).unwrap();
    assert_eq!(envelope.reply_to, "ent-ecole22@ac-test.fr");
    let stored35 = t.stored(&id35).await.unwrap();
    let envelope = conventions_ent::mail::to_collectivite(&t.app, &stored35, rendered()).unwrap();
    assert_eq!(envelope.reply_to, "contact-ent@ac-test.fr");
    // A message of the collectivité goes to its DSDEN's address, not the other's.
    let before = t.sent_emails().await.len();
    let r = t
        .post_json(
            &format!("/api/dossiers/{id22}/messages"),
            &json!({"texte": "Une question sur l’école du Légué."}),
            Some(&jeton22),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sent = t.sent_emails().await;
    let to: Vec<String> = sent[before..]
        .iter()
        .map(|e| e["destinations"].to_string())
        .collect();
    assert!(
        to.iter().any(|d| d.contains("ent-ecole22@ac-test.fr")),
        "{to:?}"
    );
    assert!(
        !to.iter().any(|d| d.contains("contact-ent@ac-test.fr")),
        "{to:?}"
    );
}

#[tokio::test]
async fn a_scoped_instructeur_sees_counts_exports_and_decides_only_its_departement() {
    let t = TestApp::spawn().await;
    let (id35, _) = t.deposit_new(&full_dossier()).await;
    let (id22, _) = t.deposit_new(&dossier_22()).await;
    let g22 = ["instructeurs-22"];
    let ids = |r: &TestResponse| -> Vec<String> {
        r.json()["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    let list = t
        .as_groups(&g22, "GET", "/api/instructeur/dossiers", None)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(ids(&list), vec![id22.clone()]);
    // Whatever the query says.
    for q in [
        "departement=35",
        "commune=35016",
        "q=Baulon",
        "statut=en_construction",
    ] {
        let r = t
            .as_groups(&g22, "GET", &format!("/api/instructeur/dossiers?{q}"), None)
            .await;
        assert!(!ids(&r).contains(&id35), "{q}: {}", r.body);
    }
    t.run_count().await;
    let stats = t
        .as_groups(&g22, "GET", "/api/instructeur/statistiques", None)
        .await
        .json();
    assert_eq!(stats["source"], "compteurs", "{stats}");
    assert_eq!(stats["dossiers"], 1, "{stats}");
    assert_eq!(stats["collectivites"], 1, "{stats}");
    let csv = t
        .export_with(
            &token_of(&g22, "id"),
            "/api/instructeur/export/ecoles.csv?statut=en_construction",
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.body.contains(UAI_SAINT_BRIEUC) && !csv.body.contains(UAI_BAULON),
        "{}",
        csv.body
    );
    let export = t
        .export_with(
            &token_of(&g22, "id"),
            "/api/instructeur/export/ecoles.json?statut=en_construction",
        )
        .await;
    assert!(
        export.body.contains(UAI_SAINT_BRIEUC) && !export.body.contains(UAI_BAULON),
        "{}",
        export.body
    );

    // The other département's dossier: the same 404 as an unknown id, on every route.
    let unknown = "0".repeat(id35.len());
    for (method, path, body) in [
        ("GET", String::new(), None),
        (
            "POST",
            "/decision".to_string(),
            Some(json!({"action": "passer_en_instruction"})),
        ),
        (
            "POST",
            "/messages".to_string(),
            Some(json!({"texte": "Bonjour"})),
        ),
        ("POST", "/webhook".to_string(), Some(json!({}))),
        (
            "POST",
            "/acces".to_string(),
            Some(json!({"action": "renouveler"})),
        ),
    ] {
        let theirs = t
            .as_groups(
                &g22,
                method,
                &format!("/api/instructeur/dossiers/{id35}{path}"),
                body.as_ref(),
            )
            .await;
        let none = t
            .as_groups(
                &g22,
                method,
                &format!("/api/instructeur/dossiers/{unknown}{path}"),
                body.as_ref(),
            )
            .await;
        assert_eq!(theirs.status, 404, "{path}: {}", theirs.body);
        assert_eq!(
            theirs.body.replace(&id35, "ID"),
            none.body.replace(&unknown, "ID"),
            "{path}: indistinguishable from an unknown id"
        );
    }
    assert_eq!(
        t.stored(&id35).await.unwrap().statut.as_str(),
        "en_construction",
        "nothing decided"
    );

    // Its own: opened and decided, the audit trail naming the account.
    let r = t
        .as_groups(
            &g22,
            "GET",
            &format!("/api/instructeur/dossiers/{id22}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .as_groups(
            &g22,
            "POST",
            &format!("/api/instructeur/dossiers/{id22}/decision"),
            Some(&json!({"action": "passer_en_instruction"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let last = t
        .stored(&id22)
        .await
        .unwrap()
        .historique
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last.par, "instructrice22@ac-test.fr");
    assert_eq!(last.sub.as_deref(), Some("sub-instructeurs-22"));

    // Two départements, or the whole académie: both dossiers.
    t.run_count().await;
    for groups in [
        &["instructeurs-22", "instructeurs-35"][..],
        &["instructeurs"][..],
    ] {
        let r = t
            .as_groups(groups, "GET", "/api/instructeur/dossiers", None)
            .await;
        let got = ids(&r);
        assert!(
            got.contains(&id22) && got.contains(&id35),
            "{groups:?}: {}",
            r.body
        );
        let stats = t
            .as_groups(groups, "GET", "/api/instructeur/statistiques", None)
            .await
            .json();
        assert_eq!(stats["dossiers"], 2, "{groups:?}: {stats}");
    }
    // A département the académie does not serve gives no access; nor does an access token.
    let r = t
        .as_groups(
            &["instructeurs-29"],
            "GET",
            "/api/instructeur/dossiers",
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let access = format!("Bearer {}", token_of(&["instructeurs"], "access"));
    let r = t
        .call(
            "GET",
            "/api/instructeur/dossiers",
            None,
            &[("authorization", &access)],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

/// A draft of `body` whose deposit is refused (422): its id and the answer.
async fn refused_deposit(t: &TestApp, body: &Value) -> (String, TestResponse) {
    let (id, jeton) = t.create_draft(body).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/depot"),
            &json!({}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    (id, r)
}

#[tokio::test]
async fn schools_and_collectivites_outside_the_academie_are_refused_and_the_lookups_say_so() {
    let t = TestApp::spawn().await;
    // A school of Finistère in a dossier of Baulon.
    let mut body = full_dossier();
    body["ecoles"] = json!([{"uai": UAI_BAULON}, {"uai": UAI_QUIMPER}]);
    let (id, r) = refused_deposit(&t, &body).await;
    let e = r
        .error_on("ecoles[1].uai")
        .expect("the Quimper school named");
    assert!(
        e.contains("département 29") && e.contains("les départements 22 et 35"),
        "{e}"
    );
    assert_eq!(
        t.stored(&id).await.unwrap().statut.as_str(),
        "brouillon",
        "nothing deposited"
    );
    // The commune of Quimper signing for its own school.
    let mut body = full_dossier();
    body["collectivite"]["siret"] = json!(SIRET_QUIMPER);
    body["ecoles"] = json!([{"uai": UAI_QUIMPER}]);
    let (_, r) = refused_deposit(&t, &body).await;
    let e = r
        .error_on("collectivite.siret")
        .expect("the collectivité named");
    assert!(
        e.contains("département 29") && e.contains("académie de Rennes"),
        "{e}"
    );

    // The lookups: a French answer, never a 5xx.
    let r = t.get("/api/communes?q=Quimper", None).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error_on("q").unwrap().contains("département 29"),
        "{}",
        r.body
    );
    let r = t.get("/api/communes?q=Saint-Brieuc", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()[0]["code_insee"], "22278", "{}", r.body);
    let r = t.get("/api/communes/29232/ecoles", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("les départements 22 et 35"),
        "{}",
        r.body
    );
    let r = t.get(&format!("/api/ecoles/{UAI_QUIMPER}"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("département 29"),
        "{}",
        r.body
    );
    let r = t
        .get(&format!("/api/collectivites/{SIRET_QUIMPER}"), None)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error_on("siret").unwrap().contains("département 29"),
        "{}",
        r.body
    );
    let r = t
        .get(&format!("/api/collectivites/{SIRET_SAINT_BRIEUC}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["departement"], "22", "{}", r.body);
}

#[tokio::test]
async fn each_dsden_gets_the_digest_of_its_own_dossiers() {
    let t = TestApp::spawn().await;
    let (id35, _) = t.deposit_new(&full_dossier()).await;
    let (id22, _) = t.deposit_new(&dossier_22()).await;
    let before = t.sent_emails().await.len();
    let report =
        conventions_ent::jobs::daily::run(&t.app, &conventions_ent::domain::time::Now::system())
            .await
            .unwrap();
    assert!(report.recapitulatif_envoye, "{report:?}");
    let emails = t.sent_emails().await;
    let digests: Vec<&Value> = emails[before..]
        .iter()
        .filter(|e| e["subject"].as_str().unwrap_or("").contains("à traiter"))
        .collect();
    assert_eq!(digests.len(), 2, "one per département: {digests:?}");
    let of = |address: &str| {
        digests
            .iter()
            .find(|d| d["destinations"].to_string().contains(address))
            .unwrap_or_else(|| panic!("a digest to {address}: {digests:?}"))
    };
    let d22 = of("ent-ecole22@ac-test.fr");
    assert!(
        d22["subject"].as_str().unwrap().contains("département 22"),
        "{d22}"
    );
    let body = d22["body"].to_string();
    assert!(body.contains(&id22) && !body.contains(&id35), "{body}");
    let d35 = of("contact-ent@ac-test.fr");
    let body = d35["body"].to_string();
    assert!(body.contains(&id35) && !body.contains(&id22), "{body}");
    // Once a day each.
    let again =
        conventions_ent::jobs::daily::run(&t.app, &conventions_ent::domain::time::Now::system())
            .await
            .unwrap();
    assert!(!again.recapitulatif_envoye, "{again:?}");
}

#[tokio::test]
async fn the_legal_pages_name_each_dsden_and_every_page_links_them() {
    let t = TestApp::spawn().await;
    for (path, needles) in [
        (
            "/accessibilite",
            &[
                "non conforme",
                "Défenseur des droits",
                "ent-ecole22@ac-test.fr",
            ][..],
        ),
        (
            "/donnees-personnelles",
            &[
                "mission d’intérêt public",
                "90 jours",
                "11 rue du Parc, 22000 Saint-Brieuc",
                "CNIL",
            ][..],
        ),
        (
            "/mentions-legales",
            &[
                "Amazon Web Services EMEA",
                "1 quai Dujardin, 35000 Rennes",
                "ent-ecole22@ac-test.fr",
            ][..],
        ),
    ] {
        let r = t.call("GET", path, None, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.header("content-type").starts_with("text/html"), "{path}");
        for n in needles {
            assert!(r.body.contains(n), "{path}: {n}");
        }
    }
    for path in ["/", "/demarche", "/instructeur", "/accessibilite"] {
        let body = t.call("GET", path, None, &[]).await.body;
        for link in [
            "href=\"/accessibilite\"",
            "href=\"/mentions-legales\"",
            "href=\"/donnees-personnelles\"",
        ] {
            assert!(body.contains(link), "{path}: {link}");
        }
    }
}
