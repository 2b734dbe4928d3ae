//! The convention PDF: the versioned text (minijinja) laid out with genpdf, measured with
//! Liberation Sans metrics and written with the PDF built-in Helvetica (no embedded font).

use super::blocks::{fill, parse, Block};
use super::pdf_parts::{
    finish, french_spacing, QrCode, RepeatingHeaderTable, PAGE_COUNT_PLACEHOLDER,
};
use super::text::{Lines, Text};
use super::{convention_text, pdf_safe};
use crate::config::Academie;
use crate::domain::deposit::{EcoleDeposee, Referent, Signataire};
use crate::domain::time::french_datetime_str;
use genpdf::elements::{Break, FrameCellDecorator, PageBreak, TableLayout, UnorderedList};
use genpdf::fonts::{FontData, FontFamily};
use genpdf::style::Style;
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
    /// « agissant en vertu de la délibération n° … du … » (texts from 2026-12 print it).
    pub habilitation: String,
    pub code_verification: String,
    pub url_verification: String,
    /// The académie's countersignature (the version rendered on acceptance), none on the
    /// deposit's version.
    pub contresignature: Option<ContresignatureView>,
}

/// Who countersigned for the académie, by delegation of the IA-DASEN, and when.
#[derive(Clone, Debug, Serialize)]
pub struct ContresignatureView {
    /// The accepting instructeur's display name.
    pub instructeur: String,
    /// RFC 3339 UTC, as stored.
    pub le: String,
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
    pub sha256: String,
    /// The address confirmed by a one-time code, and when (RFC 3339); None for a dossier
    /// deposited before confirmation existed.
    pub email_confirme: Option<String>,
    pub email_confirme_le: Option<String>,
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
    #[error("finition du PDF : structure inattendue")]
    Finish,
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
    let filled = fill(text, data)?;
    let mut replaced = Vec::new();
    // One layout pass: the footer prints a placeholder for the page count, set by `finish`.
    let pages = Rc::new(Cell::new(0));
    let lines = Lines::default();
    let mut out = Vec::with_capacity(128 * 1024);
    layout(data, &filled, pages.clone(), &lines, &mut replaced)?.render(&mut out)?;
    replaced.sort_unstable();
    replaced.dedup();
    let finished = finish(
        &out,
        pages.get(),
        Some(&data.url_verification),
        &lines.take(),
    )
    .ok_or(RenderError::Finish)?;
    Ok((finished, replaced))
}

fn layout(
    data: &ConventionData,
    filled: &str,
    pages: Rc<Cell<usize>>,
    lines: &Lines,
    replaced: &mut Vec<char>,
) -> Result<genpdf::Document, RenderError> {
    let mut doc = genpdf::Document::new(fonts().clone());
    doc.set_title(pdf_safe(&format!("Convention {}", data.numero), replaced));
    doc.set_minimal_conformance();
    doc.set_line_spacing(1.2);
    doc.set_font_size(10);
    doc.set_page_decorator(Footer {
        numero: data.numero.clone(),
        pages,
        lines: lines.clone(),
    });

    for block in parse(filled) {
        match block {
            Block::SautDePage => doc.push(PageBreak::new()),
            Block::Ecoles => doc.push(schools_table(&data.ecoles, lines, replaced)),
            Block::Signature => signature_block(&mut doc, data, lines, replaced),
            Block::Titre(t) => {
                doc.push(
                    Text::styled(
                        lines,
                        pdf_safe(&t, replaced),
                        Style::new().bold().with_font_size(15),
                    )
                    .aligned(Alignment::Center),
                );
                doc.push(Break::new(0.5));
            }
            Block::Intertitre(t) => {
                doc.push(Break::new(0.6));
                doc.push(Text::styled(
                    lines,
                    pdf_safe(&french_spacing(&t), replaced),
                    Style::new().bold().with_font_size(12),
                ));
                doc.push(Break::new(0.2));
            }
            Block::Liste(items) => {
                let mut list = UnorderedList::new();
                for l in &items {
                    list.push(rich(l, lines, replaced));
                }
                doc.push(list);
                doc.push(Break::new(0.3));
            }
            Block::Paragraphe(p) => {
                doc.push(rich(&p, lines, replaced));
                doc.push(Break::new(0.4));
            }
        }
    }
    Ok(doc)
}

