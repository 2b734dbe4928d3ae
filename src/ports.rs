//! The small traits the handlers and jobs depend on; `adapters` implements them on AWS (and
//! in memory, for unit tests and the benchmark).

use crate::domain::change::Change;
use crate::domain::dossier::{DossierRecord, Statut};
use crate::domain::export::ExportJob;
use crate::domain::ids::DossierId;
use crate::domain::journal::{self, Archives, Journals, Page};
use crate::domain::life::Step;
use crate::domain::listing::{self, Ligne};
use crate::domain::signataire::Quota;
use crate::domain::siret::Siret;
use crate::domain::statistics::{Counted, Figures, Membership, Repair, Tallies};
use async_trait::async_trait;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in another state.
    #[error("conflit d’état")]
    Conflict,
    /// The service failed after the SDK's retries.
    #[error("service indisponible : {0}")]
    Unavailable(String),
    /// The dossier would pass [`MAX_DOSSIER_ITEM_BYTES`]: nothing written.
    #[error("dossier trop volumineux ({octets} octets, {ecoles} écoles)")]
    TooLarge { ecoles: usize, octets: usize },
}

/// The documented maximum of a dossier item, as DynamoDB counts it (its limit is 400 KB): a
/// margin for what a stream consumer adds after a step (a lease, a convention version). The
/// journals take at most 62 KB of it (`domain::journal`), the schools, packed
/// (`domain::packed`), most of the rest; a write that would pass it is refused
/// ([`StoreError::TooLarge`], a French 422 on `ecoles`) instead of failing on DynamoDB's limit.
pub const MAX_DOSSIER_ITEM_BYTES: usize = 350 * 1024;

