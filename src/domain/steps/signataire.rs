//! The signatory confirms the address: a code sent, a code given back.

use super::allowed;
use crate::domain::change::{Change, Condition, Notice, Update};
use crate::domain::dossier::DossierRecord;
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
    let expire = t + CODE_MINUTES * 60;
    let until = chrono::DateTime::from_timestamp(expire, 0).unwrap_or_else(|| now.utc());
    Ok(Change {
        step: Step::SendCode,
        // Concurrent sends on one dossier: one wins, the others find the code changed.
        condition: Condition::CodeUnchanged {
            envoye_le: r.code_signataire.as_ref().map(|c| c.envoye_le.clone()),
        },
        updates: vec![
            Update::CodeSignataire(Some(CodeEnvoye {
                email: email.clone(),
                code_sha256: hash_code(key, &r.id, code),
                envoye_le: now.stamp(),
                expire_le: expire,
                essais: 0,
            })),
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
                     dossier, ou saisissez-le vous-même : {code}. Il est valable jusqu’au {}.",
                    french_datetime(until)
                ),
                "Si vous n’attendiez pas ce message, ne communiquez ce code à personne : sans lui, \
                 aucune convention ne peut être déposée en votre nom. Vous pouvez le signaler à \
                 l’académie en répondant à ce message."
                    .into(),
            ],
        }],
    })
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
        return Ok(CodeChecked {
            change: Change {
                step: Step::ConfirmCode,
                condition,
                updates: vec![
                    Update::ConfirmationSignataire(Some(Confirmation {
                        email: pending.email.clone(),
                        le: now.stamp(),
                    })),
                    Update::CodeSignataire(None),
                ],
                notices: Vec::new(),
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
            step: Step::ConfirmCode,
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
