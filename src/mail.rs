//! Email envelopes: who receives what a step asks for ([`Notice`]), from which address and
//! replying where. The acknowledgement and the acceptance email (send-acknowledgement),
//! decisions and messages (the HTTP routes) all address the collectivité and the académie here.

use crate::domain::change::Notice;
use crate::domain::deposit::Depot;
use crate::domain::dossier::DossierRecord;
use crate::domain::ids::link_jeton;
use crate::links;
use crate::ports::OutgoingEmail;
use crate::render::email::{notification, NotificationData, Rendered};
use crate::App;

/// To the signatory in office (confirmed by a code: before the deposit, or at a change of
/// signatory; the référent, whose address nobody confirmed, is told once, on acceptance:
/// [`Notice::Referent`]); replies go to the académie's contact address.
pub fn to_collectivite(app: &App, r: &DossierRecord, rendered: Rendered) -> Option<OutgoingEmail> {
    r.contact()
        .map(|(_, _, email)| to_address(app, r, email, rendered))
}

/// « Bonjour Camille Martin, » for the signatory in office.
fn greeting(r: &DossierRecord) -> String {
    match r.contact() {
        Some((prenom, nom, _)) => format!("Bonjour {prenom} {nom},"),
        None => "Bonjour,".into(),
    }
}

/// To one address about dossier `r`; replies go to its DSDEN's contact address.
fn to_address(app: &App, r: &DossierRecord, to: &str, rendered: Rendered) -> OutgoingEmail {
    OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![to.to_string()],
        cc: Vec::new(),
        reply_to: app.dsden(r).contact_email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    }
}

/// To the contact address of the dossier's DSDEN; replies go to the signatory in office.
pub fn to_academie(
    app: &App,
    r: &DossierRecord,
    depot: &Depot,
    rendered: Rendered,
) -> OutgoingEmail {
    OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![app.dsden(r).contact_email.clone()],
        cc: Vec::new(),
        reply_to: r
            .contact()
            .map_or_else(|| depot.signataire.email.clone(), |(_, _, e)| e.to_string()),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    }
}

/// The email of one notice, addressed and rendered; None when it has nobody to go to.
pub fn email_of(
    app: &App,
    r: &DossierRecord,
    notice: &Notice,
) -> Result<Option<OutgoingEmail>, minijinja::Error> {
    let depot = r.depot.as_ref();
    Ok(Some(match (notice, depot) {
        (
            Notice::Code {
                to,
                sujet,
                paragraphes,
            }
            | Notice::Adresse {
                to,
                sujet,
                paragraphes,
            },
            _,
        ) => {
            let rendered = notification(&NotificationData {
                sujet,
                salutation: "Bonjour,",
                paragraphes: paragraphes.clone(),
                lien_libelle: "Le service des conventions ENT école / GAR",
                lien: &app.config.public_base_url,
                lien2_libelle: "",
                lien2: None,
                signature: &app.config.academie.nom,
            })?;
            to_address(app, r, to, rendered)
        }
        (
            Notice::Brouillon {
                to,
                sujet,
                paragraphes,
            },
            _,
        ) => {
            let jeton = link_jeton(app.config.link_secret.as_bytes(), &r.id, r.acces_generation);
            let rendered = notification(&NotificationData {
                sujet,
                salutation: "Bonjour,",
                paragraphes: paragraphes.clone(),
                lien_libelle: "Ouvrir le brouillon",
                lien: &links::private_page(&app.config, &r.id, &jeton),
                lien2_libelle: "",
                lien2: None,
                signature: &app.config.academie.nom,
            })?;
            to_address(app, r, to, rendered)
        }
        (_, None) => return Ok(None),
        (Notice::Referent { sujet, paragraphes }, Some(depot)) => {
            let Some(referent) = &depot.referent else {
                return Ok(None);
            };
            // The public verification, not a link-jeton: that would open the dossier (and its
            // messagerie) to an address nobody confirmed.
            let lien = r
                .convention
                .as_ref()
                .map(|c| links::verification_page(&app.config, &c.code_verification))
                .unwrap_or_else(|| app.config.public_base_url.clone());
            let rendered = notification(&NotificationData {
                sujet,
                salutation: &format!("Bonjour {},", referent.prenom_nom),
                paragraphes: paragraphes.clone(),
                lien_libelle: "Vérifier la convention",
                lien: &lien,
                lien2_libelle: "",
                lien2: None,
                signature: &app.config.academie.nom,
            })?;
            to_address(app, r, &referent.email, rendered)
        }
        (Notice::Collectivite { sujet, paragraphes }, Some(_)) => {
            let jeton = link_jeton(app.config.link_secret.as_bytes(), &r.id, r.acces_generation);
            let salutation = greeting(r);
            let rendered = notification(&NotificationData {
                sujet,
                salutation: &salutation,
                paragraphes: paragraphes.clone(),
                lien_libelle: "Voir le dossier et répondre",
                lien: &links::private_page(&app.config, &r.id, &jeton),
                lien2_libelle: "",
                lien2: None,
                signature: &app.config.academie.nom,
            })?;
            return Ok(to_collectivite(app, r, rendered));
        }
        (
            Notice::Contresignature {
                sujet,
                paragraphes,
                version,
            },
            Some(_),
        ) => {
            let jeton = link_jeton(app.config.link_secret.as_bytes(), &r.id, r.acces_generation);
            let salutation = greeting(r);
            let page = links::private_page(&app.config, &r.id, &jeton);
            let rendered = notification(&NotificationData {
                sujet,
                salutation: &salutation,
                paragraphes: paragraphes.clone(),
                lien_libelle: "Télécharger la convention contresignée (PDF)",
                lien: &links::convention_version_with_jeton(&app.config, &r.id, *version, &jeton),
                lien2_libelle: "Voir le dossier et ses versions de la convention",
                lien2: Some(&page),
                signature: &app.config.academie.nom,
            })?;
            return Ok(to_collectivite(app, r, rendered));
        }
        (Notice::Academie { sujet, paragraphes }, Some(depot)) => {
            let rendered = notification(&NotificationData {
                sujet,
                salutation: "Bonjour,",
                paragraphes: paragraphes.clone(),
                lien_libelle: "Ouvrir le dossier",
                lien: &links::instructeur_page(&app.config, &r.id),
                lien2_libelle: "",
                lien2: None,
                signature: "Conventions ENT école / GAR",
            })?;
            to_academie(app, r, depot, rendered)
        }
    }))
}

