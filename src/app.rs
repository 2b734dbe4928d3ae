//! The application: configuration plus the adapters behind the ports, built once per cold
//! start and shared by every invocation.

use crate::adapters::registry::RechercheEntreprises;
use crate::adapters::{dynamo::DynamoDossiers, s3::S3Documents, sdk_config, ses::SesMailer};
use crate::adapters::{kms::KmsSealKey, ssm::SsmCertificates};
use crate::config::{Config, SealSettings};
use crate::domain::dossier::DossierRecord;
use crate::ports::SealCertificateStore;
use crate::ports::{CompanyRegistry, CounterStore, ExportStore};
use crate::ports::{DocumentStore, DossierStore, Fetched, Mailer, StoreError};
use crate::reference::live::{LiveDirectory, REFRESH_EVERY};
use crate::reference::{Directory, COLLECTIVITES_KEY, ECOLES_KEY, SNAPSHOT_KEY};
use crate::seal::{Seal, SealError};
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub dossiers: Arc<dyn DossierStore>,
    /// The figures' counters (`domain::statistics`), in the same table.
    pub counters: Arc<dyn CounterStore>,
    /// The export jobs (`domain::export`), in the same table.
    pub exports: Arc<dyn ExportStore>,
    pub documents: Arc<dyn DocumentStore>,
    pub mailer: Arc<dyn Mailer>,
    /// The school directory, following its imports (`reference::live`): read it through
    /// [`App::directory`].
    pub reference: Arc<LiveDirectory>,
    pub registry: Arc<dyn CompanyRegistry>,
    /// The académie's seal, loaded by the functions that need it ([`App::load_seal`]: the one
    /// that seals the PDFs and the one that serves the certificate); None elsewhere, and when
    /// it is not configured.
    pub seal: Option<Arc<Seal>>,
}

impl App {
    /// The school directory in use: the same snapshot for the whole invocation (it changes
    /// only in [`App::refresh_reference`], when an invocation starts).
    pub fn directory(&self) -> Arc<Directory> {
        self.reference.current()
    }

    /// At the start of an invocation: swaps in a newer snapshot of the directory when the
    /// importer wrote one (a conditional GET at most once a minute).
    pub async fn refresh_reference(&self) {
        self.reference.refresh_if_due(self.documents.as_ref()).await;
    }

    /// The DSDEN of a dossier: its département's once deposited; for a draft, the one its
    /// SIRET's commune or its first school points to (the preview prints that DASEN).
    pub fn dsden(&self, r: &DossierRecord) -> &crate::academie::Departement {
        let code = r.departement().or_else(|| {
            let b = &r.brouillon;
            let siret = b.collectivite.as_ref().and_then(|c| c.siret.as_deref());
            let commune = siret
                .filter(|s| s.len() == 14)
                .and_then(|s| self.directory().collectivite(&s[..9]))
                .and_then(|c| c.code_insee);
            let school = b.ecoles.iter().flatten().find_map(|e| {
                let uai = crate::domain::uai::Uai::parse(e.uai.as_deref()?).ok()?;
                Some(
                    crate::domain::school::SchoolDirectory::ecole(self.directory().as_ref(), &uai)?
                        .code_insee
                        .clone(),
                )
            });
            commune
                .or(school)
                .map(|c| crate::domain::perimeter::departement_of(&c))
        });
        self.config.academie.for_departement(code.as_deref())
    }

    /// The ENT editor a dossier's schools are handed over to (`Editeurs::route`: its
    /// collectivité, its département, else the single-editor settings); None: no editor.
    pub fn editeur(&self, r: &DossierRecord) -> Option<crate::editeurs::Editeur> {
        let siren = r.depot.as_ref().map(|d| d.collectivite.siren.as_str());
        let defaut = self.config.editeur_defaut();
        self.config
            .editeurs
            .route(siren, r.departement().as_deref(), defaut.as_ref())
            .cloned()
    }

    /// What the académie's settings say the steps on `r` must obey: its retention, and
    /// whether an acceptance or a termination tells its editor (a webhook is configured).
    pub fn policy(&self, r: &DossierRecord) -> crate::domain::life::Policy {
        crate::domain::life::Policy {
            retention_days: self.config.dossier_retention_days,
            webhook: self.editeur(r).is_some_and(|e| e.webhook_url.is_some()),
        }
    }

