//! The académie's daily digest: what waits for it, so that an instructeur has nothing to chase
//! — the dossiers deposited since the last digest, the collectivités' messages not answered,
//! the dossiers waiting for a decision longer than the académie's setting.

use super::dossier::{Auteur, DossierRecord, Statut};
use super::time::{french_datetime_str, Now};

/// Days a dossier may wait for the académie before the digest names it, when the setting is 0.
pub const DEFAULT_WAITING_DAYS: u32 = 15;

/// One dossier in a digest line: « ENT-000042 — COMMUNE DE BAULON (déposé le …) ».
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub line: String,
}

/// What the digest of `now` lists, each part oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub nouveaux: Vec<Item>,
    pub messages: Vec<Item>,
    pub en_attente: Vec<Item>,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.nouveaux.is_empty() && self.messages.is_empty() && self.en_attente.is_empty()
    }

    /// The email's subject.
    pub fn subject(&self, today: &str) -> String {
        format!(
            "Conventions ENT école / GAR : à traiter le {today} ({} nouveau(x), {} message(s), {} en attente)",
            self.nouveaux.len(),
            self.messages.len(),
            self.en_attente.len()
        )
    }
}

/// The digest of `dossiers` (deposited, any statut) at `now`: deposits of the last 24 hours,
/// dossiers whose last message is the collectivité's, dossiers waiting for a decision (in
/// construction or instruction, no correction asked) untouched for more than `waiting_days`.
pub fn digest(dossiers: &[DossierRecord], now: &Now, waiting_days: u32) -> Digest {
    let days = if waiting_days == 0 {
        DEFAULT_WAITING_DAYS
    } else {
        waiting_days
    };
    let secs = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp())
            .unwrap_or(i64::MAX)
    };
    let name = |r: &DossierRecord| {
        r.depot
            .as_ref()
            .map(|d| d.collectivite.display_name())
            .unwrap_or_default()
    };
    let mut out = Digest::default();
    for r in dossiers {
        let Some(depose_le) = r.depose_le.as_deref() else {
            continue;
        };
        let item = |what: String| Item {
            id: r.id.to_string(),
            line: format!("{} — {} ({what})", r.numero, name(r)),
        };
        if now.seconds() - secs(depose_le) < 86_400 {
            out.nouveaux.push(item(format!(
                "déposé le {}",
                french_datetime_str(depose_le)
            )));
        }
        if let Some(m) = r
            .messages
            .last()
            .filter(|m| m.auteur == Auteur::Collectivite)
        {
            out.messages.push(item(format!(
                "message du {} sans réponse",
                french_datetime_str(&m.le)
            )));
        }
        let waiting = matches!(r.statut, Statut::EnConstruction | Statut::EnInstruction)
            && r.correction_demandee.is_none()
            && now.seconds() - secs(&r.modifie_le) > i64::from(days) * 86_400;
        if waiting {
            out.en_attente.push(item(format!(
                "{} depuis le {}",
                match r.statut {
                    Statut::EnConstruction => "déposé, pas encore pris en instruction",
                    _ => "en instruction",
                },
                french_datetime_str(&r.modifie_le)
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dossier::Message;

    #[test]
    fn the_digest_names_new_deposits_unanswered_messages_and_long_waits() {
        let now = Now::at("2026-12-20T06:00:00Z".parse().unwrap());
        let mut fresh = crate::domain::steps::tests::draft_record();
        fresh.statut = Statut::EnConstruction;
        fresh.depose_le = Some("2026-12-19T15:00:00Z".into());
        fresh.modifie_le = "2026-12-19T15:00:00Z".into();
        let mut old = fresh.clone();
        old.numero = "ENT-000043".into();
        old.statut = Statut::EnInstruction;
        old.depose_le = Some("2026-11-01T09:00:00Z".into());
        old.modifie_le = "2026-11-02T09:00:00Z".into();
        old.messages.push(Message {
            le: "2026-12-18T09:00:00Z".into(),
            auteur: Auteur::Collectivite,
            nom: "Camille Martin".into(),
            texte: "Où en est-on ?".into(),
        });
        let mut answered = old.clone();
        answered.numero = "ENT-000044".into();
        answered.statut = Statut::Accepte;
        answered.messages.push(Message {
            le: "2026-12-18T10:00:00Z".into(),
            auteur: Auteur::Instructeur,
            nom: "instructrice@ac-test.fr".into(),
            texte: "Acceptée.".into(),
        });
        let d = digest(&[fresh, old, answered], &now, 15);
        let numeros = |items: &[Item]| -> Vec<String> {
            items.iter().map(|i| i.line[..10].to_string()).collect()
        };
        assert_eq!(numeros(&d.nouveaux), ["ENT-000042"]);
        assert_eq!(numeros(&d.messages), ["ENT-000043"]);
        assert_eq!(numeros(&d.en_attente), ["ENT-000043"]);
        assert!(d.subject("20 décembre 2026").contains("1 nouveau(x)"));
        assert!(digest(&[], &now, 15).is_empty());
    }
}