/// The dossiers. Each step of `domain::steps` returns a [`Change`]; the store writes it with
/// its condition in one conditional write ([`DossierStore::write`]: `Conflict` when the
/// condition no longer holds), under the step's own name below. Stores translate; they decide
/// nothing.
#[async_trait]
pub trait DossierStore: Send + Sync {
    async fn next_numero(&self) -> Result<u64, StoreError>;
    /// Fails with Conflict if the id exists.
    async fn create(&self, record: &DossierRecord) -> Result<(), StoreError>;
    /// Strongly consistent read.
    async fn get(&self, id: &DossierId) -> Result<Option<DossierRecord>, StoreError>;
    /// Writes `change` if its condition holds on the stored dossier, else Conflict.
    async fn write(&self, id: &DossierId, change: &Change) -> Result<(), StoreError>;
    /// Writes two dossiers' changes in one transaction: both conditions hold and both are
    /// written, or Conflict and neither is (an avenant's acceptance and its convention's new
    /// perimeter).
    async fn write_both(
        &self,
        first: (&DossierId, &Change),
        second: (&DossierId, &Change),
    ) -> Result<(), StoreError>;
    /// Deletes the dossier if the change's condition holds, else Conflict.
    async fn delete(&self, id: &DossierId, change: &Change) -> Result<(), StoreError>;
    /// The dossier one of whose convention versions has this code (current or superseded).
    async fn find_by_verification_code(
        &self,
        code: &str,
    ) -> Result<Option<DossierRecord>, StoreError>;
    /// Takes one from `quota` (a counter with its own item, removed by the TTL after its
    /// window); Conflict when its limit is reached.
    async fn take_quota(&self, quota: &Quota) -> Result<(), StoreError>;
    /// Remembers `key` until `until` (epoch seconds; the TTL removes it then).
    async fn remember(&self, key: &str, until: i64) -> Result<(), StoreError>;
    /// Whether `key` is remembered.
    async fn remembers(&self, key: &str) -> Result<bool, StoreError>;
    /// Deposited dossiers, newest deposit first, filtered; `cursor` continues a listing.
    async fn list_deposited(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError>;
    /// The same listing as `list_deposited`, as the list's rows (`domain::listing`): what the
    /// list index holds, without reading the dossiers (but those stored before rows existed).
    async fn list_rows(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Ligne>, Option<String>), StoreError>;

    /// The pages of a dossier's journals (`domain::journal`), read consistently: as many as
    /// `archives` counts.
    async fn archived_pages(
        &self,
        id: &DossierId,
        archives: &Archives,
    ) -> Result<Vec<Page>, StoreError>;
    /// Erases a dossier's pages (the retention removed the dossier); how many were erased.
    async fn erase_archives(
        &self,
        id: &DossierId,
        archives: &Archives,
    ) -> Result<usize, StoreError>;
    /// Stores `r`'s lists of schools packed (`domain::packed`) where the stored dossier still
    /// holds them as plain lists (written before packing), unchanged otherwise: whether it
    /// wrote. Conflict when the dossier changed since `r` was read. For the migration; a store
    /// that never held plain lists writes nothing.
    async fn pack_school_lists(&self, _r: &DossierRecord) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Every dossier, drafts included, a page at a time (`cursor` continues): for the
    /// migrations (`admin compacter-journaux`).
    async fn scan_dossiers(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError>;

    /// The dossier's whole journals, oldest first: its pages, then what its item keeps.
    async fn journals(&self, r: &DossierRecord) -> Result<Journals, StoreError> {
        let pages = if r.archives.is_empty() {
            Vec::new()
        } else {
            self.archived_pages(&r.id, &r.archives).await?
        };
        journal::complete(r, pages).map_err(|j| {
            StoreError::Unavailable(format!(
                "journal « {} » du dossier {} incomplet",
                j.attribute(),
                r.id
            ))
        })
    }

    /// The size of `r` once stored, as the store's limit counts it.
    fn stored_bytes(&self, r: &DossierRecord) -> Result<usize, StoreError>;

    /// Whether the dossier a write would leave (`after`) is within [`MAX_DOSSIER_ITEM_BYTES`]:
    /// `TooLarge` before any write otherwise.
    fn fits(&self, after: &DossierRecord) -> Result<(), StoreError> {
        let octets = self.stored_bytes(after)?;
        if octets <= MAX_DOSSIER_ITEM_BYTES {
            return Ok(());
        }
        let ecoles = match after.current_perimeter().len() {
            0 => after.brouillon.ecoles.as_ref().map_or(0, Vec::len),
            n => n,
        };
        Err(StoreError::TooLarge { ecoles, octets })
    }

    /// Every deposited dossier the filter selects, page after page.
    async fn all_deposited(&self, filter: &ListFilter) -> Result<Vec<DossierRecord>, StoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self.list_deposited(filter, cursor.as_deref(), 200).await?;
            all.extend(page);
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok(all),
            }
        }
    }

    /// Writes `change`, decided on `r`, with the moves that keep the journals it appends to
    /// bounded (`journal::bound`, decided on the same record). A move adds its own condition
    /// (the journal as read), and a move is a transaction: when that condition fails (another
    /// write appended or moved meanwhile) or another transaction held the item, the step's own
    /// condition still holds on the dossier read again; the change is then bounded anew on it
    /// and written, [`WRITE_TRIES`] times at most, after a short random pause that grows with
    /// each try (writers of one dossier at the same instant then take turns), as DynamoDB
    /// would have written it without a move. A step's own condition that fails is a Conflict,
    /// as before.
    async fn write_bounded(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        let mut base = std::borrow::Cow::Borrowed(r);
        for attempt in 0..WRITE_TRIES {
            let (prepared, after) = prepare(&base, change);
            self.fits(&after)?;
            match self.write(&r.id, &prepared).await {
                Err(StoreError::Conflict) if attempt + 1 < WRITE_TRIES => {
                    pause_before_retry(attempt).await;
                    match self.get(&r.id).await? {
                        Some(fresh) if change.condition.holds(&fresh) => {
                            base = std::borrow::Cow::Owned(fresh)
                        }
                        _ => return Err(StoreError::Conflict),
                    }
                }
                other => return other,
            }
        }
        Err(StoreError::Conflict)
    }

    /// `steps::autosave`.
    async fn save_draft(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::Autosave))
            .await
    }
    /// `steps::send_code`.
    async fn send_code(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::SendCode))
            .await
    }
    /// `steps::confirm_code`: Conflict when another try was counted meanwhile.
    async fn confirm_code(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ConfirmCode))
            .await
    }
    /// `steps::deposit`: a dossier is deposited once.
    async fn deposit(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::Deposit))
            .await
    }
    /// `steps::record_convention`.
    async fn record_convention(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RecordConvention))
            .await
    }
    /// `steps::claim_acknowledgement`. A store whose answers can be lost after the write
    /// (DynamoDB) recognises its own lease, whose value is unique per attempt.
    async fn claim_acknowledgement(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ClaimAcknowledgement))
            .await
    }
    /// `steps::record_acknowledgement`.
    async fn record_acknowledgement(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RecordAcknowledgement))
            .await
    }
    /// `steps::release_acknowledgement`.
    async fn release_acknowledgement(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ReleaseAcknowledgement))
            .await
    }
    /// `steps::record_countersignature`: Conflict when the current version is no longer the
    /// one it supersedes (a replay, a concurrent delivery).
    async fn record_countersignature(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RecordCountersignature))
            .await
    }
    /// `steps::claim_acceptance_email`. As for the acknowledgement, a store whose answers can
    /// be lost recognises its own lease.
    async fn claim_acceptance_email(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ClaimAcceptanceEmail))
            .await
    }
    /// `steps::record_acceptance_email`.
    async fn record_acceptance_email(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RecordAcceptanceEmail))
            .await
    }
    /// `steps::release_acceptance_email`.
    async fn release_acceptance_email(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ReleaseAcceptanceEmail))
            .await
    }
    /// `steps::decide`: Conflict if the dossier moved since it was read.
    async fn decide(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| matches!(s, Step::Decide(_))))
            .await
    }
    /// `steps::message`.
    async fn add_message(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::Message))
            .await
    }
    /// `steps::request_webhook`.
    async fn request_webhook(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RequestWebhook))
            .await
    }
    /// `steps::record_webhook_attempt`.
    async fn record_webhook_attempt(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RecordWebhookAttempt))
            .await
    }
    /// `steps::record_editor_answer`: Conflict when the dossier or those schools' answers
    /// changed since it was read.
    async fn record_editor_answer(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RecordEditorAnswer))
            .await
    }
    /// `steps::decide` accepting an avenant, with `steps::apply_avenant` on its convention: one
    /// transaction.
    async fn accept_avenant(
        &self,
        avenant: (&DossierRecord, &Change),
        convention: (&DossierRecord, &Change),
    ) -> Result<(), StoreError> {
        let (a, c) = (
            expect(avenant.1, |s| matches!(s, Step::Decide(_))),
            expect(convention.1, |s| s == Step::ApplyAvenant),
        );
        let (mut ra, mut rc) = (avenant.0.clone(), convention.0.clone());
        // As `write_bounded`, for both.
        for attempt in 0..WRITE_TRIES {
            let ((ba, after_a), (bc, after_c)) = (prepare(&ra, a), prepare(&rc, c));
            self.fits(&after_a)?;
            self.fits(&after_c)?;
            match self.write_both((&ra.id, &ba), (&rc.id, &bc)).await {
                Err(StoreError::Conflict) if attempt + 1 < WRITE_TRIES => {
                    pause_before_retry(attempt).await;
                    match (self.get(&ra.id).await?, self.get(&rc.id).await?) {
                        (Some(fa), Some(fc))
                            if a.condition.holds(&fa) && c.condition.holds(&fc) =>
                        {
                            (ra, rc) = (fa, fc);
                        }
                        _ => return Err(StoreError::Conflict),
                    }
                }
                other => return other,
            }
        }
        Err(StoreError::Conflict)
    }
    /// `steps::compact_journal` (the migration `admin compacter-journaux`).
    async fn compact_journal(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        let change = expect(change, |s| s == Step::CompactJournal);
        self.write(&r.id, &listing::stamp(r, change.clone())).await
    }
    /// `steps::renew_access`: Conflict when renewed meanwhile.
    async fn renew_access(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RenewAccess))
            .await
    }
    /// `steps::propose_signataire`: Conflict when another code was sent meanwhile.
    async fn propose_signataire(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ProposeSignataire))
            .await
    }
    /// `steps::confirm_new_signataire`: Conflict when another try was counted meanwhile.
    async fn confirm_new_signataire(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ConfirmNewSignataire))
            .await
    }
    /// `steps::terminate`: Conflict when a termination was asked meanwhile.
    async fn terminate(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::Terminate))
            .await
    }
    /// `steps::apply_termination`.
    async fn apply_termination(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::ApplyTermination))
            .await
    }
    /// `steps::remind_term`: Conflict when another run sent it.
    async fn remind_term(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::RemindTerm))
            .await
    }
    /// `steps::flag_closed_schools`: Conflict when another run flagged meanwhile.
    async fn flag_closed_schools(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::FlagClosedSchools))
            .await
    }
    /// `steps::warn_draft_expiry`: Conflict when the draft changed or was warned meanwhile.
    async fn warn_draft_expiry(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.write_bounded(r, expect(change, |s| s == Step::WarnDraftExpiry))
            .await
    }
    /// Drafts whose TTL falls before `before` (epoch seconds) and whose signatory's address
    /// was confirmed: the daily function warns them.
    async fn drafts_expiring(&self, before: i64) -> Result<Vec<DossierRecord>, StoreError>;
    /// `steps::delete_draft`.
    async fn delete_draft(&self, r: &DossierRecord, change: &Change) -> Result<(), StoreError> {
        self.delete(&r.id, expect(change, |s| s == Step::DeleteDraft))
            .await?;
        // A draft's pages, if it ever had some, go with it.
        if !r.archives.is_empty() {
            self.erase_archives(&r.id, &r.archives).await?;
        }
        Ok(())
    }
}

