//! The convention PDF: the versioned text (minijinja) laid out with genpdf, in Liberation
//! Sans, written by `pdf` as PDF/A-2b and PDF/UA-1, sealed when a seal slot is given.

use super::blocks::{fill, parse, Block};
use super::elements::{french_spacing, ListItem, QrCode, RepeatingHeaderTable};
use super::pdf::content::PAGE_COUNT_PLACEHOLDER;
use super::pdf::signature::{SealSlot, Unsealed};
use super::pdf::xmp::Metadata;
use super::pdf::{PdfError, Written};
use super::structure::{Elem, Mark, Role, Structure};
use super::text::{Lines, Text};
use super::{convention_text, pdf_safe};
use crate::academie::{Academie, Departement};
use crate::domain::deposit::{EcoleDeposee, Referent, Signataire};
use crate::domain::time::french_datetime_str;
use genpdf::elements::{Break, FrameCellDecorator, LinearLayout, PageBreak, TableLayout};
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
    /// The PDF's version among the dossier's (1: the deposit's; 2: countersigned).
    pub version: u32,
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
    /// For an avenant: its number and the schools it adds and withdraws (`ecoles` is then the
    /// resulting perimeter); the avenant's text is printed instead of the convention's.
    pub avenant: Option<AvenantView>,
}

