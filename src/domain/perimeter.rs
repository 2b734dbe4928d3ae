//! The académie's perimeter: the département a dossier belongs to (its DASEN signs, its DSDEN
//! instructs and answers), and the schools and collectivités the académie does not serve.

use super::deposit::{Depot, EcoleDeposee};
use super::draft::FieldError;
use crate::academie::Academie;

/// Département of an INSEE code: 2 characters (2A/2B included), 3 overseas.
pub fn departement_of(code_insee: &str) -> String {
    if code_insee.starts_with("97") {
        code_insee.chars().take(3).collect()
    } else {
        code_insee.chars().take(2).collect()
    }
}

/// The collectivité's département: its commune's (the reference data knows a commune's INSEE
/// code), else its seat's (the registry's, for an EPCI or a syndicat), else the one most of
/// its schools are in (ties: the lowest code), when nobody knows the seat.
pub fn departement_of_collectivite(
    commune: Option<&str>,
    siege: Option<&str>,
    ecoles: &[EcoleDeposee],
) -> Option<String> {
    if let Some(c) = commune.or(siege).filter(|c| c.len() == 5) {
        return Some(departement_of(c));
    }
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for e in ecoles {
        *counts.entry(departement_of(&e.code_insee)).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(d, _)| d)
}

/// A deposit the académie cannot take: schools of a département it does not serve (each
/// named), or a collectivité of such a département. Every error at once, in French.
pub fn outside(academie: &Academie, depot: &Depot) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let served = academie.served_text();
    if let Some(d) = depot
        .collectivite
        .departement
        .as_deref()
        .filter(|d| !academie.serves(d))
    {
        errors.push(FieldError::new(
            "collectivite.siret",
            format!(
                "Cette collectivité relève du département {d}, que l’{} ne sert pas (elle sert \
                 {served}) : déposez la convention auprès de l’académie de ce département.",
                lowercase_first(&academie.nom)
            ),
        ));
    }
    for (i, e) in depot.ecoles.iter().enumerate() {
        let d = departement_of(&e.code_insee);
        if !academie.serves(&d) {
            errors.push(FieldError::new(
                format!("ecoles[{i}].uai"),
                format!(
                    "L’école {} ({}, {}) est dans le département {d} : l’{} sert {served}. \
                     Retirez-la, elle relève d’une autre académie.",
                    e.nom,
                    e.commune,
                    e.uai,
                    lowercase_first(&academie.nom)
                ),
            ));
        }
    }
    errors
}

/// « Académie de Rennes » → « académie de Rennes », after « l’ ».
pub fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Depot {
    /// The département the dossier belongs to: the collectivité's, as stored at deposit; for a
    /// dossier deposited before it was stored, its schools' (as `departement_of_collectivite`).
    pub fn departement(&self) -> Option<String> {
        self.collectivite
            .departement
            .clone()
            .or_else(|| departement_of_collectivite(None, None, &self.ecoles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecole(code: &str) -> EcoleDeposee {
        EcoleDeposee {
            uai: "0350122T".into(),
            nom: "École".into(),
            commune: "Commune".into(),
            code_insee: code.into(),
            hors_territoire: false,
            gar: None,
        }
    }

    #[test]
    fn the_commune_then_the_seat_then_most_schools() {
        let ecoles = [ecole("22050"), ecole("35016"), ecole("35050")];
        assert_eq!(
            departement_of_collectivite(Some("22278"), Some("35238"), &ecoles).as_deref(),
            Some("22")
        );
        assert_eq!(
            departement_of_collectivite(None, Some("56260"), &ecoles).as_deref(),
            Some("56")
        );
        assert_eq!(
            departement_of_collectivite(None, None, &ecoles).as_deref(),
            Some("35")
        );
        assert_eq!(
            departement_of_collectivite(None, None, &ecoles[..2]).as_deref(),
            Some("22"),
            "tie: lowest code"
        );
        assert_eq!(departement_of_collectivite(None, None, &[]), None);
        assert_eq!(
            departement_of_collectivite(Some("97411"), None, &[]).as_deref(),
            Some("974")
        );
    }
}