/// The dossier as a stamped write of `change` on `base` leaves it (its revision moved on, its
/// row): for a job whose next step follows its own write, so that the next step is decided on
/// what is stored and not found moved.
pub fn written(base: &DossierRecord, change: &Change) -> DossierRecord {
    prepare(base, change).1
}

/// How many times a stamped write is decided and written before its Conflict is answered: each
/// write is under the revision it read (`listing::stamp`), so writers of one dossier at the same
/// instant (messages, an editor's answers, a stream consumer) all but one find it moved.
/// Measured against moto (`tests/api/listing.rs`, nine at once): three tries without a pause
/// kept 3 messages of 8.
pub const WRITE_TRIES: u32 = 8;

/// A random pause before try `attempt + 1`: up to 10 ms, doubling each try (at most 640 ms,
/// about 1.3 s over every try), so that writers who collided do not collide again.
async fn pause_before_retry(attempt: u32) {
    use rand::Rng;
    let ceiling = 10u64 << attempt.min(6);
    let ms = rand::thread_rng().gen_range(1..=ceiling);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// The change, checked (in debug builds) to be of the step the named write is for.
/// What a store writes for `change`, decided on `base`: its journals kept bounded
/// (`journal::bound`), its edited school lists whole (`change::whole_lists`), then its
/// revision and row (`listing::stamp`), all decided on `base`; and the dossier the write
/// leaves, applied once for the row, the size check and the caller.
fn prepare(base: &DossierRecord, change: &Change) -> (Change, DossierRecord) {
    let change = crate::domain::change::whole_lists(base, change.clone());
    let bounded = journal::bound(base, change);
    let mut after = base.clone();
    bounded.apply(&mut after);
    let decided = bounded.updates.len();
    let stamped = listing::stamp_on(base, &after, bounded);
    // The stamp's own updates (revision, row) on top.
    for u in &stamped.updates[decided..] {
        u.apply(&mut after);
    }
    (stamped, after)
}

fn expect(change: &Change, step: impl Fn(Step) -> bool) -> &Change {
    debug_assert!(
        step(change.step),
        "{:?} written as another step",
        change.step
    );
    change
}

/// The counters of the campaign's figures (`domain::statistics`): kept by the count-statistics
/// stream consumer (`jobs::count`), read by the statistics route, recomputed by the repair.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// What was counted for the dossier (None: never counted). A consistent read.
    async fn counted(&self, id: &DossierId) -> Result<Option<Counted>, StoreError>;
    /// The dossier joins (or leaves) the membership's set; its département's distinct count
    /// moves with the set becoming non-empty (or empty), in the same write. Already so:
    /// nothing is written.
    async fn apply_membership(&self, id: &DossierId, m: &Membership) -> Result<(), StoreError>;
    /// Writes `counted` if the stored one is still `previous` (its revision; None: none
    /// stored), and adds the statut counts, in one transaction; Conflict otherwise.
    async fn commit(
        &self,
        id: &DossierId,
        previous: Option<&Counted>,
        counted: &Counted,
        statuts: &BTreeMap<String, BTreeMap<Statut, i64>>,
    ) -> Result<(), StoreError>;
    /// The figures of these départements, summed (None: of every département counted).
    async fn figures(&self, departements: Option<&[String]>) -> Result<Figures, StoreError>;
    /// Everything the counters hold (the repair compares it with the dossiers).
    async fn tallies(&self) -> Result<Tallies, StoreError>;
    /// Writes what the repair decided.
    async fn repair(&self, repair: &Repair) -> Result<(), StoreError>;
}

