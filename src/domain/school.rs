//! Schools as the reference data knows them, and the port the domain reads them through.

use super::uai::Uai;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ecole {
    pub uai: String,
    pub nom: String,
    /// `libelle_nature` of the directory, e.g. "ECOLE DE NIVEAU ELEMENTAIRE".
    pub nature: String,
    /// "Public" or "Privé".
    pub statut: String,
    pub code_insee: String,
    pub commune: String,
    #[serde(default)]
    pub code_postal: String,
    /// SIRET of the body that runs the school (for public schools, the collectivité).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siren_siret: Option<String>,
    /// False once the directory marks it closed ("A FERMER", "FERME").
    pub ouverte: bool,
}

/// Read access to the school directory. In memory: lookups are synchronous.
pub trait SchoolDirectory: Send + Sync {
    fn ecole(&self, uai: &Uai) -> Option<&Ecole>;
}
