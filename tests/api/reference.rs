//! Reference data: the importer on real files and their variants, and the lookups a secretary
//! uses while filling the form.

use crate::helpers::*;
use crate::registry_fake::Mode;
use conventions_ent::domain::siret::Siret;
use conventions_ent::reference::annuaire::{import, import_csv};
use serde_json::{json, Value};

fn shipped_bytes() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/annuaire/fr-en-annuaire-education-035.csv"
    ))
    .unwrap()
}

#[test]
fn the_shipped_extract_imports_with_exact_counts() {
    let (ecoles, report) = import(&shipped_bytes()).unwrap();
    assert_eq!(ecoles.len(), 685);
    assert_eq!(report.fermees, 1);
    let ignored: Vec<(&str, usize)> = report
        .ignores
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        ignored,
        [
            ("autre", 11),
            ("collège", 117),
            ("erea", 2),
            ("information et orientation", 5),
            ("lycée", 86),
            ("médico-social", 39),
            ("service administratif", 42),
            ("type absent", 9)
        ]
    );
    assert!(report.uai_invalides.is_empty());
    assert_eq!(
        ecoles.iter().filter(|e| e.statut == "Privé").count(),
        ecoles.iter().filter(|e| e.statut == "Privé").count()
    );
}

/// The same rows as the JSON export gives them: lowercase field names, numbers as numbers.
fn as_json_export(csv_bytes: &[u8]) -> Vec<u8> {
    let text = conventions_ent::reference::annuaire::decode(csv_bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.to_lowercase().replace(' ', "_"))
        .collect();
    let records: Vec<Value> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            let mut o = serde_json::Map::new();
            for (h, v) in headers.iter().zip(r.iter()) {
                let value = match v.parse::<i64>() {
                    Ok(n) if h == "nombre_d_eleves" => json!(n),
                    _ if v.is_empty() => Value::Null,
                    _ => json!(v),
                };
                o.insert(h.clone(), value);
            }
            Value::Object(o)
        })
        .collect();
    serde_json::to_vec(&records).unwrap()
}

#[test]
fn json_export_and_current_column_set_give_the_same_schools() {
    let (reference, report) = import(&shipped_bytes()).unwrap();
    let (from_json, json_report) = import(&as_json_export(&shipped_bytes())).unwrap();
    assert_eq!(from_json, reference);
    assert_eq!(json_report, report);

    // The current column set: Nombre_d_eleves dropped, coordinates renamed, four columns added.
    let text = String::from_utf8(shipped_bytes()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let drop = header.iter().position(|h| *h == "Nombre_d_eleves").unwrap();
    let mut out = String::new();
    let new_header: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != drop)
        .map(|(_, h)| match *h {
            "coordonnee_X" => "coordX_origine".to_string(),
            "coordonnee_Y" => "coordY_origine".to_string(),
            h => h.to_string(),
        })
        .chain(
            [
                "multi_uai",
                "code_circonscription",
                "code_zone_animation_pedagogique",
                "libelle_zone_animation_pedagogique",
            ]
            .map(String::from),
        )
        .collect();
    out.push_str(&new_header.join(";"));
    out.push('\n');
    for line in lines {
        let cells: Vec<&str> = line
            .split(';')
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, c)| c)
            .collect();
        out.push_str(&cells.join(";"));
        out.push_str(";0;0351234X;;\n");
    }
    let (current, _) = import(out.as_bytes()).unwrap();
    assert_eq!(current, reference);
}

#[test]
fn bom_crlf_latin1_and_broken_rows() {
    let bytes = shipped_bytes();
    let (reference, _) = import(&bytes).unwrap();
    let no_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap().to_vec();
    assert_eq!(import(&no_bom).unwrap().0, reference);
    let lf = String::from_utf8(no_bom.clone())
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(import(lf.as_bytes()).unwrap().0, reference);
    // Latin-1: every character of the file fits in it except a few typographic ones.
    let latin1: Vec<u8> = lf
        .chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect();
    assert!(std::str::from_utf8(&latin1).is_err(), "really not UTF-8");
    let (l1, _) = import(&latin1).unwrap();
    assert_eq!(l1.len(), reference.len());
    assert_eq!(
        l1.iter().find(|e| e.uai == "0350165P").unwrap().nom,
        "Ecole élémentaire publique de Cardroc"
    );

    let mut broken = lf.clone();
    broken.push_str("0350122U;Ecole au code faux;Ecole;Public\n");
    broken.push_str("pas;assez\n");
    let (b, report) = import(broken.as_bytes()).unwrap();
    assert_eq!(b.len(), reference.len());
    assert_eq!(report.uai_invalides.len(), 1);
    assert_eq!(report.uai_invalides[0].1, "0350122U");
    assert_eq!(
        report.ignores.get("type absent").copied(),
        Some(10),
        "the short row has no type"
    );
    assert!(import_csv(b"nom;autre\nx;y\n")
        .unwrap_err()
        .to_string()
        .contains("Identifiant_de_l_etablissement"));
}