/// The export jobs (`domain::export`).
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// The job (a consistent read).
    async fn export_job(&self, id: &str) -> Result<Option<ExportJob>, StoreError>;
    /// Writes `job` if the stored one is still the run `previous` names (its `tache`; None:
    /// no job stored), else Conflict: a request that started it again, or another request
    /// first.
    async fn put_export_job(
        &self,
        job: &ExportJob,
        previous: Option<&str>,
    ) -> Result<(), StoreError>;
}

pub use crate::domain::filter::ListFilter;

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
    /// A short-lived presigned GET URL that downloads as `filename`, of `content_type`.
    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        content_type: &str,
        ttl_seconds: u64,
    ) -> Result<String, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The object unless its ETag is still `etag` (a conditional GET: S3's If-None-Match).
    async fn get_if_changed(&self, key: &str, etag: Option<&str>) -> Result<Fetched, StoreError>;
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// Erases every version of every object under `prefix` (delete markers included), so that
    /// nothing is left to restore; returns how many were erased (0 on a replay).
    async fn erase_all_versions(&self, prefix: &str) -> Result<usize, StoreError>;
    /// A file written in parts (S3's multipart upload: every part but the last of 5 MiB at
    /// least), stored to download as `file_name`: its upload id.
    async fn start_upload(
        &self,
        key: &str,
        content_type: &str,
        file_name: &str,
    ) -> Result<String, StoreError>;
    /// Part `number` (from 1) of the upload; its ETag.
    async fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError>;
    /// The file made of the parts (their ETags, in order).
    async fn finish_upload(
        &self,
        key: &str,
        upload: &str,
        parts: &[String],
    ) -> Result<(), StoreError>;
    /// Gives up an upload (its parts are deleted).
    async fn abort_upload(&self, key: &str, upload: &str) -> Result<(), StoreError>;
}

