//! An export file written as its rows come, in parts of at least [`PART_BYTES`] (S3's
//! multipart upload takes parts of 5 MiB at least, the last one aside): CSV and JSON as text
//! appended to a buffer the writer hands over part by part; XLSX by rust_xlsxwriter in constant
//! memory mode (each row goes to a temporary file as soon as it is written; the workbook is
//! zipped at the end, a few MiB even for every school of the country).

use super::rows::{csv_field, JsonRows};
use crate::domain::export::FileFormat;
use rust_xlsxwriter::{Workbook, XlsxError};

/// Size of the parts handed over (the last one may be smaller).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("classeur : {0}")]
pub struct FileError(#[from] XlsxError);

enum Body {
    Csv,
    Json(JsonRows),
    Xlsx {
        workbook: Box<Workbook>,
        columns: u16,
    },
}

pub struct FileWriter {
    body: Body,
    buffer: String,
    rows: u32,
}

impl FileWriter {
    pub fn new(format: FileFormat, columns: &[&str]) -> Result<FileWriter, FileError> {
        let mut buffer = String::new();
        let body = match format {
            FileFormat::Csv => {
                buffer.push('\u{feff}'); // BOM: spreadsheet software then reads UTF-8 accents right
                buffer.push_str(&columns.join(";"));
                buffer.push_str("\r\n");
                Body::Csv
            }
            FileFormat::Json => {
                buffer.push('[');
                Body::Json(JsonRows::new(columns))
            }
            FileFormat::Xlsx => {
                let mut workbook = Box::new(Workbook::new());
                let sheet = workbook.add_worksheet_with_constant_memory()?;
                sheet.set_name("Écoles conventionnées")?;
                // Every cell is a string: UAIs, SIRETs and INSEE codes keep their leading
                // zeros, and no name becomes a formula.
                for (c, name) in columns.iter().enumerate() {
                    sheet.write_string(0, c as u16, *name)?;
                }
                sheet.set_freeze_panes(1, 0)?;
                Body::Xlsx {
                    workbook,
                    columns: columns.len().max(1) as u16,
                }
            }
        };
        Ok(FileWriter {
            body,
            buffer,
            rows: 0,
        })
    }

    /// Appends rows.
    pub fn push(&mut self, rows: &[Vec<String>]) -> Result<(), FileError> {
        for row in rows {
            self.rows += 1;
            match &mut self.body {
                Body::Csv => {
                    let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
                    self.buffer.push_str(&fields.join(";"));
                    self.buffer.push_str("\r\n");
                }
                Body::Json(json) => json.push(row, &mut self.buffer),
                Body::Xlsx { workbook, .. } => {
                    let sheet = workbook.worksheet_from_index(0)?;
                    for (c, value) in row.iter().enumerate() {
                        sheet.write_string(self.rows, c as u16, value)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        u64::from(self.rows)
    }

    /// A part of [`PART_BYTES`], once that much is written.
    pub fn full_part(&mut self) -> Option<Vec<u8>> {
        if self.buffer.len() < PART_BYTES {
            return None;
        }
        // Cut on a character boundary at or past the size, so that every part but the last
        // has the size S3 asks for.
        let mut cut = PART_BYTES;
        while !self.buffer.is_char_boundary(cut) {
            cut += 1;
        }
        let rest = self.buffer.split_off(cut);
        Some(std::mem::replace(&mut self.buffer, rest).into_bytes())
    }

    /// What is left to write, the file's end included.
    pub fn finish(self) -> Result<Vec<u8>, FileError> {
        let mut buffer = self.buffer;
        match self.body {
            Body::Csv => Ok(buffer.into_bytes()),
            Body::Json(_) => {
                buffer.push(']');
                Ok(buffer.into_bytes())
            }
            Body::Xlsx {
                mut workbook,
                columns,
            } => {
                let sheet = workbook.worksheet_from_index(0)?;
                sheet.autofilter(0, 0, self.rows, columns - 1)?;
                Ok(workbook.save_to_buffer()?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Vec<String>> {
        (0..n)
            .map(|i| {
                vec![
                    format!("{:07}A", i),
                    format!("École n°{i} « les Tilleuls »"),
                ]
            })
            .collect()
    }

    #[test]
    fn parts_are_full_but_the_last_and_make_the_whole_file() {
        let mut w = FileWriter::new(FileFormat::Json, &["uai", "nom_ecole"]).unwrap();
        let mut parts = Vec::new();
        for chunk in rows(300_000).chunks(200) {
            w.push(chunk).unwrap();
            while let Some(p) = w.full_part() {
                parts.push(p);
            }
        }
        assert_eq!(w.rows(), 300_000);
        let last = w.finish().unwrap();
        assert!(parts.len() >= 2, "{} parts", parts.len());
        assert!(parts
            .iter()
            .all(|p| p.len() >= PART_BYTES && p.len() < PART_BYTES + 4));
        let whole: Vec<u8> = parts.into_iter().flatten().chain(last).collect();
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&whole).unwrap();
        assert_eq!(parsed.len(), 300_000);
        assert_eq!(
            parsed[299_999]["nom_ecole"],
            "École n°299999 « les Tilleuls »"
        );
    }

    #[test]
    fn the_csv_starts_with_its_bom_and_header() {
        let mut w = FileWriter::new(FileFormat::Csv, &["uai", "nom_ecole"]).unwrap();
        w.push(&[vec!["0350122T".into(), "=1+1".into()]]).unwrap();
        assert!(w.full_part().is_none());
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(text, "\u{feff}uai;nom_ecole\r\n0350122T;'=1+1\r\n");
    }

    #[test]
    fn the_workbook_is_a_zip_of_its_sheet() {
        let mut w = FileWriter::new(FileFormat::Xlsx, &["uai", "nom_ecole"]).unwrap();
        w.push(&rows(1_000)).unwrap();
        assert!(w.full_part().is_none(), "the workbook is handed over whole");
        let bytes = w.finish().unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
