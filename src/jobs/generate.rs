//! generate-convention: the deposited dossier (deposited again after a correction) → the
//! convention PDF in S3 → recorded on the dossier (key, SHA-256, time, verification code); the accepted dossier → the académie's
//! countersigned version, recorded as the current one; and, when the retention removes a
//! dossier (DynamoDB TTL), its conventions erased from S3 and its journal pages from the table.

use super::stream::{became, dossier_at, expired_dossier, process_selected};
use super::{JobError, Outcome};
use crate::domain::dossier::{ConventionRecord, DossierRecord, Etape, NatureConvention, Statut};
use crate::domain::ids::{version_verification_code, DossierId};
use crate::domain::steps;
use crate::domain::time::paris;
use crate::domain::time::Now;
use crate::links;
use crate::ports::{PutOutcome, StoreError};
use crate::render::convention::{
    render_for_seal, AcademieView, CollectiviteView, ContresignatureView, ConventionData,
    SignatureView,
};
use crate::render::pdf::signature::SealSlot;
use crate::App;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use sha2::{Digest, Sha256};
use std::borrow::Borrow;

/// What a stream record asks of generate-convention.
pub enum Work {
    /// A dossier was deposited: its convention is due.
    Generate(DossierRecord),
    /// A dossier became accepted: the académie's countersigned version may be due.
    Countersign(DossierRecord),
    /// The retention removed a dossier: its convention must not outlive it.
    Erase(DossierRecord),
}

impl Borrow<DossierRecord> for Work {
    fn borrow(&self) -> &DossierRecord {
        match self {
            Work::Generate(d) | Work::Countersign(d) | Work::Erase(d) => d,
        }
    }
}

/// The records the template's FilterCriteria lets through, told apart the same way.
pub fn work_of(record: &EventRecord) -> Option<Work> {
    dossier_at(record, Etape::Depose)
        .map(Work::Generate)
        .or_else(|| became(record, Statut::Accepte).map(Work::Countersign))
        .or_else(|| expired_dossier(record).map(Work::Erase))
}

/// The whole generate-convention handler, in record order.
pub async fn handle(app: &App, event: &Event) -> DynamoDbEventResponse {
    process_selected(event, work_of, |work| async move {
        match work {
            Work::Generate(d) => generate(app, d).await,
            Work::Countersign(d) => countersign(app, d).await,
            Work::Erase(d) => erase(app, d).await,
        }
    })
    .await
}

/// Object key of the deposit's convention: one per dossier, so that a replay finds the object
/// of the first attempt.
pub fn convention_key(record: &DossierRecord) -> String {
    format!(
        "{}convention-{}.pdf",
        dossier_prefix(&record.id),
        record.numero
    )
}

/// Object key of version `version` (one per version, for the same reason); version 1 is the
/// deposit's key of before versions.
pub fn version_key(record: &DossierRecord, version: u32) -> String {
    if version <= 1 {
        return convention_key(record);
    }
    format!(
        "{}convention-{}-v{version}.pdf",
        dossier_prefix(&record.id),
        record.numero
    )
}

/// Everything stored for one dossier lives under this prefix.
fn dossier_prefix(id: &DossierId) -> String {
    format!("conventions/{id}/")
}

pub fn convention_data(
    app: &App,
    record: &DossierRecord,
    code: &str,
) -> Result<ConventionData, JobError> {
    let depot = record.depot.as_ref().ok_or_else(|| {
        JobError::Incoherent(record.id.to_string(), "déposé sans contenu de dépôt".into())
    })?;
    let c = &depot.collectivite;
    Ok(ConventionData {
        numero: record.numero.clone(),
        version: 1,
        version_texte: depot.signature.version_texte.clone(),
        academie: AcademieView::of(&app.config.academie, app.dsden(record)),
        collectivite: CollectiviteView {
            nom: c.display_name(),
            siret: c.siret.clone(),
            adresse: c.adresse.clone(),
        },
        signataire: depot.signataire.clone(),
        referent: depot.referent.clone(),
        ecoles: depot.ecoles.clone(),
        signature: SignatureView {
            horodatage: depot.signature.horodatage.clone(),
            sha256: depot.signature.sha256.clone(),
            email_confirme: depot.signature.email_confirme.clone(),
            email_confirme_le: depot.signature.email_confirme_le.clone(),
        },
        habilitation: depot
            .signataire
            .habilitation
            .as_ref()
            .map(|h| h.printed())
            .unwrap_or_else(|| "dûment habilité(e)".into()),
        code_verification: code.to_string(),
        url_verification: links::verification_page(&app.config, code),
        contresignature: None,
        avenant: avenant_view(record, depot),
    })
}

