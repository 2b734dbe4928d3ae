//! Exports written as files: an instructeur's request (`GET /api/instructeur/export/…`) names
//! an export *job*; the export-schools function writes its file to S3 page after page, and the
//! request answers with the file once it is written. Here: what a job is, and what a request
//! does with the job it finds (download it, wait for it, or start it again).

use super::filter::ListFilter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The file formats written by the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Json,
    Xlsx,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Json => "application/json; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// What the export selects and how: the list's filters (the instructeur's scope included),
/// `editeur=` and `depuis=`, and the format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportQuery {
    pub format: FileFormat,
    pub filter: ListFilter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editeur: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depuis: Option<String>,
}

impl ExportQuery {
    /// The job's id: the same query (scope included) names the same job, so that two clicks,
    /// or two instructeurs of the same scope, share one file.
    pub fn id(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a query serialises");
        hex::encode(&Sha256::digest(&canonical)[..16])
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EtatExport {
    /// Asked for: the stream hands it to export-schools (the template's filter names it).
    Demande,
    /// export-schools writes the file.
    EnCours,
    /// Written: `cle` is the file.
    Pret,
    /// Failed: `erreur` says why; the next request starts it again.
    Echec,
}

/// One export job, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportJob {
    pub id: String,
    /// This run of the job (a request that starts it again makes a new one): the writes of a
    /// run hold on it, and its file is named after it.
    pub tache: String,
    pub export_etat: EtatExport,
    pub requete: ExportQuery,
    /// Epoch seconds.
    pub demande_le: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fini_le: Option<i64>,
    #[serde(default)]
    pub dossiers_lus: u64,
    #[serde(default)]
    pub lignes: u64,
    #[serde(default)]
    pub octets: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erreur: Option<String>,
    /// When the table's TTL removes the job (its file goes with the bucket's lifecycle rule).
    pub expire_le: i64,
}

/// How long a written file answers the same request: the poll of the same address that
/// started it (every two seconds, `Retry-After`) gets it; a request past it writes a new one,
/// since the dossiers may have changed (the page downloads through the status link instead).
pub const FRESH_SECONDS: i64 = 10;
/// How long a job may run before a request gives up on it and starts it again (longer than
/// export-schools' timeout and its retries).
pub const STALE_SECONDS: i64 = 15 * 60;
/// How long a job and its file are kept.
pub const KEPT_SECONDS: i64 = 86_400;

/// What a request does with the job it found.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// The file is written and fresh.
    Download(ExportJob),
    /// The job is under way.
    Wait(ExportJob),
    /// A new run to store (replacing the run `previous` names, if any).
    Start {
        job: ExportJob,
        previous: Option<String>,
    },
}

/// The request's answer: the file written less than `fresh` seconds ago, the run under way,
/// or a new run (none yet, the file too old, the run failed or stuck).
pub fn answer(query: ExportQuery, found: Option<ExportJob>, now: i64, fresh: i64) -> Answer {
    match found {
        Some(j)
            if j.export_etat == EtatExport::Pret && j.fini_le.is_some_and(|f| now - f < fresh) =>
        {
            Answer::Download(j)
        }
        Some(j)
            if matches!(j.export_etat, EtatExport::Demande | EtatExport::EnCours)
                && now - j.demande_le <= STALE_SECONDS =>
        {
            Answer::Wait(j)
        }
        previous => Answer::Start {
            job: ExportJob {
                id: query.id(),
                tache: hex::encode(rand::random::<[u8; 8]>()),
                export_etat: EtatExport::Demande,
                requete: query,
                demande_le: now,
                fini_le: None,
                dossiers_lus: 0,
                lignes: 0,
                octets: 0,
                cle: None,
                erreur: None,
                expire_le: now + KEPT_SECONDS,
            },
            previous: previous.map(|p| p.tache),
        },
    }
}

impl ExportJob {
    /// The S3 key of this run's file.
    pub fn file_key(&self) -> String {
        format!(
            "exports/{}/{}.{}",
            self.id,
            self.tache,
            self.requete.format.extension()
        )
    }

    /// The name the download gets.
    pub fn file_name(&self) -> String {
        let day = chrono::DateTime::from_timestamp(self.demande_le, 0)
            .unwrap_or_default()
            .format("%Y-%m-%d");
        format!(
            "ecoles-conventionnees-{day}.{}",
            self.requete.format.extension()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(format: FileFormat) -> ExportQuery {
        ExportQuery {
            format,
            filter: ListFilter::default(),
            editeur: None,
            depuis: None,
        }
    }

    fn started(q: ExportQuery, now: i64) -> ExportJob {
        match answer(q, None, now, FRESH_SECONDS) {
            Answer::Start {
                job,
                previous: None,
            } => job,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_job_is_waited_for_downloaded_while_fresh_then_written_again() {
        let q = query(FileFormat::Csv);
        let mut j = started(q.clone(), 1_000);
        assert_eq!(j.export_etat, EtatExport::Demande);
        assert!(matches!(
            answer(q.clone(), Some(j.clone()), 1_010, FRESH_SECONDS),
            Answer::Wait(_)
        ));
        j.export_etat = EtatExport::Pret;
        j.fini_le = Some(1_020);
        assert!(matches!(
            answer(
                q.clone(),
                Some(j.clone()),
                1_019 + FRESH_SECONDS,
                FRESH_SECONDS
            ),
            Answer::Download(_)
        ));
        let Answer::Start { job, previous } = answer(
            q.clone(),
            Some(j.clone()),
            1_020 + FRESH_SECONDS,
            FRESH_SECONDS,
        ) else {
            panic!("a stale file is written again");
        };
        assert_ne!(job.tache, j.tache);
        assert_eq!(job.id, j.id);
        assert_eq!(previous.unwrap(), j.tache);
    }

    #[test]
    fn a_failed_or_stuck_job_starts_again() {
        let q = query(FileFormat::Json);
        let mut j = started(q.clone(), 1_000);
        j.export_etat = EtatExport::EnCours;
        assert!(matches!(
            answer(
                q.clone(),
                Some(j.clone()),
                1_000 + STALE_SECONDS,
                FRESH_SECONDS
            ),
            Answer::Wait(_)
        ));
        assert!(matches!(
            answer(
                q.clone(),
                Some(j.clone()),
                1_001 + STALE_SECONDS,
                FRESH_SECONDS
            ),
            Answer::Start { .. }
        ));
        j.export_etat = EtatExport::Echec;
        assert!(matches!(
            answer(q, Some(j), 1_001, FRESH_SECONDS),
            Answer::Start { .. }
        ));
    }

    #[test]
    fn the_same_query_names_the_same_job_and_another_scope_another() {
        let a = query(FileFormat::Csv);
        assert_eq!(a.id(), query(FileFormat::Csv).id());
        assert_ne!(a.id(), query(FileFormat::Xlsx).id());
        let mut scoped = a.clone();
        scoped.filter.perimetre = Some(vec!["22".into()]);
        assert_ne!(a.id(), scoped.id());
        assert_eq!(a.id().len(), 32);
    }
}
