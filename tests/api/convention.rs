//! The convention document as a reader checks it: every field present, clean pagination,
//! French characters intact.

use crate::helpers::{check_pdf, pdf_text};
use conventions_ent::render::convention::{render, sample};

#[test]
fn every_field_is_in_the_text() {
    let data = sample(4);
    let (pdf, replaced) = render(&data).unwrap();
    assert!(replaced.is_empty(), "{replaced:?}");
    // Lines wrap anywhere: compare with whitespace folded.
    let text = pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "Académie de Rennes",
        "Mme Claire DUPONT",
        "1 quai Dujardin, 35000 Rennes",
        "Commune de Baulon",
        "21350016800025",
        "Mairie, 1 place de l’Église, 35580 Baulon",
        "Camille Martin, Maire",
        "Signé électroniquement par Camille MARTIN, Maire, le 28 novembre 2026 à 21 h 14 (heure de Paris)",
        "Jean GARCIA (jean.garcia@exemple.fr)",
        "ne sont pas facturées à la collectivité",
        "annuaire académique",
        "données",
        "résilier",
        "ENT-000042",
        "version 2026-12",
        "agissant en vertu de la délibération n° 2026-014 du 28 mars 2026",
        "Adresse du signataire (mairie@exemple.fr) confirmée par un code à usage unique le 28 novembre 2026 à 21 h 11 (heure de Paris)",
        "046740b4b051fc046ca311f0d12434a28a3487ccc7065e8ec68d814eac8c57fc",
        "K7QM-4TZX-9HCR",
        "https://conventions-ent.ac-rennes.fr/verification/K7QM-4TZX-9HCR",
        "J’accepte, reconnais et signe",
        "L’Haÿ-les-Roses",
        "Article 7 — Durée, renouvellement, résiliation",
        "« Les Œillets »",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    for e in &data.ecoles {
        assert!(text.contains(&e.uai), "{}", e.uai);
    }
    assert!(
        !text.contains("##") && !text.contains("[["),
        "no markup left: {text}"
    );
}

#[test]
fn no_referent_says_so() {
    let mut data = sample(1);
    data.referent = None;
    let text = pdf_text(&render(&data).unwrap().0);
    assert!(text.contains("ne désigne pas de référent"));
    assert!(!text.contains("Jean GARCIA"));
}

#[test]
fn long_annexes_paginate_with_header_and_footer_on_every_page() {
    for n in [1usize, 30, 400] {
        let data = sample(n);
        let (pdf, _) = render(&data).unwrap_or_else(|e| panic!("{n} schools: {e}"));
        let text = pdf_text(&pdf);
        let pages = text.matches('\u{c}').count().max(1);
        for p in 1..=pages {
            assert!(
                text.contains(&format!("Convention ENT-000042 — page {p} / {pages}")),
                "{n} schools, page {p}/{pages}"
            );
        }
        for e in &data.ecoles {
            assert!(text.contains(&e.uai), "{n} schools: {} missing", e.uai);
        }
        // The annex starts on page 3 at the latest; its header is repeated on each of its pages.
        let annex_pages = text
            .split('\u{c}')
            .filter(|page| page.contains("0350"))
            .count();
        let headers = text
            .split('\u{c}')
            .filter(|page| {
                page.contains("UAI") && page.contains("Commune") && page.contains("0350")
            })
            .count();
        assert_eq!(headers, annex_pages, "{n} schools");
        if n == 400 {
            assert!(pages >= 10, "400 schools take several pages ({pages})");
        }
    }
}

#[test]
fn text_wider_than_its_column_wraps_without_losing_a_character() {
    let mut data = sample(3);
    let unbroken = "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson-Villeneuve-la-Grande";
    data.ecoles[0].commune = unbroken.into();
    data.ecoles[1].nom = r"École (annexe) \ « Les Œillets » (site 2)".into();
    let (pdf, _) = render(&data).unwrap();
    let text = pdf_text(&pdf);
    let folded: String = text.split_whitespace().collect();
    assert!(folded.contains(&unbroken.replace(' ', "")), "{text}");
    assert!(
        text.contains(r"École (annexe) \ « Les Œillets » (site 2)"),
        "{text}"
    );
    // Cut across lines, not run off the page: no text line of the annex is as long as the word.
    assert!(text.lines().all(|l| !l.contains(unbroken)), "{text}");
}

