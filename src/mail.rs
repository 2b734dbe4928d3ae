//! Email envelopes: who receives what a step asks for ([`Notice`]), from which address and
//! replying where. The acknowledgement (send-acknowledgement), decisions and messages (the
//! HTTP routes) all address the collectivité and the académie here.

use crate::domain::change::Notice;
use crate::domain::deposit::Depot;
use crate::domain::dossier::DossierRecord;
use crate::domain::ids::link_jeton;
use crate::links;
use crate::ports::OutgoingEmail;
use crate::render::email::{notification, NotificationData, Rendered};
use crate::App;

/// To the signatory, référent in copy; replies go to the académie's contact address.
pub fn to_collectivite(app: &App, depot: &Depot, rendered: Rendered) -> OutgoingEmail {
    OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![depot.signataire.email.clone()],
        cc: depot.referent.iter().map(|r| r.email.clone()).collect(),
        reply_to: app.config.contact_email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    }
}

/// To the académie's contact address; replies go to the signatory.
pub fn to_academie(app: &App, depot: &Depot, rendered: Rendered) -> OutgoingEmail {
    OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![app.config.contact_email.clone()],
        cc: Vec::new(),
        reply_to: depot.signataire.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    }
}

/// The email of one notice, addressed and rendered.
fn email_of(
    app: &App,
    r: &DossierRecord,
    depot: &Depot,
    notice: &Notice,
) -> Result<OutgoingEmail, minijinja::Error> {
    Ok(match notice {
        Notice::Collectivite { sujet, paragraphes } => {
            let jeton = link_jeton(app.config.link_secret.as_bytes(), &r.id);
            let salutation = format!(
                "Bonjour {} {},",
                depot.signataire.prenom, depot.signataire.nom
            );
            let rendered = notification(&NotificationData {
                sujet,
                salutation: &salutation,
                paragraphes: paragraphes.clone(),
                lien_libelle: "Voir le dossier et répondre",
                lien: &links::private_page(&app.config, &r.id, &jeton),
                signature: &app.config.academie.nom,
            })?;
            to_collectivite(app, depot, rendered)
        }
        Notice::Academie { sujet, paragraphes } => {
            let rendered = notification(&NotificationData {
                sujet,
                salutation: "Bonjour,",
                paragraphes: paragraphes.clone(),
                lien_libelle: "Ouvrir le dossier",
                lien: &links::instructeur_page(&app.config, &r.id),
                signature: "Conventions ENT école / GAR",
            })?;
            to_academie(app, depot, rendered)
        }
    })
}

/// Sends what a step asked for. The step is recorded whatever happens to its emails: a
/// failure is logged and the answer says `email_envoye: false`.
pub async fn send_notices(app: &App, r: &DossierRecord, notices: &[Notice]) -> bool {
    let Some(depot) = &r.depot else {
        return notices.is_empty();
    };
    let mut all_sent = true;
    for notice in notices {
        let sent = match email_of(app, r, depot, notice) {
            Ok(email) => app
                .mailer
                .send(&email)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = sent {
            tracing::error!(dossier = %r.id, error = %e, "notification email failed");
            all_sent = false;
        }
    }
    all_sent
}
