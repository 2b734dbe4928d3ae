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
