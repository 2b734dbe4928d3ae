//! The dossier: its states, the legal transitions, and the record every component shares.

use super::deposit::Depot;
use super::draft::Draft;
use serde::{Deserialize, Serialize};

/// The six states of API.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    Brouillon,
    EnConstruction,
    EnInstruction,
    Accepte,
    Refuse,
    SansSuite,
}

impl Statut {
    pub fn as_str(self) -> &'static str {
        match self {
            Statut::Brouillon => "brouillon",
            Statut::EnConstruction => "en_construction",
            Statut::EnInstruction => "en_instruction",
            Statut::Accepte => "accepte",
            Statut::Refuse => "refuse",
            Statut::SansSuite => "sans_suite",
        }
    }

    /// The legal moves. Deposit is the only applicant move; the rest belong to instructeurs,
    /// who can also reopen a decision (back to instruction) or send a dossier back to the
    /// applicant (back to construction), as on the platform this replaces.
    pub fn can_become(self, to: Statut) -> bool {
        use Statut::*;
        matches!(
            (self, to),
            (Brouillon, EnConstruction)
                | (EnConstruction, EnInstruction)
                | (EnInstruction, EnConstruction)
                | (EnInstruction, Accepte)
                | (EnInstruction, Refuse)
                | (EnInstruction, SansSuite)
                | (Accepte, EnInstruction)
                | (Refuse, EnInstruction)
                | (SansSuite, EnInstruction)
        )
    }
}

/// Where the deposit pipeline stands. Stream consumers are filtered on it:
/// `depose` → generate-convention → `convention_enregistree` → send-acknowledgement →
/// `accuse_envoye`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Etape {
    Brouillon,
    Depose,
    ConventionEnregistree,
    AccuseEnvoye,
}

impl Etape {
    pub fn as_str(self) -> &'static str {
        match self {
            Etape::Brouillon => "brouillon",
            Etape::Depose => "depose",
            Etape::ConventionEnregistree => "convention_enregistree",
            Etape::AccuseEnvoye => "accuse_envoye",
        }
    }
}

/// The generated convention, as recorded on the dossier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConventionRecord {
    /// S3 object key.
    pub cle: String,
    pub sha256: String,
    pub genere_le: String,
    pub code_verification: String,
    pub taille: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuseRecord {
    pub envoye_le: String,
    pub message_id: String,
    pub destinataires: Vec<String>,
}

/// The stored dossier: one DynamoDB item, also the `NewImage` of stream records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DossierRecord {
    pub id: String,
    pub numero: String,
    pub jeton_sha256: String,
    pub statut: Statut,
    pub etape: Etape,
    pub cree_le: String,
    pub modifie_le: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depose_le: Option<String>,
    #[serde(default)]
    pub brouillon: Draft,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depot: Option<Depot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convention: Option<ConventionRecord>,
    /// Top-level copy of the convention's code, for the verification index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuse: Option<AccuseRecord>,
    /// Lease taken by the acknowledgement sender (epoch seconds) so that a replayed stream
    /// record cannot send a second email while the first send is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuse_bail: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::Statut::*;
    use super::*;

    const ALL: [Statut; 6] = [
        Brouillon,
        EnConstruction,
        EnInstruction,
        Accepte,
        Refuse,
        SansSuite,
    ];

    #[test]
    fn only_legal_transitions() {
        let legal: Vec<(Statut, Statut)> = ALL
            .iter()
            .flat_map(|a| ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(legal.len(), 9);
        assert!(Brouillon.can_become(EnConstruction));
        assert!(!Brouillon.can_become(Accepte));
        assert!(!EnConstruction.can_become(Accepte));
        assert!(!Accepte.can_become(Refuse));
        assert!(!EnConstruction.can_become(Brouillon));
        for s in ALL {
            assert!(!s.can_become(s), "{s:?} → itself");
        }
    }

    #[test]
    fn wire_names() {
        for s in ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
