//! The small traits the handlers and jobs depend on; `adapters` implements them on AWS.

use crate::domain::deposit::Depot;
use crate::domain::dossier::WebhookTentative;
use crate::domain::dossier::{
    AccuseRecord, ConventionRecord, DossierRecord, Evenement, Message, Statut,
};
use crate::domain::draft::Draft;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in another state.
    #[error("conflit d’état")]
    Conflict,
    /// The service failed after the SDK's retries.
    #[error("service indisponible : {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait DossierStore: Send + Sync {
    async fn next_numero(&self) -> Result<u64, StoreError>;
    /// Fails with Conflict if the id exists.
    async fn create(&self, record: &DossierRecord) -> Result<(), StoreError>;
    /// Strongly consistent read.
    async fn get(&self, id: &str) -> Result<Option<DossierRecord>, StoreError>;
    /// Conflict unless the dossier is still a draft.
    async fn save_draft(&self, id: &str, draft: &Draft, now: &str) -> Result<(), StoreError>;
    /// Conflict unless the dossier is still a draft: a dossier is deposited once.
    async fn deposit(
        &self,
        id: &str,
        draft: &Draft,
        depot: &Depot,
        now: &str,
    ) -> Result<(), StoreError>;
    /// Records the generated convention; Ok(false) when it was already recorded.
    async fn record_convention(
        &self,
        id: &str,
        convention: &ConventionRecord,
    ) -> Result<bool, StoreError>;
    /// Takes the email lease until `until` (epoch ms, unique per attempt); Ok(false) when the
    /// email was sent or another send holds the lease.
    async fn claim_acknowledgement(
        &self,
        id: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError>;
    async fn record_acknowledgement(
        &self,
        id: &str,
        accuse: &AccuseRecord,
    ) -> Result<(), StoreError>;
    async fn release_acknowledgement(&self, id: &str) -> Result<(), StoreError>;
    async fn find_by_verification_code(
        &self,
        code: &str,
    ) -> Result<Option<DossierRecord>, StoreError>;
    /// Moves the dossier from `from` to `to` and appends `evenement` to its audit trail;
    /// sets its TTL `expire_le` (epoch seconds) or, when None, removes it. Conflict if it is
    /// no longer in `from`.
    async fn transition(
        &self,
        id: &str,
        from: Statut,
        to: Statut,
        evenement: &Evenement,
        expire_le: Option<i64>,
    ) -> Result<(), StoreError>;
    /// Appends a message (and its audit line) to a dossier that exists.
    async fn add_message(
        &self,
        id: &str,
        message: &Message,
        evenement: &Evenement,
    ) -> Result<(), StoreError>;
    /// Schedules the webhook of an accepted dossier (webhook_etat → "a_envoyer"); Conflict if
    /// it is not accepted.
    async fn request_webhook(&self, id: &str, evenement: &Evenement) -> Result<(), StoreError>;
    /// Records one delivery attempt; `delivered` marks the webhook done.
    async fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &WebhookTentative,
        delivered: bool,
    ) -> Result<(), StoreError>;
    /// Deletes a draft; Conflict once deposited.
    async fn delete_draft(&self, id: &str) -> Result<(), StoreError>;
    /// Deposited dossiers, newest deposit first, filtered; `cursor` continues a listing.
    async fn list_deposited(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError>;
}

/// Filters of the instructeur's dossier list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub statuts: Vec<Statut>,
    /// Département code ("35") of one of the dossier's schools.
    pub departement: Option<String>,
    /// INSEE code of one of the dossier's schools.
    pub commune: Option<String>,
    /// Deposit date bounds, inclusive, "YYYY-MM-DD".
    pub depose_du: Option<String>,
    pub depose_au: Option<String>,
    /// Words searched in the collectivité's name and SIRET (case and accents ignored).
    pub texte: Option<String>,
    /// Oldest deposit first (exports) instead of newest first (the list).
    pub chronologique: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// An object was already there (an earlier attempt): its SHA-256 as recorded in metadata.
    AlreadyExists {
        sha256: String,
        size: u64,
    },
}

#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Writes the object only if no object exists under that key.
    async fn put_pdf_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        sha256: &str,
    ) -> Result<PutOutcome, StoreError>;
    /// A short-lived presigned GET URL that downloads as `filename`.
    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        ttl_seconds: u64,
    ) -> Result<String, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// Erases every version of every object under `prefix` (delete markers included), so that
    /// nothing is left to restore; returns how many were erased (0 on a replay).
    async fn erase_all_versions(&self, prefix: &str) -> Result<usize, StoreError>;
}

/// An email ready to send; every header value is a single line.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub reply_to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the provider's message id.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, StoreError>;
}
