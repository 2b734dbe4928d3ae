//! Each test gets its own table, bucket and sender identity on the shared moto server, and
//! drives the real handlers with real API Gateway v2 events and real stream records.

use crate::registry_fake::{FakeRegistry, Mode};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use conventions_ent::adapters::{
    dynamo::create_table, dynamo::DynamoDossiers, s3::S3Documents, ses::SesMailer,
};
use conventions_ent::config::{Academie, Config};
use conventions_ent::domain::dossier::DossierRecord;
use conventions_ent::jobs::{acknowledge, generate};
use conventions_ent::ports::DocumentStore;
use conventions_ent::reference::annuaire::import_csv;
use conventions_ent::App;
use lambda_http::Body;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::Mutex;

pub const SIRET_BAULON: &str = "21350016800025";
pub const DEV_JWT_SECRET: &str = "cle-des-tests";
/// The webhook secret the editor is given, Standard Webhooks shaped.
pub const WEBHOOK_SECRET: &str = "whsec_c2VjcmV0LWR1LXdlYmhvb2stZGVzLXRlc3Rz";
/// The key the ENT editor signs its answers with (`EDITOR_ANSWER_SECRET`).
pub const EDITOR_ANSWER_SECRET: &str = "whsec_cmVwb25zZS1kZS1sLWVkaXRldXItZGVzLXRlc3RzISE=";
pub const UAI_BAULON: &str = "0350122T";
pub const UAI_CARDROC: &str = "0350165P";
/// The second département of the tests' académie (Côtes-d'Armor): schools built for the
/// tests in real communes (the shipped extract is Ille-et-Vilaine's only).
pub const SIRET_SAINT_BRIEUC: &str = "21220278200018";
pub const UAI_SAINT_BRIEUC: &str = "0229901T";
pub const UAI_DINAN: &str = "0229902U";
/// A school of a département the académie does not serve (Finistère), in the directory.
pub const UAI_QUIMPER: &str = "0299901E";
pub const SIRET_QUIMPER: &str = "21290232400012";

/// The tests' académie: Ille-et-Vilaine and Côtes-d'Armor, each with its DASEN and DSDEN.
pub const ACADEMIE_CONFIG: &str = r#"{
  "nom": "Académie de Rennes",
  "departements": {
    "35": {"dasen_nom": "Mme Claire DUPONT",
           "dasen_titre": "inspectrice d’académie – directrice académique des services de l’Éducation nationale d’Ille-et-Vilaine",
           "adresse": "1 quai Dujardin, 35000 Rennes", "contact_email": "contact-ent@ac-test.fr"},
    "22": {"dasen_nom": "M. Yann LE GALL",
           "dasen_titre": "inspecteur d’académie – directeur académique des services de l’Éducation nationale des Côtes-d’Armor",
           "adresse": "11 rue du Parc, 22000 Saint-Brieuc", "contact_email": "ent-ecole22@ac-test.fr"}
  }
}"#;

pub fn built_school(
    uai: &str,
    nom: &str,
    code_insee: &str,
    commune: &str,
    cp: &str,
) -> conventions_ent::domain::school::Ecole {
    conventions_ent::domain::school::Ecole {
        uai: uai.into(),
        nom: nom.into(),
        nature: "ECOLE DE NIVEAU ELEMENTAIRE".into(),
        statut: "Public".into(),
        code_insee: code_insee.into(),
        commune: commune.into(),
        code_postal: cp.into(),
        siren_siret: None,
        ouverte: true,
    }
}

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is set by `make test`, which starts the emulator")
}

pub fn suffix() -> String {
    let mut b = [0u8; 5];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    hex::encode(b)
}

/// The shipped annuaire extract, imported once per test binary.
pub fn shipped_schools() -> &'static Vec<conventions_ent::domain::school::Ecole> {
    static ECOLES: OnceLock<Vec<conventions_ent::domain::school::Ecole>> = OnceLock::new();
    ECOLES.get_or_init(|| {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/annuaire/fr-en-annuaire-education-035.csv"
        ))
        .expect("shipped extract");
        import_csv(&bytes).expect("shipped extract imports").0
    })
}

