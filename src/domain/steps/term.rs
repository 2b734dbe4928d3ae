//! The convention's term and end: a termination asked by either party and taking effect after
//! the notice (the daily function), the reminders of the term, and the warning before a draft
//! is deleted.

use super::{allowed, event, service};
use crate::domain::change::{Change, Condition, Notice, Update};
use crate::domain::dossier::{DossierRecord, Statut, WebhookEtat};
use crate::domain::life::{Actor, Pass, Policy, Refusal, Step};
use crate::domain::term::{
    self, date, effet_le, reminder_due, Partie, Resiliation, DRAFT_WARNING_DAYS,
};
use crate::domain::text::LongText;
use crate::domain::time::{french_date, french_datetime_str, Now};

/// The audit wording of a termination taking effect.
pub const TERMINATED: &str = "convention résiliée";

fn french_day(d: &str) -> String {
    date(d).map(french_date).unwrap_or_else(|| d.to_string())
}

fn version_texte(r: &DossierRecord) -> &str {
    r.depot
        .as_ref()
        .map(|d| d.signature.version_texte.as_str())
        .unwrap_or_default()
}

/// A termination asked by the collectivité or the académie, with its motif: it takes effect
/// after the notice of article 7 (three months), both sides told now.
pub fn terminate(
    r: &DossierRecord,
    motif: LongText,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::Terminate, r, actor)?;
    if let Some(initiale) = r
        .convention_initiale
        .as_ref()
        .filter(|_| r.avenant.is_some())
    {
        return Err(Refusal::Conflict(format!(
            "Un avenant ne se résilie pas seul : c’est la convention n° {} qui se résilie.",
            initiale.numero
        )));
    }
    if let Some(t) = &r.resiliation {
        return Err(Refusal::Conflict(format!(
            "La résiliation de cette convention a déjà été demandée {} le {} : elle prend effet le {}.",
            t.par.par(),
            french_datetime_str(&t.demandee_le),
            french_day(&t.effet_le)
        )));
    }
    let par = match actor {
        Actor::Collectivite => Partie::Collectivite,
        _ => Partie::Academie,
    };
    let resiliation = Resiliation {
        demandee_le: now.stamp(),
        par,
        motif: motif.into_string(),
        effet_le: effet_le(now, version_texte(r)),
    };
    let effet = french_day(&resiliation.effet_le);
    let lines = vec![
        format!(
            "La résiliation de la convention ENT école / GAR n° {} a été demandée {} le {}.",
            r.numero,
            par.par(),
            french_datetime_str(&resiliation.demandee_le)
        ),
        format!("Motif : {}", resiliation.motif),
        format!(
            "Conformément à l’article 7 de la convention (préavis de trois mois), elle prend effet \
             le {effet} : l’accès au GAR par l’ENT prend fin ce jour-là pour les écoles de la \
             convention, et l’éditeur de l’ENT en est informé."
        ),
    ];
    Ok(Change {
        step: Step::Terminate,
        condition: Condition::NotTerminated,
        updates: vec![
            Update::Resiliation(resiliation.clone()),
            Update::ModifieLe(now.stamp()),
            event(
                now,
                actor,
                &format!("résiliation demandée {}", par.par()),
                Some(format!(
                    "{} ; prend effet le {}",
                    resiliation.motif, resiliation.effet_le
                )),
            ),
        ],
        notices: vec![
            Notice::Collectivite {
                sujet: format!("Convention n° {} : résiliation au {effet}", r.numero),
                paragraphes: lines.clone(),
            },
            Notice::Academie {
                sujet: format!(
                    "Convention n° {} : résiliation demandée {}, effet le {effet}",
                    r.numero,
                    par.par()
                ),
                paragraphes: lines,
            },
        ],
    })
}

