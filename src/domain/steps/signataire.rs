//! The signatory confirms the address: a code sent, a code given back.

use super::allowed;
use crate::domain::change::{Change, Condition, Notice, Update};
use crate::domain::dossier::{DossierRecord, NouveauSignataire};
use crate::domain::draft::FieldError;
use crate::domain::life::{Actor, Refusal, Step};
use crate::domain::signataire::{
    code_matches, hash_code, too_many, CodeEnvoye, Confirmation, CODES_PER_DOSSIER_PER_HOUR,
    CODE_MINUTES, MAX_TRIES, RESEND_SECONDS,
};
use crate::domain::siret::Siret;
use crate::domain::time::{french_datetime, Now};

/// Sends `code` (drawn by the caller from the CSPRNG) to the draft's signatory address, within
/// the dossier's quota; the address quota is the store's (see `signataire::address_quota`).
pub fn send_code(
    r: &DossierRecord,
    code: &str,
    key: &[u8],
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::SendCode, r, actor)?;
    let Some(email) = r.brouillon.signataire_address() else {
        return Err(Refusal::Field(FieldError::new(
            "signataire.email",
            "Saisissez d’abord une adresse électronique valide pour le signataire : le code y sera envoyé.",
        )));
    };
    let sent = within_quota(r, now)?;
    // Nothing the applicant typed goes into this email (it reaches an address nobody confirmed:
    // free text there would let anyone mail anything from the académie's address); a SIRET
    // only once it parses.
    let pour = r
        .brouillon
        .collectivite
        .as_ref()
        .and_then(|c| c.siret.as_deref())
        .and_then(|s| Siret::parse(s).ok())
        .map(|s| format!("pour la collectivité de SIRET {} ", s.as_str()))
        .unwrap_or_default();
    let (pending, until) = pending_code(r, &email, code, key, now);
    Ok(Change {
        step: Step::SendCode,
        // Concurrent sends on one dossier: one wins, the others find the code changed.
        condition: Condition::CodeUnchanged {
            envoye_le: r.code_signataire.as_ref().map(|c| c.envoye_le.clone()),
        },
        updates: vec![
            Update::CodeSignataire(Some(pending)),
            Update::CodesEnvoyes(sent),
        ],
        notices: vec![Notice::Code {
            to: email,
            sujet: format!("Code de confirmation {code} — convention ENT école"),
            paragraphes: vec![
                format!(
                    "Une convention ENT école / GAR est en préparation {pour}(dossier n° {}) \
                     sur le service de conventionnement de l’académie. Votre adresse y est \
                     indiquée comme celle du signataire.",
                    r.numero
                ),
                format!(
                    "Pour confirmer votre adresse, communiquez ce code à la personne qui remplit le \
                     dossier, ou saisissez-le vous-même : {code}. Il est valable jusqu’au {until}."
                ),
                "Si vous n’attendiez pas ce message, ne communiquez ce code à personne : sans lui, \
                 aucune convention ne peut être déposée en votre nom. Vous pouvez le signaler à \
                 l’académie en répondant à ce message."
                    .into(),
            ],
        }],
    })
}

/// The code pending for `email` from `now` (its hash, never the code itself), and when it
/// expires as the email says it.
fn pending_code(
    r: &DossierRecord,
    email: &str,
    code: &str,
    key: &[u8],
    now: &Now,
) -> (CodeEnvoye, String) {
    let expire = now.seconds() + CODE_MINUTES * 60;
    let until = chrono::DateTime::from_timestamp(expire, 0).unwrap_or_else(|| now.utc());
    (
        CodeEnvoye {
            email: email.to_string(),
            code_sha256: hash_code(key, &r.id, code),
            envoye_le: now.stamp(),
            expire_le: expire,
            essais: 0,
        },
        french_datetime(until),
    )
}

/// The dossier's recent sends with this one, if its quota allows one now (one a minute, a few
/// an hour).
fn within_quota(r: &DossierRecord, now: &Now) -> Result<Vec<i64>, Refusal> {
    let t = now.seconds();
    let recent: Vec<i64> = r
        .codes_envoyes
        .iter()
        .copied()
        .filter(|s| t - s < 3600)
        .collect();
    if let Some(last) = recent.iter().max() {
        if t - last < RESEND_SECONDS {
            return Err(too_many(RESEND_SECONDS - (t - last), |when| {
                format!("Un code vient d’être envoyé : vous pourrez en demander un autre {when}.")
            }));
        }
    }
    if recent.len() >= CODES_PER_DOSSIER_PER_HOUR {
        let oldest = recent.iter().min().copied().unwrap_or(t);
        return Err(too_many(3600 - (t - oldest), |when| {
            format!(
                "{CODES_PER_DOSSIER_PER_HOUR} codes ont déjà été envoyés pour ce dossier dans l’heure : \
                 vous pourrez en demander un autre {when}."
            )
        }));
    }
    let mut sent = recent;
    sent.push(t);
    Ok(sent)
}