/// The shipped extract plus the schools built for the second département and for one the
/// académie does not serve: what the tests' directory holds.
pub fn academie_schools() -> &'static Vec<conventions_ent::domain::school::Ecole> {
    static ECOLES: OnceLock<Vec<conventions_ent::domain::school::Ecole>> = OnceLock::new();
    ECOLES.get_or_init(|| {
        let mut ecoles = shipped_schools().clone();
        ecoles.extend([
            built_school(
                UAI_SAINT_BRIEUC,
                "Ecole élémentaire du Légué",
                "22278",
                "Saint-Brieuc",
                "22000",
            ),
            built_school(
                UAI_DINAN,
                "Ecole élémentaire des Remparts",
                "22050",
                "Dinan",
                "22100",
            ),
            built_school(
                UAI_QUIMPER,
                "Ecole élémentaire de Locmaria",
                "29232",
                "Quimper",
                "29000",
            ),
        ]);
        ecoles
    })
}

/// Communes and EPCI of the shipped schools, from @etalab/decoupage-administratif.
pub fn shipped_collectivites() -> &'static conventions_ent::reference::decoupage::Collectivites {
    static C: OnceLock<conventions_ent::reference::decoupage::Collectivites> = OnceLock::new();
    C.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/decoupage/package/data");
        let read = |f: &str| {
            std::fs::read(format!("{dir}/{f}"))
                .expect("decoupage data (scripts/setup-tools.sh fetches it)")
        };
        let wanted = academie_schools()
            .iter()
            .map(|e| e.code_insee.clone())
            .collect();
        conventions_ent::reference::decoupage::extract(
            &read("communes.json"),
            &read("epci.json"),
            &wanted,
        )
        .unwrap()
    })
}

/// The binary reference snapshot the importer writes for the shipped schools and communes.
pub fn shipped_snapshot() -> &'static [u8] {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        conventions_ent::reference::Directory::with_collectivites(
            academie_schools().clone(),
            shipped_collectivites().clone(),
        )
        .to_snapshot()
    })
}

pub struct TestApp {
    pub registry: FakeRegistry,
    pub app: App,
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub table: String,
    stream: Mutex<Option<String>>,
    /// count-statistics' own position in the stream (it reads every record, as on AWS).
    count_stream: Mutex<Option<String>>,
    /// export-schools' own position in the stream.
    export_stream: Mutex<Option<String>>,
}

