//! The convention's PDF file, written by us from genpdf's layout: PDF/A-2b (fonts embedded and
//! subset, XMP metadata, an sRGB output intent, nothing printpdf adds that PDF/A forbids),
//! tagged for PDF/UA-1 (structure tree, marked content, artifacts, language, displayed title),
//! and, when sealed, with the signature field the seal fills (`signature`).
//!
//! genpdf stays the layout engine: it breaks lines and pages and draws the frames. Its file
//! is only read back for the page contents (`genpdf_output`); every object of ours is written
//! here, so that each rule of the two standards has one place.

pub mod content;
pub mod fonts;
pub mod genpdf_output;
pub mod objects;
pub mod signature;
pub mod tree;
pub mod xmp;

use crate::render::structure::{Elem, Kid, Role, Structure};
use crate::render::text::Line;
use content::Pages;
use fonts::{embed, Encoder, FaceStyle};
use objects::{text_string, Ref, Writer};
use signature::{write_dictionary, SealSlot, Unsealed};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use xmp::Metadata;

/// The four faces of Liberation Sans (SIL Open Font License 1.1, which allows embedding), in
/// the order of `render::text`'s font indexes: regular, bold, italic, bold italic.
pub const FACES: [&[u8]; 4] = [
    include_bytes!("../../../data/fonts/LiberationSans-Regular.ttf"),
    include_bytes!("../../../data/fonts/LiberationSans-Bold.ttf"),
    include_bytes!("../../../data/fonts/LiberationSans-Italic.ttf"),
    include_bytes!("../../../data/fonts/LiberationSans-BoldItalic.ttf"),
];

/// sRGB, the colour space of every colour the convention uses (DeviceRGB): icc-profiles-free
/// (zlib licence), see data/icc/README.md.
const SRGB: &[u8] = include_bytes!("../../../data/icc/sRGB.icc");

/// The profile deflated once per process (level 9: it is written into every PDF).
fn srgb_deflated() -> &'static [u8] {
    static DEFLATED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    DEFLATED.get_or_init(|| objects::deflate(SRGB, 9))
}

/// Everything the file is made of.
pub struct Document<'a> {
    pub metadata: Metadata<'a>,
    /// genpdf's file, read back for its pages.
    pub genpdf: &'a [u8],
    pub lines: &'a [Line],
    pub structure: &'a Structure,
    /// The QR code's text and its figure.
    pub qr: Option<(&'a str, Elem)>,
    pub seal: Option<SealSlot>,
}