/// What a conditional GET found.
#[derive(Debug, PartialEq)]
pub enum Fetched {
    /// Its ETag is still the one given.
    Unchanged,
    /// No object under that key.
    Absent,
    /// Another object than the one of the ETag given (or none was given).
    Object {
        bytes: Vec<u8>,
        etag: Option<String>,
    },
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

/// What the company registry knows of a SIRET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryEntry {
    pub nom: String,
    pub adresse: Option<String>,
    /// True when the registry flags it as a collectivité territoriale.
    pub collectivite_territoriale: bool,
    /// INSEE's catégorie juridique ("7210" commune, "7346" communauté de communes, "7353"
    /// syndicat intercommunal à vocation unique…; "5710" SAS…), when the registry gives it.
    pub nature_juridique: Option<String>,
    /// INSEE code of the seat's commune (`siege.commune`): an EPCI's département.
    pub siege_code_insee: Option<String>,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("registre injoignable : {0}")]
    Unavailable(String),
}

/// The company registry: name, address and kind of a SIRET (`adapters::registry`).
#[async_trait]
pub trait CompanyRegistry: Send + Sync {
    /// Ok(None): the registry answered and does not know this SIRET.
    async fn lookup(&self, siret: &Siret) -> Result<Option<RegistryEntry>, RegistryError>;
}

/// The académie's seal key (KMS on AWS and moto): ECDSA P-256 with SHA-256.
#[async_trait]
pub trait SealKey: Send + Sync {
    /// The DER ECDSA-Sig-Value of `message` (the DER to sign, hashed with SHA-256 by the key).
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, crate::seal::SealError>;
    /// The key's SubjectPublicKeyInfo, DER.
    async fn public_key(&self) -> Result<Vec<u8>, crate::seal::SealError>;
}

/// Where the seal's certificate chain is kept (PEM, leaf first; an SSM parameter on AWS): public,
/// and changed without a redeployment.
#[async_trait]
pub trait SealCertificateStore: Send + Sync {
    /// None when no chain was ever stored.
    async fn get(&self) -> Result<Option<String>, crate::seal::SealError>;
    async fn put(&self, pem: &str) -> Result<(), crate::seal::SealError>;
}
