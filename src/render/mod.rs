//! What users read: the convention PDF and the emails.

pub mod blocks;
pub mod convention;
pub mod elements;
pub mod email;
pub mod font;
pub mod pdf;
pub mod structure;
pub mod text;

include!(concat!(env!("OUT_DIR"), "/convention_texts.rs"));

/// The version offered for signature: the newest text.
pub fn current_version() -> &'static str {
    CONVENTION_TEXTS
        .last()
        .expect("at least one convention text")
        .0
}

/// The avenant text of `version` (the convention's text version it amends under).
pub fn avenant_text(version: &str) -> Option<&'static str> {
    AVENANT_TEXTS
        .iter()
        .find(|(v, _)| *v == version)
        .or(AVENANT_TEXTS.last())
        .map(|(_, t)| *t)
}

pub fn convention_text(version: &str) -> Option<&'static str> {
    CONVENTION_TEXTS
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, t)| *t)
}

/// Characters the layout measures (Windows-1252, which French needs and the width tables hold).
/// Anything else is replaced by a readable equivalent, and reported so the caller can log it.
pub fn pdf_safe(s: &str, replaced: &mut Vec<char>) -> String {
    const CP1252_EXTRA: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let code = c as u32;
        // 0xAD (soft hyphen) is in Windows-1252 but invisible or not depending on the viewer;
        // ¤ is reserved for the page-count placeholder.
        if (0x20..=0x7e).contains(&code)
            || ((0xa0..=0xff).contains(&code) && code != 0xad && c != '¤')
            || CP1252_EXTRA.contains(c)
        {
            out.push(c);
            continue;
        }
        let sub = match c {
            '\u{202f}' | '\u{2007}' => "\u{a0}",
            '\u{2009}' => " ",
            '\u{ad}' => "",
            '\t' | '\n' | '\r' => " ",
            '‐' | '‑' | '‒' | '−' => "-",
            'ő' | 'ō' | 'ŏ' => "o",
            'ű' | 'ū' | 'ŭ' | 'ů' => "u",
            'ā' | 'ă' | 'ą' => "a",
            'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
            'ī' | 'ĭ' | 'į' | 'ı' => "i",
            'ć' | 'ĉ' | 'ċ' | 'č' => "c",
            'ń' | 'ņ' | 'ň' => "n",
            'ś' | 'ŝ' | 'ş' => "s",
            'ź' | 'ż' => "z",
            'ł' => "l",
            'ř' => "r",
            'ğ' => "g",
            'Ł' => "L",
            'Č' => "C",
            'Ś' | 'Ş' => "S",
            'Ż' | 'Ź' => "Z",
            '\u{2018}' | '\u{2019}' => "'",
            '\u{2026}' => "...",
            '\u{2032}' => "'",
            _ if c.is_control() => "",
            _ => "?",
        };
        replaced.push(c);
        out.push_str(sub);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_characters_pass_through() {
        let mut r = Vec::new();
        let s = "L’Haÿ-les-Roses « œuvre » à ç è ê É Œ — 10 €";
        assert_eq!(pdf_safe(s, &mut r), s);
        assert!(r.is_empty());
    }

    #[test]
    fn others_are_replaced_and_reported() {
        let mut r = Vec::new();
        assert_eq!(pdf_safe("Łódź 10\u{202f}h 😀", &mut r), "Lódz 10\u{a0}h ?");
        assert_eq!(r, vec!['Ł', 'ź', '\u{202f}', '😀']);
    }

    #[test]
    fn versions_are_embedded() {
        assert!(convention_text(current_version()).is_some());
        assert!(convention_text("1999-01").is_none());
    }
}