pub enum Written {
    Plain(Vec<u8>),
    /// Complete but for the signature: sign `digest()`, then `seal`.
    Unsealed(Unsealed),
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("mise en page inattendue : {0}")]
    Layout(&'static str),
    #[error("police : {0}")]
    Font(#[from] crate::render::font::FontError),
}

pub fn write(doc: Document) -> Result<Written, PdfError> {
    let raw_pages =
        genpdf_output::pages(doc.genpdf).ok_or(PdfError::Layout("pages de genpdf illisibles"))?;
    let count = raw_pages.len();
    let mut w = Writer::new(64 * 1024 + doc.genpdf.len() / 2);
    let catalog = w.alloc();
    let pages_root = w.alloc();

    // Fonts: the characters each face draws, the page count's digits included.
    let mut chars: [BTreeSet<char>; 4] = Default::default();
    let count_text = count.to_string();
    for line in doc.lines {
        for run in &line.runs {
            let set = chars
                .get_mut(run.font)
                .ok_or(PdfError::Layout("police inconnue"))?;
            set.extend(content::expand_page_count(&run.text, &count_text));
        }
    }
    let mut encoders: [Option<Encoder>; 4] = Default::default();
    let mut font_refs: Vec<(usize, Ref)> = Vec::new();
    for (i, set) in chars.iter().enumerate() {
        if set.is_empty() {
            continue;
        }
        let style = FaceStyle {
            bold: i & 1 == 1,
            italic: i & 2 == 2,
        };
        let (r, e) = embed(&mut w, FACES[i], set, style)?;
        encoders[i] = Some(e);
        font_refs.push((i, r));
    }
    let mut resources = String::from("<</Font<<");
    for (i, r) in &font_refs {
        let _ = write!(resources, "/F{i} {r}");
    }
    resources.push_str(">>>>");

    // Pages.
    let mut pages = Pages::new(doc.lines, &encoders, doc.structure, doc.qr, count);
    let page_refs: Vec<Ref> = (0..count).map(|_| w.alloc()).collect();
    let widget = doc.seal.as_ref().map(|_| w.alloc());
    let mut contents = Vec::with_capacity(count);
    for raw in &raw_pages {
        let c = pages
            .convert(&raw.content)
            .ok_or(PdfError::Layout("contenu de page inattendu"))?;
        contents.push(c);
    }
    if !pages.all_placed() {
        return Err(PdfError::Layout("une ligne n’a pas trouvé sa place"));
    }
    for (i, (raw, c)) in raw_pages.iter().zip(&contents).enumerate() {
        let stream = w.alloc();
        w.stream(stream, "", c, Some(COMPRESSION));
        let annots = match widget {
            Some(wr) if i + 1 == count => format!("/Annots[{wr}]"),
            _ => String::new(),
        };
        w.object(
            page_refs[i],
            &format!(
                "<</Type/Page/Parent {pages_root}/MediaBox{}/Resources{resources}/Contents {stream}/StructParents {i}/Tabs/S{annots}>>",
                raw.media_box
            ),
        );
    }
    let kids: Vec<String> = page_refs.iter().map(Ref::to_string).collect();
    w.object(
        pages_root,
        &format!("<</Type/Pages/Kids[{}]/Count {count}>>", kids.join(" ")),
    );

    // The seal's field: one invisible widget on the last page (its Rect has no area, which
    // PDF/A-2 allows without painting anything), described for assistive technologies,
    // tied to a Form element of the structure.
    let mut seal_at = None;
    let mut acroform = String::new();
    if let (Some(slot), Some(widget)) = (&doc.seal, widget) {
        let form = doc.structure.add(doc.structure.root(), Role::Form);
        doc.structure.describe(form, seal_description(&slot.name));
        doc.structure.push_kid(form, Kid::Seal);
        let sig = w.alloc();
        let appearance = w.alloc();
        w.stream(
            appearance,
            "/Type/XObject/Subtype/Form/BBox[0 0 0 0]/Resources<<>>",
            b"",
            None,
        );
        w.object(
            widget,
            &format!(
                "<</Type/Annot/Subtype/Widget/FT/Sig/T{}/TU{}/V {sig}/Rect[0 0 0 0]/F 132/P {}/AP<</N {appearance}>>/StructParent {count}>>",
                text_string("Sceau de l’académie"),
                text_string(&seal_description(&slot.name)),
                page_refs[count - 1]
            ),
        );
        w.begin_raw(sig);
        let at = write_dictionary(&mut w.buf, slot);
        w.end_raw();
        seal_at = Some(at);
        acroform = format!("/AcroForm<</Fields[{widget}]/SigFlags 3>>");
    }

    let tree_root = tree::write(
        &mut w,
        &doc.structure.nodes(),
        &page_refs,
        &pages.parents,
        widget,
    );

    // Metadata and output intent (never compressed: PDF/A readers may look for the packet).
    let metadata = w.alloc();
    w.stream(
        metadata,
        "/Type/Metadata/Subtype/XML",
        xmp::packet(&doc.metadata).as_bytes(),
        None,
    );
    let icc = w.alloc();
    w.stream_as_is(icc, "/N 3/Filter/FlateDecode", srgb_deflated());
    let intent = format!(
        "<</Type/OutputIntent/S/GTS_PDFA1/OutputConditionIdentifier(sRGB IEC61966-2.1)/Info(sRGB IEC61966-2.1)/DestOutputProfile {icc}>>"
    );
    w.object(
        catalog,
        &format!(
            "<</Type/Catalog/Pages {pages_root}/Lang(fr-FR)/Metadata {metadata}/OutputIntents[{intent}]/MarkInfo<</Marked true>>/StructTreeRoot {tree_root}/ViewerPreferences<</DisplayDocTitle true>>{acroform}>>"
        ),
    );
    let id = file_id(&doc.metadata);
    let bytes = w.finish(catalog, &id);
    Ok(match seal_at {
        Some(at) => Written::Unsealed(Unsealed::new(bytes, at)),
        None => Written::Plain(bytes),
    })
}

/// What a screen reader says of the seal's field.
fn seal_description(name: &str) -> String {
    format!("Sceau électronique de l’académie ({name}) : il garantit l’origine et l’intégrité de ce document")
}

/// The file identifier: the same document (number, version, time) always gets the same one.
fn file_id(m: &Metadata) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!(
        "{}|{}|{}",
        m.numero,
        m.version,
        m.created.to_rfc3339()
    ));
    let mut id = [0; 16];
    id.copy_from_slice(&h[..16]);
    id
}

/// zlib level of the page streams: 3 is within 3 % of level 6's size in two thirds of its time
/// (level 1 is faster still but a quarter larger).
const COMPRESSION: u32 = 3;