/// A daily digest, to `to` (a DSDEN's contact address, or the académie's): each dossier with
/// the link to its page; `label` (« département 22 ») names its part in the subject.
pub fn digest_email(
    app: &App,
    digest: &crate::domain::digest::Digest,
    today: &str,
    to: &str,
    label: Option<&str>,
) -> Result<OutgoingEmail, minijinja::Error> {
    let section = |title: &str, items: &[crate::domain::digest::Item]| {
        let lines: Vec<String> = items
            .iter()
            .map(|i| {
                let id = crate::domain::ids::DossierId::parse(&i.id);
                let link = id
                    .map(|id| links::instructeur_page(&app.config, &id))
                    .unwrap_or_default();
                format!("• {} : {link}", i.line)
            })
            .collect();
        if lines.is_empty() {
            format!("{title} : aucun.")
        } else {
            format!("{title} :\n{}", lines.join("\n"))
        }
    };
    let sujet = match label {
        Some(l) => format!("{} — {l}", digest.subject(today)),
        None => digest.subject(today),
    };
    let rendered = notification(&NotificationData {
        sujet: &sujet,
        salutation: "Bonjour,",
        paragraphes: vec![
            section("Dossiers déposés depuis hier", &digest.nouveaux),
            section("Messages de collectivités sans réponse", &digest.messages),
            section(
                "Dossiers qui attendent une décision de l’académie",
                &digest.en_attente,
            ),
        ],
        lien_libelle: "Ouvrir la liste des dossiers",
        lien: &format!("{}/instructeur", app.config.public_base_url),
        lien2_libelle: "",
        lien2: None,
        signature: "Conventions ENT école / GAR",
    })?;
    Ok(OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![to.to_string()],
        cc: Vec::new(),
        reply_to: to.to_string(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

/// Sends what a step asked for. The step is recorded whatever happens to its emails: a
/// failure is logged and the answer says `email_envoye: false`.
pub async fn send_notices(app: &App, r: &DossierRecord, notices: &[Notice]) -> bool {
    let mut all_sent = true;
    for notice in notices {
        let sent = match email_of(app, r, notice) {
            Ok(Some(email)) => app
                .mailer
                .send(&email)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Ok(None) => Err("personne à qui l’envoyer".into()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = sent {
            tracing::error!(dossier = %r.id, error = %e, "notification email failed");
            all_sent = false;
        }
    }
    all_sent
}
