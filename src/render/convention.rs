//! The convention PDF: the versioned text (minijinja) laid out with genpdf, measured with
//! Liberation Sans metrics and written with the PDF built-in Helvetica (no embedded font).

use super::{convention_text, pdf_safe, time::french_datetime_str};
use crate::config::Academie;
use crate::domain::deposit::{EcoleDeposee, Referent, Signataire};
use genpdf::elements::{
    Break, FrameCellDecorator, PageBreak, Paragraph, TableLayout, UnorderedList,
};
use genpdf::fonts::{FontData, FontFamily};
use genpdf::style::{Style, StyledString};
use genpdf::{Alignment, Context, Element, Margins, PageDecorator, Position};
use serde::Serialize;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;

/// Everything printed on a convention.
#[derive(Clone, Debug, Serialize)]
pub struct ConventionData {
    pub numero: String,
    pub version_texte: String,
    pub academie: AcademieView,
    pub collectivite: CollectiviteView,
    pub signataire: Signataire,
    pub referent: Option<Referent>,
    pub ecoles: Vec<EcoleDeposee>,
    pub signature: SignatureView,
    pub code_verification: String,
    pub url_verification: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AcademieView {
    pub nom: String,
    pub dasen_nom: String,
    pub dasen_titre: String,
    pub adresse: String,
}

impl From<&Academie> for AcademieView {
    fn from(a: &Academie) -> Self {
        AcademieView {
            nom: a.nom.clone(),
            dasen_nom: a.dasen_nom.clone(),
            dasen_titre: a.dasen_titre.clone(),
            adresse: a.adresse.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CollectiviteView {
    pub nom: String,
    pub siret: String,
    pub adresse: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SignatureView {
    /// RFC 3339 UTC, as stored.
    pub horodatage: String,
    pub ip: String,
    pub sha256: String,
}

/// The approval statement the signatory ticked, quoted in the signature block.
pub const APPROVAL_STATEMENT: &str = "J’approuve le projet de convention tel qu’il m’est présenté avec les éléments qui sont indiqués dans ce formulaire : en particulier les coordonnées du signataire et les écoles concernées. J’accepte, reconnais et signe par la présente cette convention.";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("version du texte inconnue : {0}")]
    UnknownVersion(String),
    #[error("modèle de convention : {0}")]
    Template(#[from] minijinja::Error),
    #[error("mise en page PDF : {0}")]
    Pdf(#[from] genpdf::error::Error),
}

const REGULAR: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Bold.ttf");
const ITALIC: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Italic.ttf");
const BOLD_ITALIC: &[u8] = include_bytes!("../../data/fonts/LiberationSans-BoldItalic.ttf");

/// Parsed once per process: metrics of Liberation Sans, output as built-in Helvetica.
fn fonts() -> &'static FontFamily<FontData> {
    static FONTS: OnceLock<FontFamily<FontData>> = OnceLock::new();
    FONTS.get_or_init(|| {
        use printpdf::BuiltinFont::*;
        let load = |data: &[u8], builtin| {
            FontData::new(data.to_vec(), Some(builtin)).expect("bundled font parses")
        };
        FontFamily {
            regular: load(REGULAR, Helvetica),
            bold: load(BOLD, HelveticaBold),
            italic: load(ITALIC, HelveticaOblique),
            bold_italic: load(BOLD_ITALIC, HelveticaBoldOblique),
        }
    })
}

/// Renders the PDF; returns its bytes and the characters that had to be replaced.
pub fn render(data: &ConventionData) -> Result<(Vec<u8>, Vec<char>), RenderError> {
    let text = convention_text(&data.version_texte)
        .ok_or_else(|| RenderError::UnknownVersion(data.version_texte.clone()))?;
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    let filled = env.render_str(text, data)?;
    let mut replaced = Vec::new();
    // First pass counts pages, second prints "page x / N".
    let pages = Rc::new(Cell::new(0));
    layout(data, &filled, None, pages.clone(), &mut replaced)?.render(&mut std::io::sink())?;
    let total = pages.get();
    let mut out = Vec::with_capacity(32 * 1024);
    let mut ignored = Vec::new();
    layout(
        data,
        &filled,
        Some(total),
        Rc::new(Cell::new(0)),
        &mut ignored,
    )?
    .render(&mut out)?;
    replaced.sort_unstable();
    replaced.dedup();
    Ok((out, replaced))
}

fn layout(
    data: &ConventionData,
    filled: &str,
    total: Option<usize>,
    pages: Rc<Cell<usize>>,
    replaced: &mut Vec<char>,
) -> Result<genpdf::Document, RenderError> {
    let mut doc = genpdf::Document::new(fonts().clone());
    doc.set_title(pdf_safe(&format!("Convention {}", data.numero), replaced));
    doc.set_minimal_conformance();
    doc.set_line_spacing(1.2);
    doc.set_font_size(10);
    doc.set_page_decorator(Footer {
        numero: data.numero.clone(),
        total,
        pages,
    });

    for block in filled
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        match block {
            "[[saut_de_page]]" => doc.push(PageBreak::new()),
            "[[annexe_ecoles]]" => doc.push(schools_table(&data.ecoles, replaced)),
            "[[signature]]" => signature_block(&mut doc, data, replaced),
            b if b.starts_with("# ") => {
                let mut p = Paragraph::new(StyledString::new(
                    pdf_safe(&b[2..], replaced),
                    Style::new().bold().with_font_size(15),
                ));
                p.set_alignment(Alignment::Center);
                doc.push(p);
                doc.push(Break::new(0.5));
            }
            b if b.starts_with("## ") => {
                doc.push(Break::new(0.6));
                doc.push(Paragraph::new(StyledString::new(
                    pdf_safe(&b[3..], replaced),
                    Style::new().bold().with_font_size(12),
                )));
                doc.push(Break::new(0.2));
            }
            b if b.lines().all(|l| l.starts_with("- ")) => {
                let mut list = UnorderedList::new();
                for l in b.lines() {
                    list.push(rich(&l[2..], replaced));
                }
                doc.push(list);
                doc.push(Break::new(0.3));
            }
            b => {
                let mut p = rich(
                    &b.split_whitespace().collect::<Vec<_>>().join(" "),
                    replaced,
                );
                p.set_alignment(Alignment::Left);
                doc.push(p);
                doc.push(Break::new(0.4));
            }
        }
    }
    Ok(doc)
}

/// A paragraph where `**…**` spans are bold.
fn rich(s: &str, replaced: &mut Vec<char>) -> Paragraph {
    let mut p = Paragraph::default();
    for (i, part) in s.split("**").enumerate() {
        if part.is_empty() {
            continue;
        }
        let style = if i % 2 == 1 {
            Style::new().bold()
        } else {
            Style::new()
        };
        p.push(StyledString::new(pdf_safe(part, replaced), style));
    }
    p
}

fn signature_block(doc: &mut genpdf::Document, d: &ConventionData, replaced: &mut Vec<char>) {
    let s = &d.signataire;
    let line =
        |doc: &mut genpdf::Document, text: String, style: Style, replaced: &mut Vec<char>| {
            doc.push(Paragraph::new(StyledString::new(
                pdf_safe(&text, replaced),
                style,
            )));
        };
    line(
        doc,
        format!(
            "Signé électroniquement par {} {}, {}, le {}.",
            s.prenom,
            s.nom.to_uppercase(),
            s.qualite,
            french_datetime_str(&d.signature.horodatage)
        ),
        Style::new().bold(),
        replaced,
    );
    doc.push(Break::new(0.3));
    let mut p = Paragraph::new(StyledString::new(
        pdf_safe(&format!("« {APPROVAL_STATEMENT} »"), replaced),
        Style::new().italic(),
    ));
    p.set_alignment(Alignment::Left);
    doc.push(p);
    doc.push(Break::new(0.3));
    for text in [
        format!(
            "Dossier n° {} — texte de la convention, version {}",
            d.numero, d.version_texte
        ),
        format!(
            "Empreinte SHA-256 du contenu approuvé : {}",
            d.signature.sha256
        ),
        format!("Adresse IP du signataire : {}", d.signature.ip),
        format!("Code de vérification : {}", d.code_verification),
        format!(
            "Authenticité vérifiable à l’adresse : {}",
            d.url_verification
        ),
    ] {
        line(doc, text, Style::new().with_font_size(8), replaced);
    }
}

fn schools_table(ecoles: &[EcoleDeposee], replaced: &mut Vec<char>) -> TableLayout {
    let mut table = TableLayout::new(vec![2, 6, 4]);
    table.set_cell_decorator(FrameCellDecorator::new(true, true, false));
    let cell = |s: &str, style: Style, replaced: &mut Vec<char>| {
        Paragraph::new(StyledString::new(pdf_safe(s, replaced), style))
            .padded(Margins::trbl(1, 1.5, 1, 1.5))
    };
    let head = Style::new().bold();
    table
        .row()
        .element(cell("UAI", head, replaced))
        .element(cell("École", head, replaced))
        .element(cell("Commune", head, replaced))
        .push()
        .expect("3 cells in 3 columns");
    for e in ecoles {
        table
            .row()
            .element(cell(&e.uai, Style::new(), replaced))
            .element(cell(&e.nom, Style::new(), replaced))
            .element(cell(&e.commune, Style::new(), replaced))
            .push()
            .expect("3 cells in 3 columns");
    }
    table
}

/// Margins and a footer "Convention ENT-000042 — page x / N" on every page.
struct Footer {
    numero: String,
    total: Option<usize>,
    pages: Rc<Cell<usize>>,
}

impl PageDecorator for Footer {
    fn decorate_page<'a>(
        &mut self,
        context: &Context,
        mut area: genpdf::render::Area<'a>,
        style: Style,
    ) -> Result<genpdf::render::Area<'a>, genpdf::error::Error> {
        let page = self.pages.get() + 1;
        self.pages.set(page);
        area.add_margins(Margins::trbl(18, 20, 12, 20));
        let size = area.size();
        let footer_height = genpdf::Mm::from(8);
        let mut footer_area = area.clone();
        footer_area.add_offset(Position::new(0, size.height - footer_height));
        footer_area.set_height(footer_height);
        let pages = match self.total {
            Some(n) => format!("page {page} / {n}"),
            None => format!("page {page} / 000"),
        };
        let mut footer = Paragraph::new(StyledString::new(
            format!("Convention {} — {}", self.numero, pages),
            Style::new().with_font_size(8),
        ));
        footer.set_alignment(Alignment::Right);
        footer.render(context, footer_area, style)?;
        area.set_height(size.height - footer_height - genpdf::Mm::from(2));
        Ok(area)
    }
}
