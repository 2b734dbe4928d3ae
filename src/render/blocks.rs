//! The convention text cut into blocks: one parser for the PDF (`render::convention`) and the
//! preview route (`http::pages::apercu`), so that what the applicant previews is what the PDF
//! prints, block for block.

use serde::Serialize;

/// One block of the filled text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// `# …`
    Titre(String),
    /// `## …`
    Intertitre(String),
    /// Lines that all start with `- `.
    Liste(Vec<String>),
    /// Any other block, its whitespace folded.
    Paragraphe(String),
    /// `[[signature]]`: the signature block.
    Signature,
    /// `[[annexe_ecoles]]`: the table of schools.
    Ecoles,
    /// `[[saut_de_page]]`
    SautDePage,
}

/// The versioned text filled with `data` (minijinja, as every version is written).
pub fn fill(text: &str, data: &impl Serialize) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.render_str(text, data)
}

/// Blocks of the filled text: separated by blank lines; a heading line is always a block of
/// its own (template tags may eat the blank line before it).
pub fn parse(filled: &str) -> Vec<Block> {
    let mut raw: Vec<String> = Vec::new();
    for block in filled.split("\n\n") {
        let mut current: Vec<&str> = Vec::new();
        for line in block.lines().map(str::trim) {
            if line.starts_with("# ") || line.starts_with("## ") {
                if !current.is_empty() {
                    raw.push(current.join("\n"));
                    current.clear();
                }
                raw.push(line.to_string());
            } else if !line.is_empty() {
                current.push(line);
            }
        }
        if !current.is_empty() {
            raw.push(current.join("\n"));
        }
    }
    raw.iter().map(|b| classify(b)).collect()
}

fn classify(b: &str) -> Block {
    match b {
        "[[saut_de_page]]" => Block::SautDePage,
        "[[annexe_ecoles]]" => Block::Ecoles,
        "[[signature]]" => Block::Signature,
        b if b.starts_with("# ") => Block::Titre(b[2..].to_string()),
        b if b.starts_with("## ") => Block::Intertitre(b[3..].to_string()),
        b if b.lines().all(|l| l.starts_with("- ")) => {
            Block::Liste(b.lines().map(|l| l[2..].to_string()).collect())
        }
        b => Block::Paragraphe(b.split_whitespace().collect::<Vec<_>>().join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_stand_alone_even_without_a_blank_line_before_them() {
        let b = parse(
            "# Titre\n## Article\nUn  paragraphe\nsur deux lignes\n\n- a ;\n- b.\n\n[[signature]]\n\n[[saut_de_page]]\n\n[[annexe_ecoles]]",
        );
        assert_eq!(
            b,
            [
                Block::Titre("Titre".into()),
                Block::Intertitre("Article".into()),
                Block::Paragraphe("Un paragraphe sur deux lignes".into()),
                Block::Liste(vec!["a ;".into(), "b.".into()]),
                Block::Signature,
                Block::SautDePage,
                Block::Ecoles,
            ]
        );
    }
}