/// What a code given back does: the address confirmed, or one more wrong try counted (the
/// change is written in both cases; the error says what to do).
pub struct CodeChecked {
    pub change: Change,
    pub wrong: Option<FieldError>,
}

fn code_error(message: impl Into<String>) -> Refusal {
    Refusal::Field(FieldError::new("code", message))
}

/// The code the signatory received, given back.
pub fn confirm_code(
    r: &DossierRecord,
    presented: &str,
    key: &[u8],
    actor: &Actor,
    now: &Now,
) -> Result<CodeChecked, Refusal> {
    allowed(Step::ConfirmCode, r, actor)?;
    let Some(pending) = &r.code_signataire else {
        return Err(code_error(
            "Aucun code n’est en attente pour ce dossier : envoyez d’abord le code au signataire.",
        ));
    };
    if r.current_code().is_none() {
        return Err(code_error(
            "L’adresse du signataire a changé depuis l’envoi du code : envoyez un nouveau code.",
        ));
    }
    let confirmed = vec![Update::ConfirmationSignataire(Some(Confirmation {
        email: pending.email.clone(),
        le: now.stamp(),
    }))];
    check(
        Step::ConfirmCode,
        r,
        pending,
        presented,
        key,
        now,
        confirmed,
        Vec::new(),
    )
}

/// `presented` against the `pending` code: on a match, `confirmed` (and `notices`) with the
/// code dropped; otherwise one more wrong try counted. Both conditioned on the code and its
/// count of tries as read.
#[allow(clippy::too_many_arguments)]
fn check(
    step: Step,
    r: &DossierRecord,
    pending: &CodeEnvoye,
    presented: &str,
    key: &[u8],
    now: &Now,
    mut confirmed: Vec<Update>,
    notices: Vec<Notice>,
) -> Result<CodeChecked, Refusal> {
    if now.seconds() >= pending.expire_le {
        return Err(code_error(
            "Ce code a expiré : envoyez un nouveau code au signataire.",
        ));
    }
    if pending.essais >= MAX_TRIES {
        return Err(code_error(
            "Trop de codes erronés : ce code n’est plus valable, envoyez-en un nouveau.",
        ));
    }
    let p = presented.trim();
    if p.len() != 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_error("Le code est fait de 6 chiffres (ex. : 482913)."));
    }
    let condition = Condition::PendingCode {
        code_sha256: pending.code_sha256.clone(),
        essais: pending.essais,
    };
    if code_matches(key, &r.id, p, &pending.code_sha256) {
        confirmed.push(Update::CodeSignataire(None));
        return Ok(CodeChecked {
            change: Change {
                step,
                condition,
                updates: confirmed,
                notices,
            },
            wrong: None,
        });
    }
    let essais = pending.essais + 1;
    let left = MAX_TRIES - essais;
    let message = match left {
        0 => "Code erroné. C’était le dernier essai : envoyez un nouveau code.".to_string(),
        1 => "Code erroné : il reste 1 essai.".to_string(),
        n => format!("Code erroné : il reste {n} essais."),
    };
    Ok(CodeChecked {
        change: Change {
            step,
            condition,
            updates: vec![Update::CodeSignataire(Some(CodeEnvoye {
                essais,
                ..pending.clone()
            }))],
            notices: Vec::new(),
        },
        wrong: Some(FieldError::new("code", message)),
    })
}

/// The collectivité names a new signatory on a deposited dossier (after elections): a code
/// sent to that address (the dossier's code quota applies, the address's is the caller's); the
/// change takes effect once the code is given back ([`confirm_new_signataire`]).
pub fn propose_signataire(
    r: &DossierRecord,
    nouveau: NouveauSignataire,
    code: &str,
    key: &[u8],
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::ProposeSignataire, r, actor)?;
    let sent = within_quota(r, now)?;
    let (pending, until) = pending_code(r, &nouveau.email, code, key, now);
    let pour = r
        .depot
        .as_ref()
        .map(|d| format!("pour la collectivité de SIRET {} ", d.collectivite.siret))
        .unwrap_or_default();
    let email = nouveau.email.clone();
    Ok(Change {
        step: Step::ProposeSignataire,
        condition: Condition::DepositedCodeUnchanged {
            envoye_le: r.code_signataire.as_ref().map(|c| c.envoye_le.clone()),
        },
        updates: vec![
            Update::NouveauSignataire(Some(nouveau)),
            Update::CodeSignataire(Some(pending)),
            Update::CodesEnvoyes(sent),
        ],
        notices: vec![Notice::Code {
            to: email,
            sujet: format!("Code de confirmation {code} — convention ENT école"),
            paragraphes: vec![
                format!(
                    "Votre adresse est indiquée comme celle du nouveau signataire de la convention \
                     ENT école / GAR {pour}(dossier n° {}), sur le service de conventionnement de \
                     l’académie.",
                    r.numero
                ),
                format!(
                    "Pour confirmer votre adresse, communiquez ce code à la personne qui fait la \
                     demande, ou saisissez-le vous-même : {code}. Il est valable jusqu’au {until}."
                ),
                "Si vous n’attendiez pas ce message, ne communiquez ce code à personne : sans lui, \
                 le signataire du dossier ne change pas. Vous pouvez le signaler à l’académie en \
                 répondant à ce message."
                    .into(),
            ],
        }],
    })
}