/// What an avenant changes in the convention it amends.
#[derive(Clone, Debug, Serialize)]
pub struct AvenantView {
    pub rang: u32,
    pub numero_initial: String,
    pub ajouts: Vec<EcoleDeposee>,
    pub retraits: Vec<EcoleDeposee>,
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

impl AcademieView {
    /// The académie, signing through the DASEN of the dossier's département.
    pub fn of(a: &Academie, d: &Departement) -> Self {
        AcademieView {
            nom: a.nom.clone(),
            dasen_nom: d.dasen_nom.clone(),
            dasen_titre: d.dasen_titre.clone(),
            adresse: d.adresse.clone(),
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
    #[error("écriture du PDF : {0}")]
    Finish(#[from] PdfError),
    #[error("date de signature illisible : {0}")]
    Date(String),
}

const REGULAR: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Bold.ttf");
const ITALIC: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Italic.ttf");
const BOLD_ITALIC: &[u8] = include_bytes!("../../data/fonts/LiberationSans-BoldItalic.ttf");

/// Parsed once per process: the metrics genpdf lays out with (`pdf` embeds the same faces;
/// genpdf's own font objects are never written, hence the built-in stand-ins).
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

/// Renders the PDF, unsealed (tests, samples); returns its bytes and the characters that had
/// to be replaced.
pub fn render(data: &ConventionData) -> Result<(Vec<u8>, Vec<char>), RenderError> {
    match render_with(data, None)? {
        (Written::Plain(pdf), replaced) => Ok((pdf, replaced)),
        (Written::Unsealed(u), replaced) => Ok((u.bytes().to_vec(), replaced)),
    }
}

/// Renders the PDF with its signature field, ready to be sealed.
pub fn render_for_seal(
    data: &ConventionData,
    slot: SealSlot,
) -> Result<(Unsealed, Vec<char>), RenderError> {
    match render_with(data, Some(slot))? {
        (Written::Unsealed(u), replaced) => Ok((u, replaced)),
        (Written::Plain(_), _) => unreachable!("a slot gives a signature field"),
    }
}

fn render_with(
    data: &ConventionData,
    seal: Option<SealSlot>,
) -> Result<(Written, Vec<char>), RenderError> {
    let text = match data.avenant {
        Some(_) => super::avenant_text(&data.version_texte),
        None => convention_text(&data.version_texte),
    }
    .ok_or_else(|| RenderError::UnknownVersion(data.version_texte.clone()))?;
    let filled = fill(text, data)?;
    let mut replaced = Vec::new();
    // One layout pass: the footer prints a placeholder for the page count, set by `pdf`.
    let pages = Rc::new(Cell::new(0));
    let lines = Lines::default();
    let structure = Structure::default();
    let mut out = Vec::with_capacity(128 * 1024);
    let mut parts = Parts {
        lines: &lines,
        structure: &structure,
        replaced: &mut replaced,
        qr: None,
    };
    layout(data, &filled, pages.clone(), &mut parts)?.render(&mut out)?;
    let qr = parts.qr;
    replaced.sort_unstable();
    replaced.dedup();
    let title = match &data.avenant {
        Some(a) => format!("Avenant n° {} à la convention {}", a.rang, a.numero_initial),
        None => format!("Convention {}", data.numero),
    };
    // The time of the last signature the document carries.
    let signed_at = data
        .contresignature
        .as_ref()
        .map_or(&data.signature.horodatage, |c| &c.le);
    let created = chrono::DateTime::parse_from_rfc3339(signed_at)
        .map_err(|e| RenderError::Date(e.to_string()))?;
    let created = crate::domain::time::paris(created.with_timezone(&chrono::Utc));
    let written = super::pdf::write(super::pdf::Document {
        metadata: Metadata {
            title: &title,
            author: &data.academie.nom,
            numero: &data.numero,
            version_texte: &data.version_texte,
            version: data.version,
            created,
        },
        genpdf: &out,
        lines: &lines.take(),
        structure: &structure,
        qr: qr.map(|e| (data.url_verification.as_str(), e)),
        seal,
    })?;
    Ok((written, replaced))
}

/// What the layout fills besides genpdf's document: the lines, the structure, the characters
/// replaced, the QR code's figure.
struct Parts<'a> {
    lines: &'a Lines,
    structure: &'a Structure,
    replaced: &'a mut Vec<char>,
    qr: Option<Elem>,
}

impl Parts<'_> {
    /// A text element under a new structure element of `role`.
    fn text(&mut self, role: Role, s: &str, style: Style) -> Text {
        let mark = self.structure.top(role);
        Text::styled(self.lines, mark, pdf_safe(s, self.replaced), style)
    }
}

fn layout(
    data: &ConventionData,
    filled: &str,
    pages: Rc<Cell<usize>>,
    parts: &mut Parts,
) -> Result<genpdf::Document, RenderError> {
    let mut doc = genpdf::Document::new(fonts().clone());
    doc.set_minimal_conformance();
    doc.set_line_spacing(1.2);
    doc.set_font_size(10);
    doc.set_page_decorator(Footer {
        numero: data.numero.clone(),
        pages,
        lines: parts.lines.clone(),
    });

    for block in parse(filled) {
        match block {
            Block::SautDePage => doc.push(PageBreak::new()),
            Block::Ecoles => doc.push(schools_table(&data.ecoles, parts)),
            Block::Signature => signature_block(&mut doc, data, parts),
            Block::Titre(t) => {
                doc.push(
                    parts
                        .text(Role::H1, &t, Style::new().bold().with_font_size(15))
                        .aligned(Alignment::Center),
                );
                doc.push(Break::new(0.5));
            }
            Block::Intertitre(t) => {
                doc.push(Break::new(0.6));
                doc.push(parts.text(
                    Role::H2,
                    &french_spacing(&t),
                    Style::new().bold().with_font_size(12),
                ));
                doc.push(Break::new(0.2));
            }
            Block::Liste(items) => {
                let list = parts.structure.add(parts.structure.root(), Role::L);
                let mut layout = LinearLayout::vertical();
                for l in &items {
                    let item = parts.structure.add(list, Role::LI);
                    let label = Mark::In(parts.structure.add(item, Role::Lbl));
                    let body = Mark::In(parts.structure.add(item, Role::LBody));
                    let body = rich(l, body, parts);
                    layout.push(ListItem::new(parts.lines, label, body));
                }
                doc.push(layout);
                doc.push(Break::new(0.3));
            }
            Block::Paragraphe(p) => {
                let mark = parts.structure.top(Role::P);
                doc.push(rich(&p, mark, parts));
                doc.push(Break::new(0.4));
            }
        }
    }
    Ok(doc)
}

/// A paragraph where `**…**` spans are bold.
fn rich(s: &str, mark: Mark, parts: &mut Parts) -> Text {
    let mut p = Text::new(parts.lines, mark);
    for (i, part) in s.split("**").enumerate() {
        if part.is_empty() {
            continue;
        }
        let style = if i % 2 == 1 {
            Style::new().bold()
        } else {
            Style::new()
        };
        p = p.push(pdf_safe(&french_spacing(part), parts.replaced), style);
    }
    p
}

fn signature_block(doc: &mut genpdf::Document, d: &ConventionData, parts: &mut Parts) {
    let s = &d.signataire;
    let line = |doc: &mut genpdf::Document, text: String, style: Style, parts: &mut Parts| {
        doc.push(parts.text(Role::P, &french_spacing(&text), style));
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
        parts,
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
            parts,
        );
    }
    doc.push(Break::new(0.3));
    line(
        doc,
        format!("« {APPROVAL_STATEMENT} »"),
        Style::new().italic(),
        parts,
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
            parts,
        );
        line(
            doc,
            format!("le {}.", french_datetime_str(&c.le)),
            Style::new(),
            parts,
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
        line(doc, text, Style::new().with_font_size(8), parts);
    }
    doc.push(Break::new(0.5));
    let figure = parts.structure.add(parts.structure.root(), Role::Figure);
    parts.structure.describe(
        figure,
        format!(
            "QR code menant à la page de vérification de la convention : {}",
            d.url_verification
        ),
    );
    parts.qr = Some(figure);
    doc.push(QrCode::new(genpdf::Mm::from(30)));
}

fn cell(text: Text) -> impl Element {
    text.padded(Margins::trbl(1, 1.5, 1, 1.5))
}

const ANNEX_COLUMNS: [usize; 3] = [2, 6, 4];

fn frame(table: &mut TableLayout) {
    table.set_cell_decorator(FrameCellDecorator::new(true, true, false));
}

/// The annex: UAI, name, commune; the header repeats on every page the table continues on
/// (the repeats are artifacts: the table has one header row).
fn schools_table(ecoles: &[EcoleDeposee], parts: &mut Parts) -> RepeatingHeaderTable {
    let st = parts.structure;
    let table_elem = st.add(st.root(), Role::Table);
    let head_row = st.add(table_elem, Role::TR);
    let heads: Vec<Mark> = (0..3)
        .map(|_| Mark::In(st.add(head_row, Role::TH)))
        .collect();
    let mut table = TableLayout::new(ANNEX_COLUMNS.to_vec());
    frame(&mut table);
    for e in ecoles {
        let row = st.add(table_elem, Role::TR);
        let mut r = table.row();
        for value in [&e.uai, &e.nom, &e.commune] {
            let mark = Mark::In(st.add(row, Role::TD));
            let text = Text::styled(
                parts.lines,
                mark,
                pdf_safe(value, parts.replaced),
                Style::new(),
            );
            r = r.element(cell(text));
        }
        r.push().expect("3 cells in 3 columns");
    }
    let lines = parts.lines.clone();
    RepeatingHeaderTable::new(
        move |first| {
            let mut header = TableLayout::new(ANNEX_COLUMNS.to_vec());
            frame(&mut header);
            let mut r = header.row();
            for (i, name) in ["UAI", "École", "Commune"].into_iter().enumerate() {
                let mark = if first { heads[i] } else { Mark::Artifact };
                r = r.element(cell(Text::styled(&lines, mark, name, Style::new().bold())));
            }
            r.push().expect("3 cells in 3 columns");
            header
        },
        table,
    )
}

/// Margins and a footer "Convention ENT-000042 — page x / N" on every page (N is set after
/// layout, see `elements::finish`).
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
            Mark::Artifact,
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
        version: 1,
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
                    gar: None,
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
        avenant: None,
    }
}