    /// Builds the AWS clients from the environment and loads the school directory.
    pub async fn connect(config: Config) -> Result<App, StoreError> {
        let sdk = sdk_config(config.endpoint_url.as_deref()).await;
        let local = config.endpoint_url.is_some();
        let documents = Arc::new(S3Documents::new(
            S3Documents::client(&sdk, local),
            &config.bucket_name,
        ));
        let reference = Arc::new(load_reference(documents.as_ref(), REFRESH_EVERY).await?);
        let dossiers = Arc::new(DynamoDossiers::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &config.table_name,
        ));
        Ok(App {
            counters: dossiers.clone(),
            exports: dossiers.clone(),
            dossiers,
            documents,
            mailer: Arc::new(SesMailer::new(aws_sdk_ses::Client::new(&sdk))),
            reference,
            registry: Arc::new(RechercheEntreprises::new(&config.registry_base_url)),
            seal: None,
            config,
        })
    }

    /// The counters' store alone, for count-statistics: the one function that reads neither
    /// the school directory nor the documents, so its cold start loads neither and its role
    /// may not read them.
    pub async fn connect_counters(config: &Config) -> Arc<dyn CounterStore> {
        let sdk = sdk_config(config.endpoint_url.as_deref()).await;
        Arc::new(DynamoDossiers::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &config.table_name,
        ))
    }

    /// Loads the seal when it is configured: the chain from its SSM parameter (one GetParameter
    /// at cold start), the key as a KMS client (not called here). Only the functions that use
    /// it call this, so that only their roles may read the parameter. Unconfigured: nothing
    /// to load, `seal` stays None.
    pub async fn load_seal(&mut self) -> Result<(), SealError> {
        if let Some(settings) = &self.config.seal {
            let sdk = sdk_config(self.config.endpoint_url.as_deref()).await;
            self.seal = Some(Arc::new(connect_seal(&sdk, settings).await?));
        }
        Ok(())
    }

    /// The seal, or why there is none: what a job that seals reports (in French, naming the
    /// variables to set).
    pub fn require_seal(&self) -> Result<&Seal, SealError> {
        self.seal.as_deref().ok_or(SealError::NotConfigured)
    }
}

/// The seal of `settings`: the chain read from its parameter (a missing parameter says what
/// to run), the key in KMS.
pub async fn connect_seal(
    sdk: &aws_config::SdkConfig,
    settings: &SealSettings,
) -> Result<Seal, SealError> {
    let store = SsmCertificates::new(
        aws_sdk_ssm::Client::new(sdk),
        &settings.certificate_parameter,
    );
    let pem = store
        .get()
        .await?
        .ok_or_else(|| SealError::CertificateMissing(settings.certificate_parameter.clone()))?;
    let key = KmsSealKey::new(aws_sdk_kms::Client::new(sdk), &settings.key_id);
    Seal::new(Arc::new(key), &pem)
}

/// The snapshot written by the importer (`reference/annuaire.bin`: one GET, one pass); a bucket
/// imported before it still has the older JSON snapshots, read instead. No snapshot at all
/// gives an empty directory (every deposit is then refused with a clear message) rather than a
/// function that cannot start; an unreadable one (other format version, truncated, corrupt)
/// stops the cold start with the reason.
pub async fn load_directory(documents: &dyn DocumentStore) -> Result<Directory, StoreError> {
    Ok(load_tagged(documents).await?.0)
}

/// The directory as [`load_directory`] reads it, kept up to date with its imports
/// (`reference::live`).
pub async fn load_reference(
    documents: &dyn DocumentStore,
    every: std::time::Duration,
) -> Result<LiveDirectory, StoreError> {
    let (directory, etag) = load_tagged(documents).await?;
    Ok(LiveDirectory::new(directory, etag, every))
}

/// The directory and the ETag of the snapshot it was read from (None for the older JSON
/// snapshots and for none at all).
async fn load_tagged(
    documents: &dyn DocumentStore,
) -> Result<(Directory, Option<String>), StoreError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        StoreError::Unavailable(format!("données de référence illisibles : {e}"))
    };
    if let Fetched::Object { bytes, etag } = documents.get_if_changed(SNAPSHOT_KEY, None).await? {
        let started = std::time::Instant::now();
        let directory = Directory::from_snapshot(&bytes).map_err(|e| unreadable(&e))?;
        tracing::info!(
            key = SNAPSHOT_KEY,
            bytes = bytes.len(),
            ecoles = directory.len(),
            load_ms = started.elapsed().as_secs_f64() * 1000.0,
            "reference data loaded"
        );
        return Ok((directory, etag));
    }
    match documents.get(ECOLES_KEY).await? {
        Some(bytes) => {
            tracing::warn!(
                key = ECOLES_KEY,
                "older JSON reference snapshot: run the importer to write {SNAPSHOT_KEY}"
            );
            let collectivites = documents.get(COLLECTIVITES_KEY).await?;
            Directory::from_snapshots(&bytes, collectivites.as_deref())
                .map(|d| (d, None))
                .map_err(|e| unreadable(&e))
        }
        None => {
            tracing::warn!(
                key = SNAPSHOT_KEY,
                "no school directory snapshot: run the importer"
            );
            Ok((Directory::default(), None))
        }
    }
}

/// JSON logs in Lambda (CloudWatch), readable ones in a terminal.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok()
        && std::env::var("AWS_ENDPOINT_URL").is_err()
    {
        builder.json().without_time().init();
    } else {
        builder.init();
    }
}
