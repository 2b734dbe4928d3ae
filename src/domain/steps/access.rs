//! The way back into a dossier: the collectivité that lost its link receives it again at the
//! signatory's confirmed address; the académie renews a dossier's access (every jeton and
//! email link given out before then stops opening it, and the confirmed signatory receives a
//! new link).

use super::{allowed, event};
use crate::domain::change::{Change, Condition, Notice, Update};
use crate::domain::dossier::DossierRecord;
use crate::domain::life::{Actor, Refusal, Step};
use crate::domain::siret::Siret;
use crate::domain::time::Now;

/// The email that gives a lost link back, when `email` is the address the signatory of `r`
/// confirmed (by code, at deposit) and `r` is a dossier of `siret`; none otherwise. Only a
/// confirmed address receives it: the link opens the dossier and its messagerie.
pub fn lost_link(r: &DossierRecord, siret: &Siret, email: &str) -> Option<Notice> {
    let depot = r.depot.as_ref()?;
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    // The signatory in office, whose address was confirmed by code: at the deposit, or at the
    // change of signatory that put them in office.
    let (_, _, in_office) = r.contact()?;
    let confirmed = match &r.signataire_actuel {
        Some(s) => Some(s.email.as_str()),
        None => depot.signature.email_confirme.as_deref(),
    }?;
    if depot.collectivite.siret != siret.as_str()
        || !same(confirmed, email)
        || !same(in_office, email)
    {
        return None;
    }
    Some(Notice::Collectivite {
        sujet: format!("Dossier n° {} : le lien d’accès à votre dossier", r.numero),
        paragraphes: vec![
            format!(
                "Vous avez demandé le lien d’accès aux dossiers de conventionnement ENT école / \
                 GAR de {} (SIRET {}). Voici celui du dossier n° {}.",
                depot.collectivite.display_name(),
                siret.as_str(),
                r.numero
            ),
            "Ce lien ouvre le dossier, sa convention et la messagerie avec l’académie : ne le \
             transmettez qu’à une personne habilitée. Si vous n’êtes pas à l’origine de cette \
             demande, ignorez ce courriel ; l’académie peut renouveler l’accès du dossier."
                .into(),
        ],
    })
}

/// The audit wording of a renewed access.
pub const ACCESS_RENEWED: &str = "accès au dossier renouvelé, anciens liens révoqués";

/// Renews the access of `r`: the applicant's jeton voided (an empty hash matches no jeton),
/// the email links' generation moved on (`ids::link_jeton`), and the new link mailed to the
/// signatory in office (confirmed by code at the deposit or at a change of signatory; the one
/// a change replaced was told of it and can warn the académie before it renews). The email is rendered from the record as
/// the change leaves it (its link carries the new generation).
pub fn renew_access(r: &DossierRecord, actor: &Actor, now: &Now) -> Result<Change, Refusal> {
    allowed(Step::RenewAccess, r, actor)?;
    let Some((_, _, to)) = r.contact() else {
        return Err(Refusal::Conflict(
            "Ce dossier n’est pas déposé : son accès ne se renouvelle pas.".into(),
        ));
    };
    let generation = r.acces_generation + 1;
    Ok(Change {
        step: Step::RenewAccess,
        condition: Condition::AccessGeneration(r.acces_generation),
        updates: vec![
            Update::JetonSha256(String::new()),
            Update::AccesGeneration(generation),
            event(
                now,
                actor,
                ACCESS_RENEWED,
                Some(format!("nouveau lien envoyé à {to}")),
            ),
        ],
        notices: vec![Notice::Collectivite {
            sujet: format!("Dossier n° {} : votre nouveau lien d’accès", r.numero),
            paragraphes: vec![
                format!(
                    "L’académie a renouvelé l’accès au dossier n° {} de conventionnement ENT \
                     école / GAR : les liens envoyés auparavant ne l’ouvrent plus.",
                    r.numero
                ),
                "Le lien ci-dessous est désormais le seul accès au dossier ; conservez ce \
                 courriel. Si vous n’êtes pas à l’origine de cette demande, répondez à ce \
                 courriel pour prévenir l’académie."
                    .into(),
            ],
        }],
    })
}