#[tokio::test]
async fn commune_search_forgives_accents_case_hyphens_and_saint() {
    let t = TestApp::spawn().await;
    let first = |v: Value| v[0]["nom"].as_str().unwrap_or("").to_string();
    assert_eq!(
        first(t.get("/api/communes?q=st%20malo", None).await.json()),
        "Saint-Malo"
    );
    assert_eq!(
        first(t.get("/api/communes?q=SAINT-MALO", None).await.json()),
        "Saint-Malo"
    );
    assert_eq!(
        first(t.get("/api/communes?q=chateaugiron", None).await.json()),
        "Châteaugiron"
    );
    let by_cp = t.get("/api/communes?q=35580", None).await.json();
    let names: Vec<&str> = by_cp
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["nom"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Baulon") && names.contains(&"Guichen"),
        "35580 serves several communes: {names:?}"
    );
    assert_eq!(
        first(t.get("/api/communes?q=35016", None).await.json()),
        "Baulon"
    );
    let rennes = t.get("/api/communes?q=rennes", None).await.json();
    assert_eq!(
        first(rennes.clone()),
        "Rennes",
        "exact before prefix: {rennes}"
    );
    let r = t.get("/api/communes?q=baulon", None).await.json();
    assert_eq!(r[0]["code_insee"], "35016");
    assert_eq!(r[0]["codes_postaux"], json!(["35580"]));
    assert_eq!(r[0]["departement"], "35");
    assert_eq!(t.get("/api/communes?q=zzzz", None).await.json(), json!([]));
}

#[tokio::test]
async fn schools_of_a_commune_and_by_uai() {
    let t = TestApp::spawn().await;
    let r = t.get("/api/communes/35238/ecoles", None).await;
    assert_eq!(r.status, 200);
    let list = r.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["nom"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.len() > 50, "Rennes has many schools");
    let baulon = t.get("/api/communes/35016/ecoles", None).await.json();
    let lucioles = baulon
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uai"] == UAI_BAULON)
        .unwrap();
    assert_eq!(
        lucioles["libelle"],
        "Ecole primaire publique les Lucioles , BAULON (0350122T)"
    );
    assert_eq!(
        t.get("/api/ecoles/0350122T", None).await.json()["commune"],
        "Baulon"
    );
    let bad = t.get("/api/ecoles/0350122U", None).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["detail"]
        .as_str()
        .unwrap()
        .contains("lettre de contrôle"));
    assert_eq!(
        t.get("/api/ecoles/0352958A", None).await.status,
        404,
        "a collège is not a school here"
    );
}