/// The termination taking effect on `now`'s day or after: the dossier becomes `resilie`, its
/// schools leave the export, the ENT editor's webhook is scheduled (the schools to withdraw),
/// both sides told.
pub fn apply_termination(r: &DossierRecord, now: &Now, policy: &Policy) -> Result<Change, Pass> {
    service(Step::ApplyTermination, r)?;
    let t = r.resiliation.as_ref().ok_or(Pass::NotHere)?;
    let effet = date(&t.effet_le).ok_or(Pass::NotHere)?;
    if term::today(now) < effet {
        return Err(Pass::NotHere);
    }
    let mut updates = vec![
        Update::Statut(Statut::Resilie),
        Update::ModifieLe(now.stamp()),
        event(
            now,
            &Actor::Service,
            TERMINATED,
            Some(format!(
                "demandée {} ; effet le {}",
                t.par.par(),
                t.effet_le
            )),
        ),
    ];
    if policy.webhook {
        updates.push(Update::WebhookEtat(WebhookEtat::AEnvoyer));
    }
    let ecoles = r
        .current_perimeter()
        .iter()
        .map(|e| format!("{} ({})", e.nom, e.uai))
        .collect::<Vec<_>>()
        .join(", ");
    let lines = vec![
        format!(
            "La convention ENT école / GAR n° {} est résiliée depuis le {} (résiliation demandée {}).",
            r.numero,
            french_day(&t.effet_le),
            t.par.par()
        ),
        format!("L’accès au GAR par l’ENT prend fin pour les écoles : {ecoles}."),
        "Pour rouvrir l’accès, la collectivité dépose une nouvelle convention.".into(),
    ];
    Ok(Change {
        step: Step::ApplyTermination,
        condition: Condition::Terminated,
        updates,
        notices: vec![
            Notice::Collectivite {
                sujet: format!("Convention n° {} résiliée", r.numero),
                paragraphes: lines.clone(),
            },
            Notice::Academie {
                sujet: format!("Convention n° {} résiliée", r.numero),
                paragraphes: lines,
            },
        ],
    })
}

/// The reminder of the term due on `now`'s day (90, then 30 days before `fin_le`), to the
/// signatory and the académie, recorded in the same write.
pub fn remind_term(r: &DossierRecord, now: &Now) -> Result<Change, Pass> {
    service(Step::RemindTerm, r)?;
    // An avenant's term is its convention's, reminded there.
    if r.resiliation.is_some() || r.avenant.is_some() {
        return Err(Pass::NotHere);
    }
    let e = r.echeance().ok_or(Pass::NotHere)?;
    let fin = date(&e.fin_le).ok_or(Pass::NotHere)?;
    let days = reminder_due(fin, term::today(now), &r.rappels_echeance).ok_or(Pass::NotHere)?;
    let mut sent = r.rappels_echeance.clone();
    sent.push(days);
    let lines = vec![
        format!(
            "La convention ENT école / GAR n° {} arrive à son terme le {} ({days} jours) : \
             signée le {}, elle a été reconduite tacitement jusqu’à la limite de cinq ans de \
             son article 7.",
            r.numero,
            french_day(&e.fin_le),
            french_day(&e.prend_effet_le)
        ),
        "Pour que les écoles gardent l’accès au GAR par l’ENT après cette date, la collectivité \
         signe une nouvelle convention : ouvrez le dossier par le lien ci-dessous, ou déposez un \
         nouveau dossier sur le service."
            .into(),
    ];
    Ok(Change {
        step: Step::RemindTerm,
        condition: Condition::Reminders(r.rappels_echeance.clone()),
        updates: vec![
            Update::RappelsEcheance(sent),
            event(
                now,
                &Actor::Service,
                "rappel de l’échéance envoyé",
                Some(format!("{days} jours avant le {}", e.fin_le)),
            ),
        ],
        notices: vec![
            Notice::Collectivite {
                sujet: format!(
                    "Convention n° {} : échéance le {}",
                    r.numero,
                    french_day(&e.fin_le)
                ),
                paragraphes: lines.clone(),
            },
            Notice::Academie {
                sujet: format!(
                    "Convention n° {} : échéance le {} ({days} jours)",
                    r.numero,
                    french_day(&e.fin_le)
                ),
                paragraphes: lines,
            },
        ],
    })
}