/// A paragraph where `**…**` spans are bold.
fn rich(s: &str, lines: &Lines, replaced: &mut Vec<char>) -> Text {
    let mut p = Text::new(lines);
    for (i, part) in s.split("**").enumerate() {
        if part.is_empty() {
            continue;
        }
        let style = if i % 2 == 1 {
            Style::new().bold()
        } else {
            Style::new()
        };
        p = p.push(pdf_safe(&french_spacing(part), replaced), style);
    }
    p
}

fn signature_block(
    doc: &mut genpdf::Document,
    d: &ConventionData,
    lines: &Lines,
    replaced: &mut Vec<char>,
) {
    let s = &d.signataire;
    let line =
        |doc: &mut genpdf::Document, text: String, style: Style, replaced: &mut Vec<char>| {
            doc.push(Text::styled(
                lines,
                pdf_safe(&french_spacing(&text), replaced),
                style,
            ));
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
    if let (Some(email), Some(le)) = (&d.signature.email_confirme, &d.signature.email_confirme_le) {
        doc.push(Break::new(0.2));
        line(
            doc,
            format!(
                "Adresse du signataire ({email}) confirmée par un code à usage unique le {}.",
                french_datetime_str(le)
            ),
            Style::new(),
            replaced,
        );
    }
    doc.push(Break::new(0.3));
    line(
        doc,
        format!("« {APPROVAL_STATEMENT} »"),
        Style::new().italic(),
        replaced,
    );
    if let Some(c) = &d.contresignature {
        doc.push(Break::new(0.5));
        line(
            doc,
            format!(
                "Pour l’académie, {}, {}, par délégation {}",
                d.academie.dasen_nom, d.academie.dasen_titre, c.instructeur
            ),
            Style::new().bold(),
            replaced,
        );
        line(
            doc,
            format!("le {}.", french_datetime_str(&c.le)),
            Style::new(),
            replaced,
        );
    }
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
        // The source IP stays in the stored evidence: the document does not need it.
        format!("Code de vérification : {}", d.code_verification),
        format!(
            "Authenticité vérifiable à l’adresse : {}",
            d.url_verification
        ),
    ] {
        line(doc, text, Style::new().with_font_size(8), replaced);
    }
    doc.push(Break::new(0.5));
    doc.push(QrCode::new(genpdf::Mm::from(30)));
}

fn cell(s: &str, style: Style, lines: &Lines, replaced: &mut Vec<char>) -> impl Element {
    Text::styled(lines, pdf_safe(s, replaced), style).padded(Margins::trbl(1, 1.5, 1, 1.5))
}

const ANNEX_COLUMNS: [usize; 3] = [2, 6, 4];

fn annex_header(lines: &Lines) -> TableLayout {
    let mut table = TableLayout::new(ANNEX_COLUMNS.to_vec());
    table.set_cell_decorator(FrameCellDecorator::new(true, true, false));
    let head = Style::new().bold();
    let mut ignored = Vec::new();
    table
        .row()
        .element(cell("UAI", head, lines, &mut ignored))
        .element(cell("École", head, lines, &mut ignored))
        .element(cell("Commune", head, lines, &mut ignored))
        .push()
        .expect("3 cells in 3 columns");
    table
}

