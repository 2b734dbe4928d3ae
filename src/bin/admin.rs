//! Operator commands, for the local stack and for AWS alike:
//!
//! - `admin setup-local`: creates the table, the bucket and the SES identity (local emulator);
//! - `admin import-annuaire <file.csv|file.json>`: imports an export of the school directory,
//!   merges it into the current snapshot (adds, updates, closes), publishes it with the
//!   communes/EPCI and the commune search index as one binary snapshot
//!   (`reference/annuaire.bin`); prints one summary line. The functions load it at cold start, so
//!   reference data changes without a redeployment. On AWS, run the same command with the
//!   stack's BUCKET_NAME and credentials allowed to write `reference/*`. `--base-vide` starts
//!   from the file alone (the complete export), e.g. over a snapshot this version cannot read.
//!
//! - `admin compacter-journaux`: moves the journals of dossiers stored before they were
//!   bounded (`domain::journal`) into their pages; prints one summary line; idempotent (a
//!   second run compacts nothing). Run it once after deploying this version.
//!
//! - `admin recompter-statistiques`: recomputes the figures' counters (`jobs::count`) from
//!   every dossier and writes what differs; prints one summary line; a second run writes
//!   nothing. After deploying this version (the counters start empty), and whenever the
//!   figures are in doubt, with count-statistics' stream paused (infra/README).
//!
//! - `admin instructeur-token`: prints a dev instructeur token (8 h) signed with
//!   DEV_JWT_SECRET, which only the local stack accepts.
//!
//! The académie's seal (SEAL_KEY_ID, SEAL_CERTIFICATE_PARAMETER, ACADEMIE_NOM):
//!
//! - `admin setup-local` also creates the seal's key in the emulator (ECC_NIST_P256,
//!   SIGN_VERIFY) under the alias SEAL_KEY_ID, and a self-signed certificate made through it,
//!   stored in the parameter; a second run keeps both;
//! - `admin seal-csr`: prints (stdout, PEM) a certificate request for the configured key, to
//!   send to a certification authority;
//! - `admin seal-certificate <chaine.pem>`: stores the chain the authority issued (leaf first)
//!   in the parameter, after checking that it certifies the KMS key (refused otherwise).
//!
//! Reads TABLE_NAME, BUCKET_NAME, SENDER_EMAIL and AWS_ENDPOINT_URL from the environment.

use conventions_ent::adapters::{dynamo, kms, s3::S3Documents, sdk_config, ssm::SsmCertificates};
use conventions_ent::config::SealSettings;
use conventions_ent::ports::DocumentStore;
use conventions_ent::reference::{annuaire, decoupage, Directory, ECOLES_KEY, SNAPSHOT_KEY};
use conventions_ent::seal::setup::{self, LocalCertificate};
use std::process::ExitCode;

/// Where `@etalab/decoupage-administratif`'s data was unpacked (scripts/setup-tools.sh).
fn decoupage_dir() -> std::path::PathBuf {
    std::env::var("DECOUPAGE_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| std::path::PathBuf::from(".tools/decoupage/package/data"))
}

/// Imports an export into the directory (merged with the current snapshot), extracts the
/// communes/EPCI of the communes that have schools, and publishes both with the commune search
/// index as one binary snapshot (`reference/annuaire.bin`), left as it is when nothing changed.
/// Returns the summary line.
/// `fresh` (`--base-vide`) ignores the current snapshot, e.g. one this version cannot read:
/// the file then has to be the complete export.
async fn import_annuaire(
    store: &S3Documents,
    bytes: &[u8],
    decoupage: &std::path::Path,
    fresh: bool,
) -> Result<String, String> {
    let (imported, report) = annuaire::import(bytes).map_err(|e| e.to_string())?;
    let previous = store.get(SNAPSHOT_KEY).await.map_err(|e| e.to_string())?;
    let current: Vec<conventions_ent::domain::school::Ecole> = match &previous {
        _ if fresh => Vec::new(),
        Some(b) => Directory::from_snapshot(b)
            .map_err(|e| {
                format!(
                    "{SNAPSHOT_KEY} : {e} (pour repartir du seul fichier importé, s’il est \
                     l’export complet : admin import-annuaire <fichier> --base-vide)"
                )
            })?
            .ecoles(),
        // A bucket imported before the binary snapshot: its JSON one.
        None => match store.get(ECOLES_KEY).await.map_err(|e| e.to_string())? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| format!("{ECOLES_KEY} : {e}"))?,
            None => Vec::new(),
        },
    };
    let (merged, changes) = annuaire::merge(&current, imported);
    let read = |name: &str| {
        std::fs::read(decoupage.join(name)).map_err(|e| {
            format!(
                "{} : {e} (lancez scripts/setup-tools.sh)",
                decoupage.join(name).display()
            )
        })
    };
    let wanted = merged.iter().map(|e| e.code_insee.clone()).collect();
    let collectivites = decoupage::extract(&read("communes.json")?, &read("epci.json")?, &wanted)
        .map_err(|e| e.to_string())?;
    let (communes, epcis) = (collectivites.communes.len(), collectivites.epcis.len());
    let total = merged.len();
    let snapshot = Directory::with_collectivites(merged, collectivites).to_snapshot();
    if previous.as_deref() != Some(snapshot.as_slice()) {
        store
            .put(SNAPSHOT_KEY, snapshot, "application/octet-stream")
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(format!(
        "{} ; annuaire : ajoutées={} modifiées={} fermées={} inchangées={} (total {total}) ; communes={communes} EPCI={epcis}",
        report.summary(),
        changes.ajoutees,
        changes.modifiees,
        changes.fermees,
        changes.inchangees,
    ))
}