/// What an avenant changes, from the perimeter it amended (as the avenant's draft was opened)
/// to the one deposited.
fn avenant_view(
    record: &DossierRecord,
    depot: &crate::domain::deposit::Depot,
) -> Option<crate::render::convention::AvenantView> {
    let a = record.avenant.as_ref()?;
    let initiale = record.convention_initiale.as_ref()?;
    let (ajouts, retraits) = crate::domain::steps::perimeter_change(&a.perimetre, &depot.ecoles);
    Some(crate::render::convention::AvenantView {
        rang: a.rang,
        numero_initial: initiale.numero.clone(),
        ajouts,
        retraits,
    })
}

/// Renders and seals `data` and stores it under `key` unless an object is there already;
/// returns the stored object's SHA-256 and size.
async fn render_and_store(
    app: &App,
    record: &DossierRecord,
    data: &ConventionData,
    key: &str,
) -> Result<(String, u64), JobError> {
    let pdf = sealed_pdf(app, &record.id, data).await?;
    let sha256 = hex::encode(Sha256::digest(&pdf));
    let size = pdf.len() as u64;
    Ok(
        match app.documents.put_pdf_if_absent(key, pdf, &sha256).await? {
            PutOutcome::Created => (sha256, size),
            // An earlier attempt stored its PDF but died before recording it. Its code and its
            // content come from the record (the id, the version, the acceptance as the audit trail
            // holds it), so the object in S3 is this convention: record it.
            PutOutcome::AlreadyExists { sha256, size } => (sha256, size),
        },
    )
}

pub async fn generate(app: &App, from_stream: DossierRecord) -> Result<Outcome, JobError> {
    // The stream image may be stale: the dossier itself says whether work remains.
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    // Whether a convention is due, before rendering one: version 1 at the first deposit, the
    // next at a deposit after a correction (its own code and key, as a countersigned one).
    let due = match steps::convention_due(&record) {
        Ok(due) => due,
        Err(pass) => return Ok(pass.into()),
    };
    let code =
        version_verification_code(app.config.link_secret.as_bytes(), &record.id, due.version);
    let mut data = convention_data(app, &record, &code)?;
    data.version = due.version;
    let key = version_key(&record, due.version);
    let (sha256, size) = render_and_store(app, &record, &data, &key).await?;
    let convention = ConventionRecord {
        version: due.version,
        nature: due.nature,
        cle: key,
        sha256,
        genere_le: Now::system().stamp(),
        code_verification: code,
        taille: size,
    };
    let change = match steps::record_convention(&record, convention) {
        Ok(c) => c,
        Err(pass) => return Ok(pass.into()),
    };
    match app.dossiers.record_convention(&record, &change).await {
        // Recorded meanwhile by another delivery of the same record.
        Err(StoreError::Conflict) => return Ok(Outcome::AlreadyDone),
        r => r?,
    }
    // Accepted before its convention existed (its deposit's record replayed from the failure
    // queue after the acceptance's went by): the countersignature follows at once.
    if record.statut == Statut::Accepte {
        countersign(app, record).await?;
    }
    Ok(Outcome::Done)
}