/// Schools of `r`'s current perimeter the directory no longer lists open, not flagged yet:
/// flagged (the instructeur's pages show them) and the collectivité invited to file an
/// avenant.
pub fn flag_closed_schools(
    r: &DossierRecord,
    directory: &dyn crate::domain::school::SchoolDirectory,
    now: &Now,
) -> Result<Change, Pass> {
    service(Step::FlagClosedSchools, r)?;
    // An avenant's schools are its convention's perimeter, watched there.
    if r.avenant.is_some() {
        return Err(Pass::NotHere);
    }
    let flagged = |uai: &str| r.ecoles_fermees.iter().any(|e| e.uai == uai);
    let closed: Vec<crate::domain::dossier::EcoleFermee> = r
        .current_perimeter()
        .iter()
        .filter(|e| !flagged(&e.uai))
        .filter(|e| {
            crate::domain::uai::Uai::parse(&e.uai)
                .ok()
                .and_then(|u| directory.ecole(&u))
                .is_none_or(|k| !k.ouverte)
        })
        .map(|e| crate::domain::dossier::EcoleFermee {
            uai: e.uai.clone(),
            nom: e.nom.clone(),
            constatee_le: now.stamp(),
        })
        .collect();
    if closed.is_empty() {
        return Err(Pass::NotHere);
    }
    let names = closed
        .iter()
        .map(|e| format!("{} ({})", e.nom, e.uai))
        .collect::<Vec<_>>()
        .join(", ");
    let mut all = r.ecoles_fermees.clone();
    all.extend(closed);
    Ok(Change {
        step: Step::FlagClosedSchools,
        condition: Condition::ClosedSchools(r.ecoles_fermees.iter().map(|e| e.uai.clone()).collect()),
        updates: vec![
            Update::EcolesFermees(all),
            event(
                now,
                &Actor::Service,
                "école fermée à l’annuaire signalée",
                Some(names.clone()),
            ),
        ],
        notices: vec![Notice::Collectivite {
            sujet: format!(
                "Convention n° {} : une école du périmètre a fermé",
                r.numero
            ),
            paragraphes: vec![
                format!(
                    "L’annuaire de l’Éducation nationale ne compte plus parmi les écoles ouvertes : \
                     {names}. Ces écoles figurent dans la convention ENT école / GAR n° {}.",
                    r.numero
                ),
                "Comme la convention le prévoit (article 3), mettez à jour son périmètre : \
                 ouvrez le dossier par le lien ci-dessous et choisissez « Modifier les écoles de \
                 la convention » pour déposer un avenant (écoles retirées, et l’école qui les \
                 remplace s’il y en a une)."
                    .into(),
            ],
        }],
    })
}

/// A reminder `written` on `r` whose email failed, given back: the reminders as they were, if
/// they are still as it wrote them (the next run sends it again).
pub fn release_reminder(r: &DossierRecord, written: &Change) -> Option<Change> {
    let sent = written.updates.iter().find_map(|u| match u {
        Update::RappelsEcheance(v) => Some(v.clone()),
        _ => None,
    })?;
    Some(Change {
        step: Step::RemindTerm,
        condition: Condition::Reminders(sent),
        updates: vec![Update::RappelsEcheance(r.rappels_echeance.clone())],
        notices: Vec::new(),
    })
}

/// The warning, [`DRAFT_WARNING_DAYS`] before the table's TTL deletes a draft, to its
/// signatory — only when that address was confirmed by a code (nobody else is mailed about a
/// draft).
pub fn warn_draft_expiry(r: &DossierRecord, now: &Now) -> Result<Change, Pass> {
    service(Step::WarnDraftExpiry, r)?;
    let expire_le = r.expire_le.ok_or(Pass::NotHere)?;
    if r.avertissement_expiration == Some(expire_le) {
        return Err(Pass::AlreadyDone);
    }
    if expire_le - now.seconds() > DRAFT_WARNING_DAYS * 86_400 || expire_le <= now.seconds() {
        return Err(Pass::NotHere);
    }
    let to = r.current_confirmation().ok_or(Pass::NotHere)?.email.clone();
    let quand = chrono::DateTime::from_timestamp(expire_le, 0)
        .map(|t| french_datetime_str(&t.to_rfc3339()))
        .unwrap_or_default();
    Ok(Change {
        step: Step::WarnDraftExpiry,
        condition: Condition::DraftExpiring { expire_le },
        updates: vec![Update::AvertissementExpiration(expire_le)],
        notices: vec![Notice::Brouillon {
            to,
            sujet: format!(
                "Brouillon n° {} : il sera supprimé le {quand} sans nouvelle saisie",
                r.numero
            ),
            paragraphes: vec![
                format!(
                    "Le brouillon n° {} de conventionnement ENT école / GAR n’a pas été modifié \
                     depuis longtemps : il sera supprimé automatiquement le {quand}.",
                    r.numero
                ),
                "Pour le garder, ouvrez-le par le lien ci-dessous et complétez-le ou déposez-le ; \
                 chaque enregistrement le conserve 90 jours de plus. S’il n’est plus utile, \
                 vous n’avez rien à faire."
                    .into(),
            ],
        }],
    })
}