pub struct TestResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The body's bytes, as sent (gzip included).
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// The French message of the error on `champ`.
    pub fn error_on(&self, champ: &str) -> Option<String> {
        self.json()["errors"]
            .as_array()?
            .iter()
            .find(|e| e["champ"] == champ)
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Mode::Normal).await
    }

    pub async fn spawn_with(registry_mode: Mode) -> TestApp {
        let registry = FakeRegistry::start(registry_mode);
        let endpoint = moto_endpoint();
        let sdk = conventions_ent::adapters::sdk_config(Some(&endpoint)).await;
        let sfx = suffix();
        let table = format!("dossiers-{sfx}");
        let bucket = format!("documents-{sfx}");
        let sender = format!("ne-pas-repondre-{sfx}@ac-test.fr");
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        create_table(&dynamo, &table).await.expect("table created");
        let s3 = S3Documents::client(&sdk, true);
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        sdk.region().expect("region").as_ref(),
                    ))
                    .build(),
            )
            .send()
            .await
            .expect("bucket created");
        let ses = aws_sdk_ses::Client::new(&sdk);
        ses.verify_email_identity()
            .email_address(&sender)
            .send()
            .await
            .expect("identity");
        let config = Config {
            table_name: table.clone(),
            bucket_name: bucket.clone(),
            public_base_url: "http://127.0.0.1:9000".into(),
            sender_email: sender,
            contact_email: "contact-ent@ac-test.fr".into(),
            link_secret: suffix(),
            link_secret_precedent: None,
            origin_secret: None,
            presign_ttl_seconds: 300,
            // Each export written anew: a test exports the same query before and after a
            // change within seconds (`export_answers_202_then_302_while_fresh` sets it).
            export_fresh_seconds: 0,
            academie: Academie::parse_json(ACADEMIE_CONFIG, "tests").expect("the tests' académie"),
            registry_base_url: registry.url.clone(),
            webhook_url: None,
            webhook_secret: WEBHOOK_SECRET.into(),
            webhook_secret_precedent: None,
            editor_answer_secret: conventions_ent::config::AnswerSecret::parse(Some(
                EDITOR_ANSWER_SECRET.into(),
            ))
            .unwrap(),
            editor_answer_secret_precedent: None,
            editor_answer_configured: false,
            editeurs: Default::default(),
            dossier_retention_days: 0,
            digest_waiting_days: 0,
            dev_jwt_secret: Some(DEV_JWT_SECRET.into()),
            sign_in: None,
            seal: Some(test_seal(&sdk).await),
            endpoint_url: Some(endpoint),
        };
        let seal = conventions_ent::app::connect_seal(&sdk, config.seal.as_ref().unwrap())
            .await
            .expect("the seal loads as generate-convention loads it");
        let documents = S3Documents::new(s3.clone(), &bucket);
        documents
            .put(
                conventions_ent::reference::SNAPSHOT_KEY,
                shipped_snapshot().to_vec(),
                "application/octet-stream",
            )
            .await
            .unwrap();
        let reference = conventions_ent::app::load_reference(
            &documents,
            conventions_ent::reference::live::REFRESH_EVERY,
        )
        .await
        .expect("directory loads");
        assert!(reference.current().len() > 600);
        let store = Arc::new(DynamoDossiers::new(dynamo, &table));
        let app = App {
            dossiers: store.clone(),
            counters: store.clone(),
            exports: store,
            documents: Arc::new(documents),
            mailer: Arc::new(SesMailer::new(ses)),
            reference: Arc::new(reference),
            registry: Arc::new(
                conventions_ent::adapters::registry::RechercheEntreprises::new(
                    &config.registry_base_url,
                ),
            ),
            seal: Some(Arc::new(seal)),
            config,
        };
        TestApp {
            registry,
            app,
            sdk,
            s3,
            table,
            stream: Mutex::new(None),
            count_stream: Mutex::new(None),
            export_stream: Mutex::new(None),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.app.config.bucket_name
    }

    /// Sends one request through the submit-dossier handler, as API Gateway would.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let req = lambda_http::request::from_str(&api_event(method, path_and_query, body, headers))
            .expect("valid v2 event");
        let lookup = is_lookup(path_and_query);
        let resp = if lookup {
            conventions_ent::http::lookup::handle(&self.app, req).await
        } else if path_and_query.starts_with("/api/instructeur/")
            || path_and_query.starts_with("/api/editeur/")
        {
            conventions_ent::http::instructeur::handle(&self.app, req).await
        } else {
            conventions_ent::http::handle(&self.app, req).await
        };
        to_test_response(resp.unwrap())
    }

    pub async fn post_json(&self, path: &str, body: &Value, jeton: Option<&str>) -> TestResponse {
        let auth = jeton.map(|j| format!("Bearer {j}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        self.call("POST", path, Some(&body.to_string()), &headers)
            .await
    }

    pub async fn patch_json(&self, path: &str, body: &Value, jeton: &str) -> TestResponse {
        let auth = format!("Bearer {jeton}");
        self.call(
            "PATCH",
            path,
            Some(&body.to_string()),
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
        )
        .await
    }

    pub async fn get(&self, path: &str, jeton: Option<&str>) -> TestResponse {
        let auth = jeton.map(|j| format!("Bearer {j}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.call("GET", path, None, &headers).await
    }

    /// Creates a draft; when it names a valid signatory address, confirms that address as the
    /// signatory would (the code read from the emulator's mail). Returns (id, jeton).
    pub async fn create_draft(&self, body: &Value) -> (String, String) {
        let (id, jeton) = self.create_unconfirmed_draft(body).await;
        let email = body["signataire"]["email"].as_str().unwrap_or("");
        if conventions_ent::domain::email::Email::parse(email).is_ok() {
            self.confirm_signataire(&id, &jeton).await;
        }
        (id, jeton)
    }

    /// Creates a draft and confirms nothing. Returns (id, jeton).
    pub async fn create_unconfirmed_draft(&self, body: &Value) -> (String, String) {
        let r = self.post_json("/api/dossiers", body, None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        (
            v["id"].as_str().unwrap().to_string(),
            v["jeton"].as_str().unwrap().to_string(),
        )
    }

    /// Deposits `body` on a draft as the form does: the signatory named in `body` is saved and
    /// confirms the address by the code first, then the deposit is posted.
    pub async fn deposit_with(&self, id: &str, jeton: &str, body: &Value) -> TestResponse {
        let r = self
            .patch_json(
                &format!("/api/dossiers/{id}"),
                &json!({ "signataire": body["signataire"] }),
                jeton,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        self.confirm_signataire(id, jeton).await;
        self.post_json(&format!("/api/dossiers/{id}/depot"), body, Some(jeton))
            .await
    }

    /// Sends the code to the draft's signatory, reads it in the mail, gives it back.
    pub async fn confirm_signataire(&self, id: &str, jeton: &str) {
        let r = self
            .post_json(
                &format!("/api/dossiers/{id}/signataire/code"),
                &json!({}),
                Some(jeton),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let code = self.last_code().await;
        let r = self
            .post_json(
                &format!("/api/dossiers/{id}/signataire/confirmation"),
                &json!({ "code": code }),
                Some(jeton),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// The code of the last code email sent, as the signatory reads it in the subject.
    pub async fn last_code(&self) -> String {
        let codes = self.sent_codes().await;
        let subject = codes.last().expect("a code email")["subject"]
            .as_str()
            .unwrap()
            .to_string();
        subject
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("six digits in the subject")
            .to_string()
    }

    /// Creates a draft from `body` and deposits it; returns (id, jeton).
    pub async fn deposit_new(&self, body: &Value) -> (String, String) {
        let (id, jeton) = self.create_draft(body).await;
        let r = self
            .post_json(
                &format!("/api/dossiers/{id}/depot"),
                &json!({}),
                Some(&jeton),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        (id, jeton)
    }

    pub async fn delete(&self, path: &str, jeton: &str) -> TestResponse {
        self.call(
            "DELETE",
            path,
            None,
            &[("authorization", &format!("Bearer {jeton}"))],
        )
        .await
    }

    pub async fn stored(&self, id: &str) -> Option<DossierRecord> {
        let id = conventions_ent::domain::ids::DossierId::parse(id).expect("a dossier id");
        self.app.dossiers.get(&id).await.unwrap()
    }

    /// Writes an item as it is, past the store (a dossier as an earlier release stored it, a
    /// stream record's image); Err is the emulator's refusal (an item over 400 KB…).
    pub async fn put_raw(
        &self,
        item: HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) -> Result<(), String> {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    /// The item of `id` as the table holds it (every attribute, the store's copies included).
    pub async fn get_raw(
        &self,
        id: &str,
    ) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(&self.table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get")
            .item
            .expect("stored")
    }

    /// Deletes an item as the TTL would (by its key, whatever it is).
    pub async fn delete_raw(&self, id: &str) {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .delete_item()
            .table_name(&self.table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.into()))
            .send()
            .await
            .expect("delete");
    }

    /// Every item of the table, raw: to prove that a refused request wrote nothing.
    pub async fn table_snapshot(&self) -> Vec<String> {
        let out = aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let mut items: Vec<String> = out
            .items()
            .iter()
            .map(|i| {
                serde_dynamo::from_item::<_, Value>(i.clone())
                    .unwrap()
                    .to_string()
            })
            .collect();
        items.sort();
        items
    }

    /// Turns versioning on, as the template does for the real bucket.
    pub async fn enable_versioning(&self) {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        self.s3
            .put_bucket_versioning()
            .bucket(self.bucket())
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn objects(&self) -> Vec<String> {
        self.objects_under("conventions/").await
    }

    /// Every version of every object under `prefix`.
    pub async fn objects_under(&self, prefix: &str) -> Vec<String> {
        let out = self
            .s3
            .list_object_versions()
            .bucket(self.bucket())
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        out.versions()
            .iter()
            .filter_map(|v| v.key().map(str::to_string))
            .collect()
    }

    /// New stream records since the last call, as the Lambda service delivers them.
    pub async fn stream_event(&self) -> Event {
        self.stream_event_at(&self.stream).await
    }

    /// count-statistics on the stream records since its last call (it leaves out what is not
    /// a dossier, as the template's filters do); the batch it was given.
    pub async fn run_count(&self) -> Event {
        let event = self.stream_event_at(&self.count_stream).await;
        let answer = conventions_ent::jobs::count::handle(self.app.counters.as_ref(), &event).await;
        assert!(
            answer.batch_item_failures.is_empty(),
            "count-statistics failed"
        );
        event
    }

    /// export-schools on the stream records since its last call (the jobs requested since).
    pub async fn run_exports(&self) -> Event {
        let event = self.stream_event_at(&self.export_stream).await;
        let answer = conventions_ent::jobs::export::handle(&self.app, &event).await;
        assert!(
            answer.batch_item_failures.is_empty(),
            "export-schools failed"
        );
        event
    }

    async fn stream_event_at(&self, position: &Mutex<Option<String>>) -> Event {
        let mut cursor = position.lock().await;
        if cursor.is_none() {
            let t = streams_call(
                "DynamoDB_20120810.DescribeTable",
                json!({"TableName": self.table}),
            )
            .await;
            let arn = t["Table"]["LatestStreamArn"].as_str().unwrap().to_string();
            let d = streams_call(
                "DynamoDBStreams_20120810.DescribeStream",
                json!({"StreamArn": arn}),
            )
            .await;
            let shard = d["StreamDescription"]["Shards"][0]["ShardId"]
                .as_str()
                .unwrap()
                .to_string();
            let it = streams_call(
                "DynamoDBStreams_20120810.GetShardIterator",
                json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .await;
            *cursor = Some(it["ShardIterator"].as_str().unwrap().to_string());
        }
        // GetRecords gives 1,000 records at most: every one since the last call.
        let mut records = Vec::new();
        loop {
            let r = streams_call(
                "DynamoDBStreams_20120810.GetRecords",
                json!({"ShardIterator": cursor.clone().unwrap()}),
            )
            .await;
            *cursor = r["NextShardIterator"].as_str().map(str::to_string);
            let page = r["Records"].as_array().cloned().unwrap_or_default();
            let done = page.len() < 1000;
            records.extend(page);
            if done {
                break;
            }
        }
        for rec in &mut records {
            rec["eventSourceARN"] = json!(format!(
                "arn:aws:dynamodb:eu-west-3:123456789012:table/{}/stream",
                self.table
            ));
        }
        serde_json::from_value(json!({ "Records": records }))
            .expect("stream records parse as a Lambda event")
    }

    pub async fn run_generate(&self, event: &Event) -> DynamoDbEventResponse {
        generate::handle(&self.app, event).await
    }

    /// send-acknowledgement as its binary runs it (acknowledgements and acceptance emails).
    pub async fn run_acknowledge(&self, event: &Event) -> DynamoDbEventResponse {
        acknowledge::handle(&self.app, event).await
    }

    /// Emails moto recorded from this test's sender, in order, codes included.
    pub async fn all_sent_emails(&self) -> Vec<Value> {
        // moto builds data.json from live dicts: under the suite's concurrency it sometimes
        // answers 500 (a dict changed during its dump); asking again is the emulator's retry.
        let mut tries = 0;
        let body = loop {
            let (status, _, body) =
                http_get(format!("{}/moto-api/data.json", moto_endpoint())).await;
            tries += 1;
            match status {
                200 => break body,
                // The dump fails while an object it reads is being written: plain moto answers
                // an S3 error then (an XML 404, see load/moto_atomic.py), or a 500.
                404 | 500 if tries < 10 => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                s => panic!("moto data.json answered {s}"),
            }
        };
        let data: Value = serde_json::from_slice(&body).unwrap();
        let mut out = Vec::new();
        collect_messages(&data["ses"], &self.app.config.sender_email, &mut out);
        out
    }

    /// The emails about dossiers (acknowledgements, decisions, messages): every email but the
    /// signatory's confirmation codes.
    pub async fn sent_emails(&self) -> Vec<Value> {
        let mut all = self.all_sent_emails().await;
        all.retain(|e| !is_code_email(e));
        all
    }

    /// The confirmation codes sent, oldest first.
    pub async fn sent_codes(&self) -> Vec<Value> {
        let mut all = self.all_sent_emails().await;
        all.retain(is_code_email);
        all
    }
}

fn is_code_email(e: &Value) -> bool {
    e["subject"]
        .as_str()
        .is_some_and(|s| s.starts_with("Code de confirmation"))
}

fn collect_messages(v: &Value, sender: &str, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) if o.get("source").and_then(Value::as_str) == Some(sender) => {
            out.push(v.clone())
        }
        Value::Object(o) => o.values().for_each(|x| collect_messages(x, sender, out)),
        Value::Array(a) => a.iter().for_each(|x| collect_messages(x, sender, out)),
        _ => {}
    }
}

pub fn to_test_response(resp: lambda_http::Response<Body>) -> TestResponse {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = match resp.body() {
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => Vec::new(),
    };
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

/// Routed as the HTTP API routes them: reference data to school-lookup.
pub fn is_lookup(path: &str) -> bool {
    ["/api/communes", "/api/ecoles/", "/api/collectivites/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// An API Gateway HTTP API (v2) event, as AWS sends it to the function.
pub fn api_event(
    method: &str,
    path_and_query: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut h = serde_json::Map::new();
    h.insert("host".into(), json!("conventions.example"));
    h.insert("user-agent".into(), json!("Mozilla/5.0 (test)"));
    for (k, v) in headers {
        h.insert(k.to_string(), json!(v));
    }
    let qsp: serde_json::Map<String, Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "queryStringParameters": qsp,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "conventions.example",
            "domainPrefix": "conventions",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0 (test)" },
            "requestId": "req",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:20:00:00 +0000",
            "timeEpoch": 1795896000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

/// A DynamoDB (Streams) API call on moto, unsigned: moto does not check signatures.
async fn streams_call(target: &'static str, body: Value) -> Value {
    let url = moto_endpoint();
    tokio::task::spawn_blocking(move || {
        let resp = ureq::post(&url)
            .set("x-amz-target", target)
            .set("content-type", "application/x-amz-json-1.0")
            .set("authorization", "AWS4-HMAC-SHA256 Credential=test/20261128/eu-west-3/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
            .send_string(&body.to_string())
            .expect("moto answers");
        serde_json::from_str(&resp.into_string().unwrap()).unwrap()
    })
    .await
    .unwrap()
}

/// A plain GET (no redirects followed): status, headers, body.
pub async fn http_get(url: String) -> (u16, HashMap<String, String>, Vec<u8>) {
    tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let resp = match agent.get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("GET {url}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| (n.clone(), resp.header(&n).unwrap_or("").to_string()))
            .collect();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
        (status, headers, body)
    })
    .await
    .unwrap()
}

/// A command of a script of make test's venv (`scripts/<script>`).
fn venv_script(script: &str) -> std::process::Command {
    let mut cmd =
        std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python"));
    cmd.arg(format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR")));
    cmd
}

/// scripts/webhook_receiver.py in `mode` (`--verifier`, `--signer`), `input` on its stdin.
fn webhook_receiver(mode: &str, input: &Value) -> std::process::Output {
    use std::io::Write;
    let mut child = venv_script("webhook_receiver.py")
        .arg(mode)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the venv of make test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// An XLSX file as openpyxl (PyPI) reads it: `{"feuilles": [{"nom", "lignes", "types",
/// "filtre", "figee"}]}` (scripts/read_xlsx.py); Err with the reader's words when it does not
/// open.
pub fn read_xlsx(bytes: &[u8]) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    std::fs::write(&path, bytes).unwrap();
    let out = venv_script("read_xlsx.py").arg(&path).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        Ok(serde_json::from_str(&said).unwrap())
    } else {
        Err(said)
    }
}

/// A validator script's verdict: (exit status 0, what it printed).
fn report(mut cmd: std::process::Command) -> (bool, String) {
    let out = cmd.output().expect("the venv of make test");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// Whether the `standardwebhooks` library (PyPI), as the editor runs it, accepts this call.
pub fn editor_library_accepts(
    headers: &HashMap<String, String>,
    body: &str,
) -> Result<String, String> {
    editor_library_accepts_with(WEBHOOK_SECRET, headers, body)
}

/// The same, by an editor holding `secret`.
pub fn editor_library_accepts_with(
    secret: &str,
    headers: &HashMap<String, String>,
    body: &str,
) -> Result<String, String> {
    let input = json!({"secret": secret, "headers": headers, "body": body});
    let out = webhook_receiver("--verifier", &input);
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(said)
    } else {
        Err(said)
    }
}

/// The Standard Webhooks headers the `standardwebhooks` library (PyPI) makes for a message,
/// as the ENT editor signs its answer (at `timestamp`, epoch seconds; now when None).
pub fn editor_library_signs(
    secret: &str,
    id: &str,
    body: &str,
    timestamp: Option<i64>,
) -> HashMap<String, String> {
    let input = json!({"secret": secret, "id": id, "body": body, "timestamp": timestamp});
    let out = webhook_receiver("--signer", &input);
    assert!(out.status.success(), "the library signs");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first link of an email's text that starts with `prefix`.
pub fn link_in(email: &Value, prefix: &str) -> String {
    let body = email["body"].as_str().unwrap_or_default().to_string();
    let start = body
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {body}"));
    body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<' && *c != '\\')
        .collect()
}

/// A complete, valid dossier body.
/// A dossier of Saint-Brieuc (Côtes-d'Armor, the tests' second département) with one school.
pub fn dossier_22() -> Value {
    let mut body = full_dossier();
    body["collectivite"]["siret"] = json!(SIRET_SAINT_BRIEUC);
    body["ecoles"] = json!([{"uai": UAI_SAINT_BRIEUC}]);
    body["signataire"]["email"] = json!("mairie@saint-brieuc.exemple.fr");
    body
}

pub fn full_dossier() -> Value {
    json!({
        "collectivite": { "siret": SIRET_BAULON },
        "signataire": { "prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr",
                        "habilitation": { "nature": "deliberation", "date": "2026-03-28", "reference": "2026-014" } },
        "ecoles": [ { "uai": UAI_BAULON }, { "uai": UAI_CARDROC } ],
        "referent": { "designe": true, "prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr" },
        "approbation": true
    })
}

/// A seal of its own for each test app, made as `admin setup-local` makes the local one: an
/// ECC P-256 key in KMS (moto) and its self-signed certificate in SSM.
pub async fn test_seal(sdk: &aws_config::SdkConfig) -> conventions_ent::config::SealSettings {
    use conventions_ent::adapters::{kms, ssm::SsmCertificates};
    let sfx = suffix();
    let settings = conventions_ent::config::SealSettings {
        key_id: format!("alias/test-sceau-{sfx}"),
        certificate_parameter: format!("/test-{sfx}/sceau/certificat"),
    };
    let client = aws_sdk_kms::Client::new(sdk);
    kms::ensure_key(&client, &settings.key_id).await.unwrap();
    let key = kms::KmsSealKey::new(client, &settings.key_id);
    let store = SsmCertificates::new(
        aws_sdk_ssm::Client::new(sdk),
        &settings.certificate_parameter,
    );
    conventions_ent::seal::setup::ensure_local_certificate(
        &key,
        &store,
        "Académie de Rennes",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    settings
}

/// What scripts/check_seal.py (pdfsig and pyHanko) says of `pdf` sealed by the holder of
/// `chain_pem`: (both valid, their report).
pub fn check_seal(chain_pem: &str, pdfs: &[&[u8]]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("certificat.pem");
    std::fs::write(&cert, chain_pem).unwrap();
    let mut cmd = venv_script("check_seal.py");
    cmd.arg(&cert);
    for (i, pdf) in pdfs.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.pdf"));
        std::fs::write(&path, pdf).unwrap();
        cmd.arg(path);
    }
    report(cmd)
}

/// Runs scripts/check_pdf.py (PDF/A-2b and PDF/UA-1) on the files: (all conformant, report).
pub fn check_pdf(paths: &[std::path::PathBuf]) -> (bool, String) {
    let mut cmd = venv_script("check_pdf.py");
    cmd.args(paths);
    report(cmd)
}

/// pdftotext of a PDF (poppler-utils, installed by `make test`).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is installed (make test installs poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A client of the s3s-fs server `make test` starts (it checks presigned signatures and expiry).
pub async fn s3s_client() -> aws_sdk_s3::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(
            std::env::var("S3S_ENDPOINT")
                .expect("S3S_ENDPOINT is set by `make test`, which starts s3s-fs"),
        )
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            std::env::var("S3S_ACCESS_KEY").unwrap(),
            std::env::var("S3S_SECRET_KEY").unwrap(),
            None,
            None,
            "s3s-fs",
        ))
        .load()
        .await;
    S3Documents::client(&sdk, true)
}