#[test]
fn french_punctuation_stays_with_its_word() {
    let (pdf, _) = render(&sample(3)).unwrap();
    let text = pdf_text(&pdf);
    assert!(
        text.contains("s’engage à\u{a0}:") || text.contains("s’engage à :"),
        "a (no-break) space before the colon"
    );
    for line in text.lines().map(str::trim_start) {
        assert!(
            !line.starts_with([':', ';', '!', '?', '»']),
            "a line starts with its punctuation: {line:?}"
        );
        assert!(!line.ends_with('«'), "a line ends with «: {line:?}");
    }
}

#[test]
fn annex_rows_keep_their_order_across_pages() {
    let data = sample(400);
    let text = pdf_text(&render(&data).unwrap().0);
    let mut at = 0;
    for e in &data.ecoles {
        let found = text[at..]
            .find(&e.uai)
            .unwrap_or_else(|| panic!("{} out of order", e.uai));
        at += found + e.uai.len();
    }
}

#[test]
fn characters_outside_the_font_are_replaced_not_garbled() {
    let mut data = sample(1);
    data.signataire.nom = "Łukasiewicz 😀".into();
    let (pdf, replaced) = render(&data).unwrap();
    assert!(replaced.contains(&'Ł') && replaced.contains(&'😀'));
    assert!(pdf_text(&pdf).contains("Camille LUKASIEWICZ ?"));
}

#[test]
fn a_convention_of_thirty_schools_stays_under_80_kb() {
    // Fonts embedded, metadata, output intent and structure tree included (issue #13).
    let (pdf, _) = render(&sample(30)).unwrap();
    assert!(pdf.len() <= 80 * 1024, "{} bytes", pdf.len());
}

/// PDF/A-2b and PDF/UA-1 as an independent validator (PyPI `page-validation`, which passes the
/// veraPDF corpus) reports them, on a one-page annex and on one that runs over pages.
#[test]
fn conventions_are_pdf_a_2b_and_pdf_ua_1_for_an_independent_validator() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for n in [1, 60] {
        let (pdf, _) = render(&sample(n)).unwrap();
        let path = dir.path().join(format!("c{n}.pdf"));
        std::fs::write(&path, pdf).unwrap();
        paths.push(path);
    }
    let (ok, report) = check_pdf(&paths);
    assert!(ok, "{report}");
    assert_eq!(report.matches(" conforme (").count(), 4, "{report}");
}

#[test]
fn every_font_is_embedded_and_maps_back_to_unicode() {
    let (pdf, _) = render(&sample(3)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdffonts")
        .arg(&path)
        .output()
        .expect("pdffonts (poppler-utils)");
    let text = String::from_utf8(out.stdout).unwrap();
    let fonts: Vec<&str> = text.lines().skip(2).collect();
    assert!(fonts.len() >= 3, "regular, bold, italic at least:\n{text}");
    for f in fonts {
        let cols: Vec<&str> = f.split_whitespace().collect();
        // name, type (two words), encoding, emb, sub, uni, object id
        assert!(f.contains("+LiberationSans"), "{f}");
        assert_eq!(
            &cols[cols.len() - 5..cols.len() - 2],
            ["yes", "yes", "yes"],
            "{f}"
        );
    }
}

#[test]
fn qr_code_decodes_to_the_verification_url() {
    let data = sample(1);
    let (pdf, _) = render(&data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf_path = dir.path().join("c.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let prefix = dir.path().join("p");
    let ok = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            "150",
            "-png",
            pdf_path.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ])
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(ok.success());
    let pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    let decoded: String = pages
        .iter()
        .map(|p| {
            let out = std::process::Command::new("zbarimg")
                .args(["-q", "--raw", p.to_str().unwrap()])
                .output()
                .expect("zbarimg (zbar-tools)");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect();
    assert_eq!(decoded.trim(), data.url_verification);
}