/// The académie's countersigned version of an accepted dossier (`steps::countersignature_due`):
/// the same convention with « Pour l’académie, …, par délégation … » beside the collectivité's
/// signature, its own verification code and key, recorded as the current version if the
/// current one is still the deposit's (a replay renders nothing new: it finds it recorded, or
/// finds the first attempt's object under the version's key).
pub async fn countersign(app: &App, from_stream: DossierRecord) -> Result<Outcome, JobError> {
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    let due = match steps::countersignature_due(&record) {
        Ok(due) => due,
        Err(pass) => return Ok(pass.into()),
    };
    let code =
        version_verification_code(app.config.link_secret.as_bytes(), &record.id, due.version);
    let mut data = convention_data(app, &record, &code)?;
    data.version = due.version;
    data.contresignature = Some(ContresignatureView {
        instructeur: due.instructeur.clone(),
        le: due.le.clone(),
    });
    let key = version_key(&record, due.version);
    let (sha256, size) = render_and_store(app, &record, &data, &key).await?;
    let now = Now::system();
    let pdf = ConventionRecord {
        version: due.version,
        nature: NatureConvention::Contresignature,
        cle: key,
        sha256,
        genere_le: now.stamp(),
        code_verification: code,
        taille: size,
    };
    let change = match steps::record_countersignature(&record, pdf, &now) {
        Ok(c) => c,
        Err(pass) => return Ok(pass.into()),
    };
    match app.dossiers.record_countersignature(&record, &change).await {
        Err(StoreError::Conflict) => Ok(Outcome::AlreadyDone),
        r => r.map(|_| Outcome::Done).map_err(JobError::from),
    }
}

/// The convention PDF sealed by the académie: rendered with room for the seal, the digest of
/// its signed range signed through KMS, the signature put in place. Nothing is stored before
/// the seal is made: a KMS failure fails the record, which the stream retries.
pub async fn sealed_pdf(
    app: &App,
    id: &DossierId,
    data: &ConventionData,
) -> Result<Vec<u8>, JobError> {
    let seal = app.require_seal()?;
    let started = std::time::Instant::now();
    let slot = SealSlot {
        name: seal.signer_name().to_string(),
        reason: format!(
            "Convention ENT école / GAR n° {} scellée par l’{}",
            data.numero,
            crate::domain::perimeter::lowercase_first(&data.academie.nom)
        ),
        location: data.academie.nom.clone(),
        time: paris(Now::system().utc()),
        max_len: seal.max_signature_len(),
    };
    let (unsealed, replaced) = render_for_seal(data, slot)?;
    if !replaced.is_empty() {
        tracing::warn!(dossier = %id, ?replaced, "characters outside the PDF font replaced");
    }
    let rendered_ms = started.elapsed().as_secs_f64() * 1000.0;
    let signature = seal.sign(unsealed.digest()).await?;
    let pdf = unsealed
        .seal(&signature)
        .map_err(|e| JobError::Incoherent(id.to_string(), e.to_string()))?;
    tracing::info!(
        dossier = %id,
        bytes = pdf.len(),
        render_ms = rendered_ms,
        total_ms = started.elapsed().as_secs_f64() * 1000.0,
        "convention rendered and sealed"
    );
    Ok(pdf)
}

/// Erases every stored version of the convention of a dossier the TTL removed. Only then:
/// a dossier still in the table keeps its convention, whatever the record says. Records of a
/// shard come in order, so the deposit's generation has run (or been skipped) before this.
pub async fn erase(app: &App, expired: DossierRecord) -> Result<Outcome, JobError> {
    // Even when the image records no convention: one may have been written just before the
    // removal without being recorded. Listing an empty prefix costs one call.
    if app.dossiers.get(&expired.id).await?.is_some() {
        tracing::warn!(dossier = %expired.id, "removal record for a dossier still stored: convention kept");
        return Ok(Outcome::Skipped);
    }
    let erased = app
        .documents
        .erase_all_versions(&dossier_prefix(&expired.id))
        .await?;
    // Its journal pages go with it (items of their own, outside the TTL's reach).
    let pages = app
        .dossiers
        .erase_archives(&expired.id, &expired.archives)
        .await?;
    tracing::info!(dossier = %expired.id, erased, pages, "convention and journal erased after the retention period");
    Ok(if erased + pages == 0 {
        Outcome::AlreadyDone
    } else {
        Outcome::Done
    })
}
