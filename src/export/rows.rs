//! The rows of the export of conventioned schools for the ENT editor / AAF: the columns, and
//! what one dossier gives (its perimeter, or with `depuis=` what changed since that day).

use crate::domain::deposit::EcoleDeposee;
use crate::domain::dossier::{DossierRecord, Statut};
use crate::domain::school::SchoolDirectory;
use crate::domain::uai::Uai;
use crate::App;

/// The columns, in this order; later ones are appended, never renamed (editors read them by
/// name or by position).
const EXPORT_COLUMNS: [&str; 13] = [
    "uai",
    "nom_ecole",
    "commune",
    "code_insee",
    "siret_collectivite",
    "nom_collectivite",
    "numero_dossier",
    "date_convention",
    "statut",
    // What an ENT editor needs beside them: public or private (the directory knows it), the
    // collectivité's SIREN, the convention's text version and its acceptance date.
    "secteur",
    "siren_collectivite",
    "version_convention",
    "date_acceptation",
];

/// The header: the columns, `action` with `depuis=`, then `editeur` (appended after `action`
/// so that no earlier column moves).
pub fn columns(depuis: bool) -> Vec<&'static str> {
    EXPORT_COLUMNS
        .iter()
        .copied()
        .chain(depuis.then_some("action"))
        .chain(["editeur"])
        .collect()
}

/// Appends the rows of dossier `r` to `out`: its current perimeter; only the schools handed
/// over to `editeur` when given; with `depuis` ("YYYY-MM-DD"), what changed since that day,
/// each row with its `action` (`ajout`, `retrait`): the conventions deposited (or accepted)
/// since, the schools avenants accepted since added or withdrew, the perimeters of
/// terminations that took effect since. An avenant gives no row: its schools are its
/// convention's current perimeter, listed with it.
pub fn rows_of(
    app: &App,
    r: &DossierRecord,
    editeur: Option<&str>,
    depuis: Option<&str>,
    out: &mut Vec<Vec<String>>,
) {
    let Some(d) = &r.depot else { return };
    if r.avenant.is_some() {
        return;
    }
    let editeur_id = app.editeur(r).map(|e| e.id).unwrap_or_default();
    if editeur.is_some_and(|id| id != editeur_id) {
        return;
    }
    let since = |t: &str| depuis.is_none_or(|d| t.get(..10).unwrap_or(t) >= d);
    let date = r
        .convention
        .as_ref()
        .map(|c| c.genere_le.clone())
        .or_else(|| r.depose_le.clone())
        .unwrap_or_default();
    let accepte_le: String = r.accepte_le().unwrap_or("").chars().take(10).collect();
    let directory = app.directory();
    let mut push = |e: &EcoleDeposee, action: Option<&str>| {
        // "Public" / "Privé" as the directory says today; empty when it no longer lists it.
        let secteur = Uai::parse(&e.uai)
            .ok()
            .and_then(|u| directory.ecole(&u).map(|k| k.statut.clone()))
            .unwrap_or_default();
        let mut row = vec![
            e.uai.clone(),
            e.nom.clone(),
            e.commune.clone(),
            e.code_insee.clone(),
            d.collectivite.siret.clone(),
            d.collectivite.nom.clone().unwrap_or_default(),
            r.numero.clone(),
            date.chars().take(10).collect(),
            r.statut.as_str().to_string(),
            secteur,
            d.collectivite.siren.clone(),
            d.signature.version_texte.clone(),
            accepte_le.clone(),
        ];
        if let Some(a) = action {
            row.push(a.to_string());
        }
        row.push(editeur_id.clone());
        out.push(row);
    };
    if depuis.is_none() {
        for e in r.current_perimeter() {
            push(e, None);
        }
        return;
    }
    if r.statut == Statut::Resilie {
        if r.resiliation.as_ref().is_some_and(|t| since(&t.effet_le)) {
            for e in r.current_perimeter() {
                push(e, Some("retrait"));
            }
        }
    } else if match r.statut {
        // New to the editor since the day it was (last) accepted; other statuts asked for
        // with `statut=` by their deposit.
        Statut::Accepte => r.accepte_le().is_some_and(since),
        _ => r.depose_le.as_deref().is_some_and(since),
    } {
        for e in r.current_perimeter() {
            push(e, Some("ajout"));
        }
    } else {
        for a in r.avenants.iter().filter(|a| since(&a.accepte_le)) {
            for e in &a.ajouts {
                push(e, Some("ajout"));
            }
            for e in &a.retraits {
                push(e, Some("retrait"));
            }
        }
    }
}

/// One CSV field, quoted when needed (`;` separator, as spreadsheet software in France expects).
/// A field a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or carriage return
/// first) gets a leading apostrophe, which spreadsheets show as text; the JSON keeps the raw
/// value, and the XLSX's cells are text whatever they hold.
pub fn csv_field(s: &str) -> String {
    let s = crate::domain::text::single_line(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([';', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rows as JSON objects, written straight into the text: a tree of values for 45,000
/// schools held more than 80 MiB more at its peak (`make bench-scale`). Keys in name order, as
/// `serde_json::Value` objects give them.
pub struct JsonRows {
    /// (column index, its key as JSON), in key order.
    order: Vec<(usize, String)>,
    written: usize,
}

impl JsonRows {
    pub fn new(columns: &[&str]) -> JsonRows {
        let mut order: Vec<(usize, String)> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (i, serde_json::to_string(c).expect("a string serialises")))
            .collect();
        order.sort_by(|a, b| columns[a.0].cmp(columns[b.0]));
        JsonRows { order, written: 0 }
    }

    /// Appends one row's object (after a comma from the second on).
    pub fn push(&mut self, row: &[String], out: &mut String) {
        if self.written > 0 {
            out.push(',');
        }
        self.written += 1;
        out.push('{');
        // A row shorter than the header has no value for the last columns (as `zip` reads it).
        let fields = self
            .order
            .iter()
            .filter_map(|(i, key)| row.get(*i).map(|v| (key, v)));
        for (k, (key, value)) in fields.enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            out.push_str(&serde_json::to_string(value).expect("a string serialises"));
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_rows_are_the_objects_of_the_rows() {
        let columns = ["uai", "nom_ecole", "action", "editeur"];
        let rows: Vec<Vec<String>> = vec![
            vec![
                "0350122T".into(),
                "ÉCOLE \"LES TILLEULS\"\n".into(),
                "ajout".into(),
                "defaut".into(),
            ],
            vec!["0350165P".into(), "Cardroc".into()],
        ];
        let mut json = JsonRows::new(&columns);
        let mut out = String::from("[");
        for r in &rows {
            json.push(r, &mut out);
        }
        out.push(']');
        let expected: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    columns
                        .iter()
                        .zip(r)
                        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                        .collect(),
                )
            })
            .collect();
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, serde_json::Value::Array(expected.clone()));
        assert_eq!(out, serde_json::Value::Array(expected).to_string());
    }

    #[test]
    fn a_field_a_spreadsheet_would_compute_is_text() {
        for f in ["=HYPERLINK(\"x\")", "+33 1", "-1", "@SUM(A1)"] {
            assert!(
                csv_field(f).trim_start_matches('"').starts_with('\''),
                "{f}"
            );
        }
        assert_eq!(csv_field("École des Lucioles"), "École des Lucioles");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
    }
}
