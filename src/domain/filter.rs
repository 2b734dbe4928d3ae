//! The filters of the instructeur's dossier list, shared by the list, the figures and the
//! exports (an export job stores the ones it was asked with).

use super::dossier::Statut;

/// Filters of the instructeur's dossier list.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListFilter {
    pub statuts: Vec<Statut>,
    /// Département code ("35") of one of the dossier's schools.
    pub departement: Option<String>,
    /// The instructeur's scope: only dossiers belonging to one of these départements
    /// (`DossierRecord::departement`); None: the whole académie. Set from the token, never
    /// from the query (`http::instructeur::scope`).
    pub perimetre: Option<Vec<String>>,
    /// INSEE code of one of the dossier's schools.
    pub commune: Option<String>,
    /// Deposit date bounds, inclusive, "YYYY-MM-DD".
    pub depose_du: Option<String>,
    pub depose_au: Option<String>,
    /// Words searched in the collectivité's name and SIRET (case and accents ignored).
    pub texte: Option<String>,
    /// Oldest deposit first (exports) instead of newest first (the list).
    pub chronologique: bool,
    /// « En attente de l’éditeur »: accepted dossiers with a school the ENT editor has not
    /// reported open (`gar=en_attente`).
    pub gar_en_attente: bool,
    /// « À corriger »: sent back to the collectivité for correction, not deposited again yet
    /// (`correction=demandee`).
    pub correction_demandee: bool,
    /// « Échéance dans N jours »: accepted conventions whose term ends by this day
    /// ("YYYY-MM-DD", `echeance=90` computes it).
    pub fin_avant: Option<String>,
    /// « Avenant », « renouvellement »: dossiers of that nature (`nature=`).
    pub nature: Option<super::dossier::NatureDossier>,
}

impl ListFilter {
    /// Whether it selects by scope alone (and statut): what the figures' counters answer
    /// (the statistics read the dossiers themselves under any other filter).
    pub fn scope_only(&self) -> bool {
        let ListFilter {
            statuts: _,
            perimetre: _,
            chronologique: _,
            departement,
            commune,
            depose_du,
            depose_au,
            texte,
            gar_en_attente,
            correction_demandee,
            fin_avant,
            nature,
        } = self;
        departement.is_none()
            && commune.is_none()
            && depose_du.is_none()
            && depose_au.is_none()
            && texte.is_none()
            && !gar_en_attente
            && !correction_demandee
            && fin_avant.is_none()
            && nature.is_none()
    }
}
