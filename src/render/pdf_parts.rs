//! genpdf elements the convention needs and genpdf lacks: a table whose header repeats on every
//! page, a QR code drawn with vector strokes, and stream compression after rendering.

use genpdf::elements::TableLayout;
use genpdf::render::Area;
use genpdf::style::Style;
use genpdf::{Context, Element, Mm, Position, RenderResult};

/// A table whose header row is printed again at the top of each page it continues on.
pub struct RepeatingHeaderTable {
    header: Box<dyn Fn() -> TableLayout>,
    body: TableLayout,
}

impl RepeatingHeaderTable {
    pub fn new(header: impl Fn() -> TableLayout + 'static, body: TableLayout) -> Self {
        RepeatingHeaderTable {
            header: Box::new(header),
            body,
        }
    }
}

impl Element for RepeatingHeaderTable {
    fn render(
        &mut self,
        context: &Context,
        mut area: Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let mut header = (self.header)();
        let h = header.render(context, area.clone(), style)?;
        area.add_offset(Position::new(0, h.size.height));
        let mut result = self.body.render(context, area, style)?;
        result.size.height += h.size.height;
        result.size.width = result.size.width.max(h.size.width);
        Ok(result)
    }
}

/// A QR code of `text`, `side` wide. genpdf draws only strokes, so each dark run of modules
/// is drawn as horizontal strokes of the default 1 pt width, stacked to fill the module.
pub struct QrCode {
    modules: Vec<Vec<bool>>,
    side: Mm,
}

impl QrCode {
    pub fn new(text: &str, side: Mm) -> Option<Self> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .ok()?;
        let width = code.width();
        let colors = code.to_colors();
        let modules = (0..width)
            .map(|y| {
                (0..width)
                    .map(|x| colors[y * width + x] == qrcode::Color::Dark)
                    .collect()
            })
            .collect();
        Some(QrCode { modules, side })
    }
}

const STROKE_MM: f64 = 0.3528; // 1 pt, the PDF default line width

impl Element for QrCode {
    fn render(
        &mut self,
        _: &Context,
        area: Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let n = self.modules.len() + 8; // 4-module quiet zone on each side
        let module = f64::from(self.side) / n as f64;
        let mut result = RenderResult::default();
        if area.size().height < self.side {
            result.has_more = true;
            return Ok(result);
        }
        let strokes = (module / STROKE_MM).ceil().max(1.0) as usize;
        for (y, row) in self.modules.iter().enumerate() {
            let top = (y + 4) as f64 * module;
            let mut x = 0;
            while x < row.len() {
                if !row[x] {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < row.len() && row[x] {
                    x += 1;
                }
                let (x0, x1) = ((start + 4) as f64 * module, (x + 4) as f64 * module);
                for s in 0..strokes {
                    let yy = top
                        + STROKE_MM / 2.0
                        + (module - STROKE_MM) * s as f64 / (strokes.max(2) - 1) as f64;
                    area.draw_line(
                        vec![
                            Position::new(Mm::from(x0), Mm::from(yy)),
                            Position::new(Mm::from(x1), Mm::from(yy)),
                        ],
                        style,
                    );
                }
            }
        }
        result.size = genpdf::Size::new(self.side, self.side);
        Ok(result)
    }
}

/// genpdf (printpdf 0.3) writes page contents uncompressed; deflating them divides the size
/// by about four. Text stays extractable.
pub fn compress(pdf: &[u8]) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = lopdf::Document::load_mem(pdf)?;
    for object in doc.objects.values_mut() {
        if let lopdf::Object::Stream(stream) = object {
            stream.allows_compression = true;
        }
    }
    doc.compress();
    let mut out = Vec::with_capacity(pdf.len() / 3);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// French typography within what the built-in fonts allow: they have no non-breaking space
/// (WinAnsi's 0xA0 is mapped to the plain space by the PDF writer) and genpdf breaks lines at
/// every space, so « ; : ! ? » are attached to the preceding word rather than risk a line
/// starting with them.
pub fn french_spacing(s: &str) -> String {
    s.replace(" ;", ";")
        .replace(" :", ":")
        .replace(" !", "!")
        .replace(" ?", "?")
}
