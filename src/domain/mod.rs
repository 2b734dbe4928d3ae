//! The domain: types that parse at the edge, the dossier and its rules. Knows no AWS.

pub mod deposit;
pub mod dossier;
pub mod draft;
pub mod email;
pub mod ids;
pub mod school;
pub mod siret;
pub mod text;
pub mod uai;