#[tokio::test]
async fn collectivite_by_siret_identified_confirmed_and_proposed() {
    let t = TestApp::spawn().await;
    let r = t
        .get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["verifie"], true);
    assert_eq!(v["nom"], "COMMUNE DE BAULON");
    assert_eq!(v["adresse"], "1 PLACE DE L'EGLISE 35580 BAULON");
    assert_eq!(v["nature"], "Commune");
    assert_eq!(v["code_insee"], "35016");
    assert!(v["ecoles_proposees"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["uai"] == UAI_BAULON));
    // Cached: a second lookup does not call the registry again.
    t.get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await;
    assert_eq!(t.registry.calls(), 1);

    let bad = t.get("/api/collectivites/21350016800026", None).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["detail"]
        .as_str()
        .unwrap()
        .contains("clé de contrôle"));

    // La Poste: valid by its own rule, unknown to our fake registry.
    let poste = t
        .get("/api/collectivites/35600000000123", None)
        .await
        .json();
    assert_eq!(poste["verifie"], false);

    // An EPCI that Baulon belongs to: its schools are its members'.
    let epci = shipped_collectivites()
        .epcis
        .iter()
        .find(|e| e.membres.iter().any(|m| m == "35016"))
        .expect("Baulon's EPCI");
    let siret = (10..100)
        .map(|nic| format!("{}{nic:05}", epci.siren))
        .find(|s| Siret::parse(s).is_ok())
        .unwrap();
    let v = t
        .get(&format!("/api/collectivites/{siret}"), None)
        .await
        .json();
    assert_eq!(v["nom"], epci.nom.as_str());
    assert!(
        v["nature"].as_str().unwrap().starts_with("Communauté"),
        "{v}"
    );
    assert_eq!(
        v["verifie"], false,
        "unknown to the registry: degraded mode"
    );
    let proposed: Vec<&str> = v["ecoles_proposees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code_insee"].as_str().unwrap())
        .collect();
    assert!(
        proposed.contains(&"35016") && proposed.iter().all(|c| epci.membres.iter().any(|m| m == c))
    );
}

#[tokio::test]
async fn registry_down_slow_or_rate_limited() {
    let down = TestApp::spawn_with(Mode::Down).await;
    let v = down
        .get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await
        .json();
    assert_eq!(v["verifie"], false);
    assert_eq!(
        v["nom"], "Commune de Baulon",
        "the reference data still names it"
    );
    let calls = down.registry.calls();
    down.get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await;
    assert_eq!(
        down.registry.calls(),
        calls,
        "a failure is remembered for a minute: no second timeout"
    );

    let slow = TestApp::spawn_with(Mode::Slow).await;
    let started = std::time::Instant::now();
    let v = slow
        .get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await
        .json();
    assert_eq!(v["verifie"], false);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );

    let limited = TestApp::spawn_with(Mode::RateLimitedOnce(1)).await;
    let v = limited
        .get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await
        .json();
    assert_eq!(v["verifie"], true, "retried after Retry-After");
    assert_eq!(limited.registry.calls(), 2);

    let too_long = TestApp::spawn_with(Mode::RateLimitedOnce(30)).await;
    let v = too_long
        .get(&format!("/api/collectivites/{SIRET_BAULON}"), None)
        .await
        .json();
    assert_eq!(
        v["verifie"], false,
        "a Retry-After past the budget is not waited for"
    );
}

