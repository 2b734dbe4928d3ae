//! The domain: types that parse at the edge, the dossier and its rules. Knows no AWS.
//!
//! The dossier's life (who takes which step from which statut, and what each step changes) is
//! `life` (the state machine and its table), `steps` (one function per step) and `change`
//! (what a step writes), with `journal` keeping the dossier's history out of its item as it
//! grows; `term` holds what article 7 sets (term, reminders, notice of a termination).

pub mod change;
pub mod deposit;
pub mod digest;
pub mod dossier;
pub mod draft;
pub mod email;
pub mod export;
pub mod filter;
pub mod gar;
pub mod habilitation;
pub mod ids;
pub mod journal;
pub mod life;
pub mod listing;
pub mod packed;
pub mod perimeter;
pub mod school;
pub mod signataire;
pub mod siret;
pub mod statistics;
pub mod steps;
pub mod term;
pub mod text;
pub mod time;
pub mod uai;
