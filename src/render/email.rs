//! The acknowledgement email, text and HTML, from `templates/email/`.

use crate::domain::deposit::{EcoleDeposee, Signataire};
use crate::domain::text::single_line;
use serde::Serialize;

const TEXT: &str = include_str!("../../templates/email/accuse.txt.j2");
const HTML: &str = include_str!("../../templates/email/accuse.html.j2");

#[derive(Serialize)]
pub struct AccuseData<'a> {
    pub numero: &'a str,
    pub collectivite: String,
    pub signataire: &'a Signataire,
    pub ecoles: &'a [EcoleDeposee],
    /// Already formatted for French readers.
    pub depose_le: String,
    pub lien_convention: String,
    pub lien_dossier: String,
    pub code_verification: &'a str,
    pub academie: &'a str,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn accuse(data: &AccuseData) -> Result<Rendered, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.add_template("accuse.txt.j2", TEXT)?;
    env.add_template("accuse.html.j2", HTML)?;
    Ok(Rendered {
        // Header values are single lines whatever the names contain.
        subject: single_line(&format!(
            "Dossier n° {} : convention ENT école / GAR déposée — {}",
            data.numero, data.collectivite
        )),
        text: env.get_template("accuse.txt.j2")?.render(data)?,
        html: env.get_template("accuse.html.j2")?.render(data)?,
    })
}

const NOTIFICATION_TEXT: &str = include_str!("../../templates/email/notification.txt.j2");
const NOTIFICATION_HTML: &str = include_str!("../../templates/email/notification.html.j2");

/// A short notification (decision, new message): a few paragraphs and one link.
#[derive(Serialize)]
pub struct NotificationData<'a> {
    pub sujet: &'a str,
    pub salutation: &'a str,
    pub paragraphes: Vec<String>,
    pub lien_libelle: &'a str,
    pub lien: &'a str,
    /// A second link (the dossier's page beside a document), or none.
    pub lien2_libelle: &'a str,
    pub lien2: Option<&'a str>,
    pub signature: &'a str,
}

pub fn notification(data: &NotificationData) -> Result<Rendered, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.add_template("notification.txt.j2", NOTIFICATION_TEXT)?;
    env.add_template("notification.html.j2", NOTIFICATION_HTML)?;
    Ok(Rendered {
        subject: single_line(data.sujet),
        text: env.get_template("notification.txt.j2")?.render(data)?,
        html: env.get_template("notification.html.j2")?.render(data)?,
    })
}
