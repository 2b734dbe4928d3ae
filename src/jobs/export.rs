//! export-schools: writes the file of an export job (`domain::export`) to S3, page after page
//! of the dossiers its query selects (200 at a time, oldest deposit first), in parts (S3's
//! multipart upload), so that memory holds one page and one part whatever the export's size.
//! Its progress (dossiers read, rows written) is written on the job after each page; a request
//! that starts the job again meanwhile (a new run) stops this one at its next write.

use super::{JobError, Outcome};
use crate::domain::export::{EtatExport, ExportJob};
use crate::export::file::{FileWriter, PART_BYTES};
use crate::export::rows::{columns, rows_of};
use crate::ports::StoreError;
use crate::App;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

/// Dossiers read per page.
const PAGE: usize = 200;

/// The job a stream record asks for: a run just requested (the template's filter: NewImage's
/// `export_etat` is `demande`).
pub fn requested(record: &EventRecord) -> Option<ExportJob> {
    if record.event_name == "REMOVE" {
        return None;
    }
    let image = &record.change.new_image;
    let etat = match image.get("export_etat") {
        Some(serde_dynamo::AttributeValue::S(s)) => s.as_str(),
        _ => return None,
    };
    if etat != "demande" {
        return None;
    }
    let mut item = image.clone();
    let key = match item.get("id") {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        _ => return None,
    };
    item.insert(
        "id".into(),
        serde_dynamo::AttributeValue::S(key.trim_start_matches("#export#").to_string()),
    );
    serde_dynamo::from_item(item)
        .map_err(|e| tracing::warn!(error = %e, event_id = %record.event_id, "unreadable export job, skipped"))
        .ok()
}

/// Handles a batch of export-schools: each job in turn; a failure that could not even be
/// recorded on the job is reported, so that Lambda retries from it.
pub async fn handle(app: &App, event: &Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        let Some(job) = requested(record) else {
            continue;
        };
        match run(app, job).await {
            Ok(outcome) => tracing::info!(?outcome, "export job processed"),
            Err(e) => {
                tracing::error!(error = %e, "export job failed, batch will be retried from it");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                break;
            }
        }
    }
    response
}

/// Writes the file of the run `requested`, if it is still the job's current run and not
/// written yet (a replay of a finished run writes nothing; a run cut short, by a timeout, is
/// written again from its start). A failure is recorded on the job (`echec`, in French) for the
/// instructeur, whose next request starts it again.
pub async fn run(app: &App, requested: ExportJob) -> Result<Outcome, JobError> {
    let Some(stored) = app.exports.export_job(&requested.id).await? else {
        return Ok(Outcome::Skipped);
    };
    if stored.tache != requested.tache {
        return Ok(Outcome::Skipped);
    }
    if matches!(stored.export_etat, EtatExport::Pret | EtatExport::Echec) {
        return Ok(Outcome::AlreadyDone);
    }
    let mut job = stored;
    job.export_etat = EtatExport::EnCours;
    job.dossiers_lus = 0;
    job.lignes = 0;
    match app.exports.put_export_job(&job, Some(&job.tache)).await {
        Err(StoreError::Conflict) => return Ok(Outcome::Skipped),
        other => other?,
    }
    let key = job.file_key();
    let written = match app
        .documents
        .start_upload(&key, job.requete.format.content_type(), &job.file_name())
        .await
    {
        Ok(upload) => {
            let written = write(app, &mut job, &key, &upload).await;
            if written.is_err() {
                // Its parts would wait for the bucket's rule on abandoned uploads.
                let _ = app.documents.abort_upload(&key, &upload).await;
            }
            written
        }
        Err(e) => Err(Stop::from(e)),
    };
    match written {
        Ok(octets) => {
            job.export_etat = EtatExport::Pret;
            job.fini_le = Some(chrono::Utc::now().timestamp());
            job.octets = octets;
            job.cle = Some(key);
        }
        Err(Stop::Superseded) => return Ok(Outcome::Skipped),
        Err(Stop::Failed(e)) => {
            tracing::error!(error = %e, export = %job.id, "export failed");
            job.export_etat = EtatExport::Echec;
            job.fini_le = Some(chrono::Utc::now().timestamp());
            job.erreur = Some(format!(
                "L’export n’a pas pu être écrit ({e}) : relancez-le ; si cela se reproduit, \
                 signalez-le à l’équipe technique de l’académie."
            ));
        }
    }
    match app.exports.put_export_job(&job, Some(&job.tache)).await {
        Err(StoreError::Conflict) => Ok(Outcome::Skipped),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(Outcome::Done),
    }
}

enum Stop {
    /// A request started the job again: this run's file is not wanted any more.
    Superseded,
    Failed(String),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        match e {
            StoreError::Conflict => Stop::Superseded,
            StoreError::Unavailable(m) => Stop::Failed(m),
            e @ StoreError::TooLarge { .. } => Stop::Failed(e.to_string()),
        }
    }
}

impl From<crate::export::file::FileError> for Stop {
    fn from(e: crate::export::file::FileError) -> Stop {
        Stop::Failed(e.to_string())
    }
}

/// The parts sent so far.
struct Parts<'a> {
    app: &'a App,
    key: &'a str,
    upload: &'a str,
    etags: Vec<String>,
    octets: u64,
}

impl Parts<'_> {
    async fn send(&mut self, bytes: Vec<u8>) -> Result<(), Stop> {
        let n = self.etags.len() as i32 + 1;
        self.octets += bytes.len() as u64;
        let etag = self
            .app
            .documents
            .upload_part(self.key, self.upload, n, bytes)
            .await?;
        self.etags.push(etag);
        Ok(())
    }
}

/// Pages through the dossiers, uploads the parts; the file's size.
async fn write(app: &App, job: &mut ExportJob, key: &str, upload: &str) -> Result<u64, Stop> {
    let q = job.requete.clone();
    let mut filter = q.filter.clone();
    filter.chronologique = true;
    let mut file = FileWriter::new(q.format, &columns(q.depuis.is_some()))?;
    let mut parts = Parts {
        app,
        key,
        upload,
        etags: Vec::new(),
        octets: 0,
    };
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = app
            .dossiers
            .list_deposited(&filter, cursor.as_deref(), PAGE)
            .await?;
        let mut rows = Vec::new();
        // The scope as the routes check it (`scope::allows`): the store's filter selects
        // dossiers stored before their département by their schools.
        let in_scope = |r: &crate::domain::dossier::DossierRecord| {
            filter
                .perimetre
                .as_ref()
                .is_none_or(|p| r.departement().is_some_and(|d| p.contains(&d)))
        };
        for r in page.iter().filter(|r| in_scope(r)) {
            rows_of(app, r, q.editeur.as_deref(), q.depuis.as_deref(), &mut rows);
        }
        file.push(&rows)?;
        while let Some(part) = file.full_part() {
            parts.send(part).await?;
        }
        job.dossiers_lus += page.len() as u64;
        job.lignes = file.rows();
        app.exports.put_export_job(job, Some(&job.tache)).await?;
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    // The end (the whole workbook, for XLSX) in parts of the size S3 asks for.
    let rest = file.finish()?;
    let mut rest = &rest[..];
    loop {
        let cut = if rest.len() >= 2 * PART_BYTES {
            PART_BYTES
        } else {
            rest.len()
        };
        parts.send(rest[..cut].to_vec()).await?;
        rest = &rest[cut..];
        if rest.is_empty() {
            break;
        }
    }
    app.documents
        .finish_upload(key, upload, &parts.etags)
        .await?;
    Ok(parts.octets)
}