/// The new signatory's code given back: in office from now (later emails go to them, the
/// signed convention is unchanged: the collectivité is the party), the académie told.
pub fn confirm_new_signataire(
    r: &DossierRecord,
    presented: &str,
    key: &[u8],
    actor: &Actor,
    now: &Now,
) -> Result<CodeChecked, Refusal> {
    allowed(Step::ConfirmNewSignataire, r, actor)?;
    let (Some(nouveau), Some(pending)) = (&r.nouveau_signataire, &r.code_signataire) else {
        return Err(code_error(
            "Aucun changement de signataire n’est en attente : indiquez d’abord le nouveau signataire.",
        ));
    };
    if pending.email != nouveau.email {
        return Err(code_error(
            "Le code en attente n’est pas celui du nouveau signataire : renvoyez-le.",
        ));
    }
    let before = r
        .contact()
        .map(|(p, n, e)| format!("{p} {n} ({e})"))
        .unwrap_or_default();
    let after = format!("{} {} ({})", nouveau.prenom, nouveau.nom, nouveau.email);
    let in_office = NouveauSignataire {
        le: now.stamp(),
        ..nouveau.clone()
    };
    let mut brouillon = r.brouillon.clone();
    let s = brouillon.signataire.get_or_insert_with(Default::default);
    s.prenom = Some(nouveau.prenom.clone());
    s.nom = Some(nouveau.nom.clone());
    s.qualite = Some(nouveau.qualite.clone());
    s.email = Some(nouveau.email.clone());
    s.habilitation = None;
    let updates = vec![
        Update::SignataireActuel(in_office),
        Update::NouveauSignataire(None),
        Update::ConfirmationSignataire(Some(Confirmation {
            email: nouveau.email.clone(),
            le: now.stamp(),
        })),
        Update::Brouillon(brouillon),
        super::event(
            now,
            actor,
            SIGNATORY_CHANGED,
            Some(format!("{before} → {after}, adresse confirmée par code")),
        ),
    ];
    let collectivite = r
        .depot
        .as_ref()
        .map(|d| d.collectivite.display_name())
        .unwrap_or_default();
    let former = r.contact().map(|(_, _, e)| e.to_string());
    let mut notices = vec![
        Notice::Academie {
            sujet: format!("Dossier n° {} : nouveau signataire", r.numero),
            paragraphes: vec![format!(
                "{collectivite} a changé de signataire pour le dossier n° {} : {after}, \
                 à la place de {before}. La convention signée reste celle de la collectivité.",
                r.numero
            )],
        },
        Notice::Collectivite {
            sujet: format!("Dossier n° {} : vous en êtes le signataire", r.numero),
            paragraphes: vec![format!(
                "Vous êtes désormais le signataire de contact du dossier n° {} de \
                 conventionnement ENT école / GAR de {collectivite} : les courriels de l’académie \
                 vous sont adressés. La convention signée reste en vigueur, la collectivité en \
                 est la partie.",
                r.numero
            )],
        },
    ];
    // The person replaced hears of it, without a link into the dossier: if the change is not
    // the collectivité's, they warn the académie (which can renew the dossier's access).
    if let Some(former) = former.filter(|f| !f.eq_ignore_ascii_case(&nouveau.email)) {
        notices.push(Notice::Adresse {
            to: former,
            sujet: format!(
                "Dossier n° {} : vous n’en êtes plus le signataire",
                r.numero
            ),
            paragraphes: vec![
                format!(
                    "{collectivite} a désigné {after} comme signataire du dossier n° {} de \
                     conventionnement ENT école / GAR : les courriels de l’académie lui sont \
                     désormais adressés.",
                    r.numero
                ),
                "Si ce changement n’a pas été décidé par la collectivité, répondez à ce courriel \
                 pour prévenir l’académie : elle peut renouveler l’accès du dossier."
                    .into(),
            ],
        });
    }
    check(
        Step::ConfirmNewSignataire,
        r,
        pending,
        presented,
        key,
        now,
        updates,
        notices,
    )
}

/// The audit wording of a change of signatory.
pub const SIGNATORY_CHANGED: &str = "signataire changé";
