//! Stream consumers: each step is idempotent (conditional writes), reports partial batch
//! failures, and ends in the dead-letter queue after its bounded retries (see infra/). And the
//! daily scheduled run (`daily`), and the migration of journals (`compact`, an operator's
//! command).

pub mod acknowledge;
pub mod compact;
pub mod count;
pub mod daily;
pub mod export;
pub mod generate;
pub mod standard_webhooks;
pub mod stream;
pub mod webhook;

use crate::ports::StoreError;
use crate::render::convention::RenderError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("email : {0}")]
    Template(#[from] minijinja::Error),
    #[error("dossier {0} : {1}")]
    Incoherent(String, String),
    /// The seal failed (KMS, its certificate, or not configured): the record fails and is
    /// retried; nothing was stored, since sealing comes before the PDF is written.
    #[error(transparent)]
    Seal(#[from] crate::seal::SealError),
}

/// What a step did with one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Already done by an earlier delivery of the same record: nothing written.
    AlreadyDone,
    /// The record is not for this step.
    Skipped,
}

impl From<crate::domain::life::Pass> for Outcome {
    fn from(p: crate::domain::life::Pass) -> Outcome {
        match p {
            crate::domain::life::Pass::AlreadyDone => Outcome::AlreadyDone,
            crate::domain::life::Pass::NotHere => Outcome::Skipped,
        }
    }
}