/// The annex: UAI, name, commune; the header repeats on every page the table continues on.
fn schools_table(
    ecoles: &[EcoleDeposee],
    lines: &Lines,
    replaced: &mut Vec<char>,
) -> RepeatingHeaderTable {
    let mut table = TableLayout::new(ANNEX_COLUMNS.to_vec());
    table.set_cell_decorator(FrameCellDecorator::new(true, true, false));
    for e in ecoles {
        table
            .row()
            .element(cell(&e.uai, Style::new(), lines, replaced))
            .element(cell(&e.nom, Style::new(), lines, replaced))
            .element(cell(&e.commune, Style::new(), lines, replaced))
            .push()
            .expect("3 cells in 3 columns");
    }
    let lines = lines.clone();
    RepeatingHeaderTable::new(move || annex_header(&lines), table)
}

/// Margins and a footer "Convention ENT-000042 — page x / N" on every page (N is set after
/// layout, see `pdf_parts::finish`).
struct Footer {
    numero: String,
    pages: Rc<Cell<usize>>,
    lines: Lines,
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
        let pages = format!("page {page} / {PAGE_COUNT_PLACEHOLDER}");
        // Left-aligned: the count replacing the placeholder may be narrower.
        Text::styled(
            &self.lines,
            format!("Convention {} — {}", self.numero, pages),
            Style::new().with_font_size(8),
        )
        .render(context, footer_area, style)?;
        area.set_height(size.height - footer_height - genpdf::Mm::from(2));
        Ok(area)
    }
}

/// Example data (fictitious people, real-looking schools) for benchmarks, the sample in docs/
/// and tests: `n` schools.
pub fn sample(n: usize) -> ConventionData {
    let communes = [
        "Baulon",
        "Cardroc",
        "Chavagne",
        "L’Haÿ-les-Roses",
        "Saint-Malo",
        "Cintré",
    ];
    ConventionData {
        numero: "ENT-000042".into(),
        version_texte: super::current_version().into(),
        academie: AcademieView {
            nom: "Académie de Rennes".into(),
            dasen_nom: "Mme Claire DUPONT".into(),
            dasen_titre: "inspectrice d’académie – directrice académique des services de l’Éducation nationale d’Ille-et-Vilaine".into(),
            adresse: "1 quai Dujardin, 35000 Rennes".into(),
        },
        collectivite: CollectiviteView {
            nom: "Commune de Baulon".into(),
            siret: "21350016800025".into(),
            adresse: Some("Mairie, 1 place de l’Église, 35580 Baulon".into()),
        },
        signataire: Signataire {
            prenom: "Camille".into(),
            nom: "Martin".into(),
            qualite: "Maire".into(),
            email: "mairie@exemple.fr".into(),
            habilitation: None,
        },
        habilitation: "agissant en vertu de la délibération n° 2026-014 du 28 mars 2026".into(),
        referent: Some(Referent { prenom_nom: "Jean GARCIA".into(), email: "jean.garcia@exemple.fr".into() }),
        ecoles: (0..n)
            .map(|i| {
                let number = 350_000 + i as u32;
                EcoleDeposee {
                    uai: format!("{number:07}{}", char::from(b"ABCDEFGHJKLMNPRSTUVWXYZ"[(number % 23) as usize])),
                    nom: format!("École primaire publique n° {} « Les Œillets »", i + 1),
                    commune: communes[i % communes.len()].into(),
                    code_insee: "35016".into(),
                    hors_territoire: false,
                }
            })
            .collect(),
        signature: SignatureView {
            horodatage: "2026-11-28T20:14:00.000Z".into(),
            email_confirme: Some("mairie@exemple.fr".into()),
            email_confirme_le: Some("2026-11-28T20:11:00.000Z".into()),
            sha256: "046740b4b051fc046ca311f0d12434a28a3487ccc7065e8ec68d814eac8c57fc".into(),
        },
        code_verification: "K7QM-4TZX-9HCR".into(),
        url_verification: "https://conventions-ent.ac-rennes.fr/verification/K7QM-4TZX-9HCR".into(),
        contresignature: None,
    }
}