#[tokio::test]
async fn a_dossier_is_deposited_in_degraded_mode_and_flagged() {
    let t = TestApp::spawn_with(Mode::Down).await;
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/depot"),
            &json!({}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.json()["collectivite"];
    assert_eq!(c["verifie"], false);
    assert_eq!(c["nom"], "Commune de Baulon");

    let ok = TestApp::spawn().await;
    let (id, jeton) = ok.create_draft(&full_dossier()).await;
    let c = ok
        .post_json(
            &format!("/api/dossiers/{id}/depot"),
            &json!({}),
            Some(&jeton),
        )
        .await
        .json()["collectivite"]
        .clone();
    assert_eq!(c["verifie"], true);
    assert_eq!(c["nom"], "COMMUNE DE BAULON");
    assert_eq!(c["adresse"], "1 PLACE DE L'EGLISE 35580 BAULON");
}

/// Queries a secretary could type for each shipped commune: names whole and cut, lowercase,
/// without accents, « st » for « Saint », postal and INSEE codes; and a few odd ones.
fn shipped_queries() -> Vec<String> {
    let mut q: Vec<String> = [
        "", " ", "sain", "st", "saint", "rennes", "le", "la", "sur", "ille", "35", "355", "2A004",
        "zzzz", "é", "-", "'", "Ecole",
    ]
    .map(String::from)
    .to_vec();
    for e in shipped_schools() {
        let c = &e.commune;
        q.push(c.clone());
        q.push(c.to_lowercase());
        q.push(c.chars().take(3).collect());
        q.push(c.chars().take(5).collect());
        q.push(c.replace("SAINT-", "st ").replace("Saint-", "st "));
        q.push(c.chars().skip(2).take(4).collect());
        q.push(e.code_postal.clone());
        q.push(e.code_postal[..3.min(e.code_postal.len())].to_string());
        q.push(e.code_insee.clone());
    }
    q.sort();
    q.dedup();
    q
}

/// The binary snapshot the importer writes gives back the directory built from the CSV: the
/// same schools, the same answer to every lookup.
#[test]
fn binary_snapshot_round_trips_the_shipped_extract() {
    use conventions_ent::domain::school::SchoolDirectory;
    use conventions_ent::domain::uai::Uai;
    use conventions_ent::reference::Directory;
    let built =
        Directory::with_collectivites(academie_schools().clone(), shipped_collectivites().clone());
    let bytes = built.to_snapshot();
    assert_eq!(bytes, shipped_snapshot(), "deterministic");
    let loaded = Directory::from_snapshot(&bytes).unwrap();
    assert_eq!(loaded.to_snapshot(), bytes);
    assert_eq!(
        loaded.len(),
        685 + 3,
        "the shipped extract and the 3 built schools"
    );

    let mut by_uai = academie_schools().clone();
    by_uai.sort_by(|a, b| a.uai.cmp(&b.uai));
    assert_eq!(
        loaded.ecoles(),
        by_uai,
        "every school, open or closed, every field"
    );

    let queries = shipped_queries();
    assert!(queries.len() > 500);
    let mut answered = 0;
    for q in &queries {
        let answer = loaded.search_communes(q, 20);
        assert_eq!(answer, built.search_communes(q, 20), "{q:?}");
        answered += usize::from(!answer.is_empty());
    }
    assert!(answered > 400, "{answered}");

    for e in academie_schools() {
        let uai = Uai::parse(&e.uai).unwrap();
        assert_eq!(loaded.ecole(&uai), Some(e));
        let of_commune = loaded.ecoles_of(&e.code_insee);
        assert_eq!(of_commune, built.ecoles_of(&e.code_insee));
        // Independently of the snapshot: the open schools of that INSEE code, by name.
        let mut expected: Vec<&_> = academie_schools()
            .iter()
            .filter(|x| x.ouverte && x.code_insee == e.code_insee)
            .collect();
        expected.sort_by(|a, b| a.nom.cmp(&b.nom).then(a.uai.cmp(&b.uai)));
        assert_eq!(of_commune, expected);
        assert_eq!(loaded.commune(&e.code_insee), built.commune(&e.code_insee));
        if let Some(siret) = &e.siren_siret {
            let siren = &siret[..9.min(siret.len())];
            assert_eq!(loaded.ecoles_of_siren(siren), built.ecoles_of_siren(siren));
        }
    }
    let c = shipped_collectivites();
    let sirens = c
        .communes
        .iter()
        .map(|c| &c.siren)
        .chain(c.epcis.iter().map(|e| &e.siren));
    for siren in sirens {
        assert!(loaded.collectivite(siren).is_some(), "{siren}");
        assert_eq!(loaded.collectivite(siren), built.collectivite(siren));
        assert_eq!(
            loaded.ecoles_proposees(siren),
            built.ecoles_proposees(siren)
        );
    }
    assert_eq!(loaded.collectivite("000000000"), None);
}

/// Cold start reads the binary snapshot; a truncated one, one of a newer format or another
/// file stop it with the reason; a bucket imported before the binary snapshot (JSON only) is
/// still read.
#[tokio::test]
async fn cold_start_refuses_a_bad_snapshot_and_still_reads_the_older_json() {
    use conventions_ent::adapters::s3::S3Documents;
    use conventions_ent::app::load_directory;
    use conventions_ent::ports::DocumentStore;
    use conventions_ent::reference::{COLLECTIVITES_KEY, ECOLES_KEY, SNAPSHOT_KEY};
    let t = TestApp::spawn().await;
    let docs = S3Documents::new(t.s3.clone(), t.bucket());
    let put = |bytes: Vec<u8>| docs.put(SNAPSHOT_KEY, bytes, "application/octet-stream");
    let good = shipped_snapshot();
    assert_eq!(
        load_directory(&docs).await.unwrap().len(),
        685 + 3,
        "the shipped extract and the 3 built schools"
    );

    put(good[..good.len() / 2].to_vec()).await.unwrap();
    let err = load_directory(&docs).await.err().unwrap().to_string();
    assert!(
        err.contains("données de référence illisibles : instantané tronqué"),
        "{err}"
    );
    let mut newer = good.to_vec();
    newer[8..12].copy_from_slice(&2u32.to_le_bytes());
    put(newer).await.unwrap();
    let err = load_directory(&docs).await.err().unwrap().to_string();
    assert!(err.contains("format 2"), "{err}");
    let mut flipped = good.to_vec();
    flipped[good.len() / 3] ^= 0x01;
    put(flipped).await.unwrap();
    let err = load_directory(&docs).await.err().unwrap().to_string();
    assert!(err.contains("corrompu"), "{err}");
    put(serde_json::to_vec(shipped_schools()).unwrap())
        .await
        .unwrap();
    let err = load_directory(&docs).await.err().unwrap().to_string();
    assert!(err.contains("signature absente"), "{err}");

    t.s3.delete_object()
        .bucket(t.bucket())
        .key(SNAPSHOT_KEY)
        .send()
        .await
        .unwrap();
    docs.put(
        ECOLES_KEY,
        serde_json::to_vec(academie_schools()).unwrap(),
        "application/json",
    )
    .await
    .unwrap();
    docs.put(
        COLLECTIVITES_KEY,
        serde_json::to_vec(shipped_collectivites()).unwrap(),
        "application/json",
    )
    .await
    .unwrap();
    let legacy = load_directory(&docs).await.unwrap();
    let binary = conventions_ent::reference::Directory::from_snapshot(good).unwrap();
    assert_eq!(
        legacy.to_snapshot(),
        good,
        "same directory from either snapshot"
    );
    assert_eq!(
        legacy.search_communes("baulon", 20)[0].code_insee,
        binary.search_communes("baulon", 20)[0].code_insee
    );
}

/// `make import-annuaire` on a running stack: the functions notice the new snapshot (a
/// conditional GET on its ETag, once a minute at most; every invocation here) without a cold
/// start, and the search, the school lookup and the deposit agree on it.
#[tokio::test]
async fn an_import_on_a_running_stack_reaches_search_and_deposit_without_a_restart() {
    use conventions_ent::reference::{Directory, SNAPSHOT_KEY};
    let mut t = TestApp::spawn().await;
    t.app.reference = std::sync::Arc::new(
        conventions_ent::app::load_reference(t.app.documents.as_ref(), std::time::Duration::ZERO)
            .await
            .unwrap(),
    );
    let lamballe = |r: &TestResponse| r.body.contains("22093");
    let before = t.get("/api/communes?q=lamballe", None).await;
    assert!(!lamballe(&before), "not imported yet: {}", before.body);
    assert_eq!(t.get("/api/ecoles/0229903V", None).await.status, 404);

    // The importer writes a new snapshot: the directory plus a school of Lamballe-Armor.
    let mut ecoles = academie_schools().clone();
    ecoles.push(built_school(
        "0229903V",
        "Ecole maternelle du Val",
        "22093",
        "Lamballe-Armor",
        "22400",
    ));
    let snapshot =
        Directory::with_collectivites(ecoles, shipped_collectivites().clone()).to_snapshot();
    t.app
        .documents
        .put(SNAPSHOT_KEY, snapshot, "application/octet-stream")
        .await
        .unwrap();

    // S3 answers the conditional GET with 304 while the object is the one of the ETag.
    use conventions_ent::ports::Fetched;
    let Fetched::Object { etag, .. } = t
        .app
        .documents
        .get_if_changed(SNAPSHOT_KEY, None)
        .await
        .unwrap()
    else {
        panic!("the new snapshot is there")
    };
    assert!(etag.is_some());
    assert_eq!(
        t.app
            .documents
            .get_if_changed(SNAPSHOT_KEY, etag.as_deref())
            .await
            .unwrap(),
        Fetched::Unchanged
    );

    let after = t.get("/api/communes?q=lamballe", None).await;
    assert!(lamballe(&after), "{}", after.body);
    let school = t.get("/api/ecoles/0229903V", None).await;
    assert_eq!(school.status, 200, "{}", school.body);
    let mut body = dossier_22();
    body["ecoles"] = json!([{"uai": "0229903V"}]);
    let (id, jeton) = t.deposit_new(&body).await;
    let view = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(
        view["ecoles"][0]["nom"], "Ecole maternelle du Val",
        "{view}"
    );
}
