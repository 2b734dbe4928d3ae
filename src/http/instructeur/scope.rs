//! What an instructeur may see and decide: the whole académie (Cognito group `instructeurs`)
//! or some of its départements (groups `instructeurs-<code>`, several allowed). Every
//! instructeur route goes through here: a dossier outside the scope is answered as an unknown
//! one (`super::load`), and the list, the export and the figures are filtered by the scope
//! whatever their query says (`super::params::filter_from`).

use crate::academie::{group_of, Academie};
use crate::domain::dossier::DossierRecord;
use crate::http::instructeur::auth::GROUP;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Academie,
    /// Codes of served départements, in code order, never empty.
    Departements(Vec<String>),
}

impl Scope {
    /// The scope the token's groups give; None when no group gives one (403). A group of a
    /// département the académie does not serve gives nothing.
    pub fn from_groups<'a>(
        groups: impl IntoIterator<Item = &'a str>,
        academie: &Academie,
    ) -> Option<Scope> {
        let mut codes = Vec::new();
        for g in groups {
            if g == GROUP {
                return Some(Scope::Academie);
            }
            if let Some(code) = academie
                .departements
                .keys()
                .find(|code| group_of(code) == g)
            {
                codes.push(code.clone());
            }
        }
        codes.sort();
        codes.dedup();
        (!codes.is_empty()).then_some(Scope::Departements(codes))
    }

    pub fn allows(&self, r: &DossierRecord) -> bool {
        self.allows_departement(r.departement().as_deref())
    }

    /// Whether a dossier of this département (none: not known) is within the scope.
    pub fn allows_departement(&self, departement: Option<&str>) -> bool {
        match self {
            Scope::Academie => true,
            Scope::Departements(codes) => departement.is_some_and(|d| codes.iter().any(|c| c == d)),
        }
    }

    /// The store filter's `perimetre`.
    pub fn perimetre(&self) -> Option<Vec<String>> {
        match self {
            Scope::Academie => None,
            Scope::Departements(codes) => Some(codes.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn academie() -> Academie {
        let dep = |c: &str| {
            serde_json::json!({"dasen_nom": "X", "dasen_titre": "Y", "adresse": "Z",
                               "contact_email": format!("ent{c}@ac-rennes.fr")})
        };
        let v = serde_json::json!({"nom": "Académie de Rennes",
                                   "departements": {"22": dep("22"), "35": dep("35")}});
        Academie::parse_json(&v.to_string(), "test").unwrap()
    }

    #[test]
    fn groups_give_the_scope() {
        let a = academie();
        assert_eq!(
            Scope::from_groups(["instructeurs-35", "instructeurs"], &a),
            Some(Scope::Academie)
        );
        assert_eq!(
            Scope::from_groups(
                ["instructeurs-35", "instructeurs-22", "instructeurs-35"],
                &a
            ),
            Some(Scope::Departements(vec!["22".into(), "35".into()]))
        );
        assert_eq!(
            Scope::from_groups(["instructeurs-75"], &a),
            None,
            "not served"
        );
        assert_eq!(
            Scope::from_groups(["instructeurs35", "collectivites"], &a),
            None
        );
        assert_eq!(Scope::from_groups([], &a), None);
    }
}
