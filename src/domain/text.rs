//! Names typed by people: trimmed, non-empty, bounded, free of control characters.

/// A trimmed, non-empty name of at most `max` characters, without control characters
/// (CR/LF in a name would otherwise reach email headers and PDF lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

/// Characters that change how a text reads without being seen: bidirectional controls
/// (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C), zero-width and other invisible
/// format characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+00AD, U+180E, U+FFF9–U+FFFB,
/// tag characters). A name « \u{202e}nitraM » prints as « Martin » reversed on the PDF and in
/// emails; such a value is refused, never silently kept.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        // Fillers and selectors that print as nothing (Hangul fillers, combining grapheme
        // joiner, variation selectors, Mongolian selectors, musical formatting).
        | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{180B}'..='\u{180D}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}')
}

impl Name {
    pub fn parse(input: &str, max: usize) -> Result<Self, String> {
        if input.chars().any(invisible) {
            return Err(
                "Ce champ contient des caractères invisibles ou de direction d’écriture \
                        (souvent venus d’un copier-coller) : retapez-le."
                    .into(),
            );
        }
        let s: String = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err("Ce champ est obligatoire.".into());
        }
        if input
            .chars()
            .any(|c| c.is_control() && !matches!(c, ' ' | '\t'))
        {
            return Err("Ce champ contient des caractères non autorisés (retour à la ligne, caractère de contrôle).".into());
        }
        if s.chars().count() > max {
            return Err(format!(
                "Ce champ est trop long ({max} caractères au plus)."
            ));
        }
        Ok(Name(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Longest message or motif.
pub const MAX_LONG_TEXT: usize = 5000;

/// A message of the messagerie or a decision's motif: trimmed, non-empty, at most
/// [`MAX_LONG_TEXT`] characters; line breaks kept as `\n` whatever the sender's convention
/// (CRLF, lone CR); tabs kept; any other control character refused. One rule for both sides of
/// the messagerie and for motifs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongText(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongTextError {
    Empty,
    TooLong,
    Control,
}

impl LongText {
    pub fn parse(input: &str) -> Result<Self, LongTextError> {
        // Invisible format characters are dropped from messages (a pasted text often carries
        // some); a message made only of them is empty.
        let s: String = input.chars().filter(|c| !invisible(*c)).collect();
        let s = s.trim().replace("\r\n", "\n").replace('\r', "\n");
        if s.is_empty() {
            Err(LongTextError::Empty)
        } else if s.chars().count() > MAX_LONG_TEXT {
            Err(LongTextError::TooLong)
        } else if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            Err(LongTextError::Control)
        } else {
            Ok(LongText(s))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Removes control characters and folds whitespace: for values that reach headers or logs and
/// were not parsed as a [`Name`] (e.g. data from the directory).
pub fn single_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_keeps_line_breaks_of_any_convention_and_refuses_other_controls() {
        assert_eq!(
            LongText::parse(" a\r\nb\rc\n\td ").unwrap().as_str(),
            "a\nb\nc\n\td"
        );
        assert_eq!(LongText::parse(" \n "), Err(LongTextError::Empty));
        assert_eq!(LongText::parse("a\u{1b}b"), Err(LongTextError::Control));
        assert_eq!(
            LongText::parse(&"é".repeat(5001)),
            Err(LongTextError::TooLong)
        );
        assert!(LongText::parse(&"é".repeat(5000)).is_ok());
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_refused_in_names_and_dropped_in_messages() {
        for bad in [
            "\u{202e}",
            "Ma\u{200b}rtin",
            "\u{2066}Jean\u{2069}",
            "\u{feff}X",
            "\u{00ad}",
            "\u{3164}",
            "A\u{fe0f}",
        ] {
            assert!(
                Name::parse(bad, 50).unwrap_err().contains("invisibles"),
                "{bad:?}"
            );
        }
        assert_eq!(LongText::parse("a\u{202e}b").unwrap().as_str(), "ab");
        assert_eq!(
            LongText::parse("\u{200b}\u{202e}"),
            Err(LongTextError::Empty)
        );
        assert!(Name::parse("Élise D’Hôtel-Saint-Ouën", 50).is_ok());
    }

    #[test]
    fn trims_and_folds_spaces() {
        assert_eq!(
            Name::parse("  Jean   GARCIA ", 50).unwrap().as_str(),
            "Jean GARCIA"
        );
    }

    #[test]
    fn refuses_empty_long_and_control() {
        assert!(Name::parse("   ", 50).is_err());
        assert!(Name::parse(&"é".repeat(51), 50).is_err());
        assert!(Name::parse(&"é".repeat(50), 50).is_ok());
        assert!(Name::parse("Martin\r\nBcc: x@y.fr", 50).is_err());
        assert!(Name::parse("Martin\u{0}", 50).is_err());
    }

    #[test]
    fn single_line_strips_controls() {
        assert_eq!(single_line("a\r\nb\u{7}c"), "a b c");
    }
}
