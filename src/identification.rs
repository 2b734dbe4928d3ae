//! Who a SIRET is: the reference data says which commune or EPCI has that SIREN; the company
//! registry confirms it and gives the official name and address. The registry being down or
//! not knowing the SIRET is not an error: the answer says `verifie: false` (degraded mode).

use crate::domain::siret::Siret;
use crate::ports::CompanyRegistry;
use crate::reference::Directory;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Identification {
    pub nom: Option<String>,
    pub nature: Option<String>,
    pub code_insee: Option<String>,
    pub adresse: Option<String>,
    pub verifie: bool,
    /// The département the collectivité belongs to, when its commune or its seat is known
    /// (`perimeter::departement_of_collectivite`, the schools aside).
    pub departement: Option<String>,
    /// The reference data does not know it as a commune or EPCI, and the registry knows it as
    /// something else than a public body (a company, an association…): it cannot sign.
    #[serde(skip)]
    pub pas_une_collectivite: bool,
}

/// The catégories juridiques (INSEE) of the bodies that run primary schools: collectivités
/// territoriales (72xx), communes associées or déléguées (7312), EPCI and other groupements
/// (7340–7349), syndicats and ententes (735x), caisses des écoles (7362). An EPLE (7331), a
/// State service (71xx), a hospital (7364) or a company is not one.
pub fn signs_conventions(nature_juridique: &str) -> bool {
    let n = nature_juridique.trim();
    n.starts_with("72")
        || n.starts_with("734")
        || n.starts_with("735")
        || n == "7312"
        || n == "7362"
}

pub async fn identify(
    directory: &Directory,
    registry: &dyn CompanyRegistry,
    siret: &Siret,
) -> Identification {
    let reference = directory.collectivite(siret.siren());
    let registry = match registry.lookup(siret).await {
        Ok(entry) => entry,
        Err(e) => {
            tracing::warn!(error = %e, "company registry unavailable: degraded mode");
            None
        }
    };
    let pas_une_collectivite = reference.is_none()
        && registry.as_ref().is_some_and(|r| {
            !r.collectivite_territoriale
                && r.nature_juridique
                    .as_deref()
                    .is_some_and(|n| !signs_conventions(n))
        });
    Identification {
        pas_une_collectivite,
        nom: registry
            .as_ref()
            .map(|r| r.nom.clone())
            .or_else(|| reference.as_ref().map(|r| r.nom.clone())),
        nature: reference.as_ref().map(|r| r.nature.clone()).or_else(|| {
            registry
                .as_ref()
                .filter(|r| r.collectivite_territoriale)
                .map(|_| "Collectivité territoriale".to_string())
        }),
        departement: crate::domain::perimeter::departement_of_collectivite(
            reference.as_ref().and_then(|r| r.code_insee.as_deref()),
            registry
                .as_ref()
                .and_then(|r| r.siege_code_insee.as_deref()),
            &[],
        ),
        code_insee: reference.and_then(|r| r.code_insee),
        adresse: registry.as_ref().and_then(|r| r.adresse.clone()),
        verifie: registry.is_some(),
    }
}