/// The académie's name, for its seal: from ACADEMIE_CONFIG when set, else ACADEMIE_NOM alone
/// (what `seal-csr` needs on a machine that has no other setting).
fn academie_nom() -> Result<String, String> {
    if std::env::var("ACADEMIE_CONFIG").is_ok_and(|v| !v.trim().is_empty()) {
        return conventions_ent::academie::Academie::from_env()
            .map(|a| a.nom)
            .map_err(|e| e.to_string());
    }
    env("ACADEMIE_NOM")
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("variable d’environnement {name} absente"))
}

/// The seal's settings, required.
fn seal_settings() -> Result<SealSettings, String> {
    SealSettings::from_env()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| conventions_ent::seal::SealError::NotConfigured.to_string())
}

/// The seal's key and chain store for `settings`.
fn seal_ports(
    sdk: &aws_config::SdkConfig,
    settings: &SealSettings,
) -> (kms::KmsSealKey, SsmCertificates) {
    (
        kms::KmsSealKey::new(aws_sdk_kms::Client::new(sdk), &settings.key_id),
        SsmCertificates::new(
            aws_sdk_ssm::Client::new(sdk),
            &settings.certificate_parameter,
        ),
    )
}

/// `setup-local`'s part for the seal: the key under its alias, then its certificate; both kept
/// when they are there. Returns the summary line.
async fn setup_local_seal(
    sdk: &aws_config::SdkConfig,
    settings: &SealSettings,
) -> Result<String, String> {
    let academie = academie_nom()?;
    let (_, created) = kms::ensure_key(&aws_sdk_kms::Client::new(sdk), &settings.key_id)
        .await
        .map_err(|e| e.to_string())?;
    let (key, store) = seal_ports(sdk, settings);
    let certificate = setup::ensure_local_certificate(&key, &store, &academie, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    let (cn, made) = match certificate {
        LocalCertificate::Created { common_name } => (common_name, "créé"),
        LocalCertificate::Reused { common_name } => (common_name, "conservé"),
    };
    Ok(format!(
        "sceau : clé {} {}, certificat « {cn} » {made} dans {}",
        settings.key_id,
        if created { "créée" } else { "conservée" },
        settings.certificate_parameter
    ))
}

async fn run(args: &[String]) -> Result<(), String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let sdk = sdk_config(endpoint.as_deref()).await;
    let s3 = S3Documents::client(&sdk, endpoint.is_some());
    match args.first().map(String::as_str) {
        Some("setup-local") => {
            let bucket = env("BUCKET_NAME")?;
            let table = env("TABLE_NAME")?;
            dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
                .await
                .map_err(|e| e.to_string())?;
            let mut create = s3.create_bucket().bucket(&bucket);
            if let Some(region) = sdk
                .region()
                .map(|r| r.to_string())
                .filter(|r| r != "us-east-1")
            {
                use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
                create = create.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build(),
                );
            }
            match create.send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
                Err(e) => return Err(conventions_ent::adapters::describe(&e)),
            }
            let sender = env("SENDER_EMAIL")?;
            aws_sdk_ses::Client::new(&sdk)
                .verify_email_identity()
                .email_address(&sender)
                .send()
                .await
                .map_err(|e| conventions_ent::adapters::describe(&e))?;
            println!("table {table}, bucket {bucket}, identité SES {sender} : prêts");
            match SealSettings::from_env().map_err(|e| e.to_string())? {
                Some(settings) => println!("{}", setup_local_seal(&sdk, &settings).await?),
                None => println!("sceau : non configuré (SEAL_KEY_ID et SEAL_CERTIFICATE_PARAMETER absents)"),
            }
            Ok(())
        }
        Some("seal-csr") => {
            let settings = seal_settings()?;
            let academie = academie_nom()?;
            let (key, _) = seal_ports(&sdk, &settings);
            let pem = setup::certification_request_pem(&key, &academie)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "demande de certificat pour la clé {} : à envoyer à l’autorité de certification, \
                 puis admin seal-certificate <chaîne reçue.pem>",
                settings.key_id
            );
            print!("{pem}");
            Ok(())
        }
        Some("seal-certificate") => {
            let file = args
                .get(1)
                .ok_or("usage : admin seal-certificate <chaine.pem> (le certificat du sceau d’abord)")?;
            let settings = seal_settings()?;
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file} : {e}"))?;
            let (key, store) = seal_ports(&sdk, &settings);
            let chain = setup::store_chain(&key, &store, &text)
                .await
                .map_err(|e| format!("{file} : {e}"))?;
            println!(
                "{file} : chaîne de {} certificat(s) enregistrée dans {} ; sceau « {} », valable \
                 jusqu’au {} (UTC). Les fonctions la lisent à leur prochain démarrage.",
                chain.len(),
                settings.certificate_parameter,
                chain[0].common_name().unwrap_or_default(),
                chain[0].not_after().format("%d/%m/%Y %H:%M"),
            );
            Ok(())
        }
        Some("import-annuaire") => {
            let file = args
                .get(1)
                .ok_or("usage : admin import-annuaire <fichier.csv|fichier.json> [--base-vide]")?;
            let fresh = match args.get(2).map(String::as_str) {
                None => false,
                Some("--base-vide") => true,
                Some(other) => return Err(format!("option inconnue : {other} (--base-vide)")),
            };
            let bytes = std::fs::read(file).map_err(|e| format!("{file} : {e}"))?;
            let store = S3Documents::new(s3, &env("BUCKET_NAME")?);
            let line = import_annuaire(&store, &bytes, &decoupage_dir(), fresh).await?;
            println!("{file} : {line}");
            Ok(())
        }
        Some("compacter-journaux") => {
            let store = dynamo::DynamoDossiers::new(aws_sdk_dynamodb::Client::new(&sdk), env("TABLE_NAME")?);
            let done = conventions_ent::jobs::compact::compact_journals(&store)
                .await
                .map_err(|e| e.to_string())?;
            println!("journaux : {done}");
            Ok(())
        }
        Some("recompter-statistiques") => {
            let store = dynamo::DynamoDossiers::new(aws_sdk_dynamodb::Client::new(&sdk), env("TABLE_NAME")?);
            let done = conventions_ent::jobs::count::repair(&store, &store)
                .await
                .map_err(|e| e.to_string())?;
            println!("chiffres : {done}");
            Ok(())
        }
        Some("instructeur-token") => {
            let secret = env("DEV_JWT_SECRET")?;
            let now = chrono::Utc::now().timestamp();
            // DEPARTEMENT=35 (or 22,35): a scoped instructeur (groups instructeurs-<code>);
            // without it, an académie-wide one.
            let codes: Vec<String> = std::env::var("DEPARTEMENT")
                .unwrap_or_default()
                .split([',', ' '])
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            let academie = conventions_ent::academie::Academie::from_env().map_err(|e| e.to_string())?;
            if let Some(c) = codes.iter().find(|c| !academie.serves(c)) {
                return Err(format!(
                    "DEPARTEMENT={c} : l’académie configurée sert {} (ACADEMIE_CONFIG)",
                    academie.served_text()
                ));
            }
            let groups: Vec<String> = if codes.is_empty() {
                vec![conventions_ent::http::instructeur::auth::GROUP.to_string()]
            } else {
                codes.iter().map(|c| conventions_ent::academie::group_of(c)).collect()
            };
            // The académie-wide one keeps the first release's identity (pages and tests name it).
            let (sub, email) = if codes.is_empty() {
                ("dev-instructeur".to_string(), "instructeur@ac-rennes.fr".to_string())
            } else {
                let who = codes.join("-");
                (format!("dev-instructeur-{who}"), format!("instructeur-{who}@ac-rennes.fr"))
            };
            let claims = serde_json::json!({
                "sub": sub,
                "email": email,
                "name": "Alex DURAND",
                "token_use": "id",
                "cognito:groups": groups,
                "iat": now,
                "exp": now + 8 * 3600,
            });
            println!("{}", conventions_ent::http::instructeur::auth::sign_hs256(&claims, secret.as_bytes()));
            Ok(())
        }
        _ => Err("usage : admin setup-local | admin import-annuaire <fichier.csv|json> | admin instructeur-token \
                  | admin seal-csr | admin seal-certificate <chaine.pem> | admin compacter-journaux \
                  | admin recompter-statistiques".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e}");
            ExitCode::FAILURE
        }
    }
}
