//! The export of conventioned schools for the ENT editor / AAF, as CSV, JSON or XLSX (a
//! spreadsheet, `render::xlsx`).

use super::list::all_deposited;
use super::params::{filter_from, param};
use crate::domain::dossier::Statut;
use crate::domain::school::SchoolDirectory;
use crate::domain::uai::Uai;
use crate::http::problem::ApiError;
use crate::http::request::accepts_gzip;
use crate::http::response::{encoded, gzip, ApiResult};
use crate::App;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

/// One CSV field, quoted when needed (`;` separator, as spreadsheet software in France expects).
/// A field a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or carriage return
/// first) gets a leading apostrophe, which spreadsheets show as text; the JSON keeps the raw
/// value, and the XLSX's cells are text whatever they hold.
fn csv_field(s: &str) -> String {
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

/// The export's formats.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
    Xlsx,
    /// `ecoles-gar.json`: the schools as the GAR's first-degree structure records
    /// ([`gar_records`]).
    Gar,
}

pub(super) async fn export(
    app: &App,
    req: &Request,
    who: &super::Instructeur,
    file: &str,
) -> ApiResult {
    let format =
        match file {
            "ecoles.csv" => Format::Csv,
            "ecoles.json" => Format::Json,
            "ecoles.xlsx" => Format::Xlsx,
            "ecoles-gar.json" => Format::Gar,
            _ => return Err(ApiError::NotFoundWith(
                "Exports disponibles : ecoles.csv, ecoles.json, ecoles.xlsx et ecoles-gar.json."
                    .into(),
            )),
        };
    let mut filter = filter_from(req, who)?;
    // `editeur=<id>`: the schools handed over to that ENT editor only (`crate::editeurs`).
    let editeur = match param(req, "editeur") {
        None => None,
        Some(id) => {
            let all = app.config.all_editeurs();
            if !all.iter().any(|e| e.id == id) {
                let known: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
                return Err(ApiError::Validation(vec![
                    crate::domain::draft::FieldError::new(
                        "editeur",
                        if known.is_empty() {
                            "Aucun éditeur de l’ENT n’est configuré : retirez le paramètre editeur."
                                .to_string()
                        } else {
                            format!("Éditeur inconnu : indiquez l’un de {}.", known.join(", "))
                        },
                    ),
                ]));
            }
            Some(id.to_string())
        }
    };
    if format == Format::Gar && param(req, "depuis").is_some() {
        return Err(ApiError::Validation(
            vec![crate::domain::draft::FieldError::new(
            "depuis",
            "ecoles-gar.json décrit les écoles conventionnées à ce jour, sans les changements : \
             retirez depuis, ou prenez ecoles.json?depuis=….",
        )],
        ));
    }
    filter.chronologique = true;
    // `depuis=`: what changed since that day, each row with its `action` (`ajout`, `retrait`):
    // the conventions deposited since, the schools avenants accepted since added or withdrew,
    // the perimeters of terminations that took effect since. (`du`/`au` stay deposit dates.)
    let depuis = match (param(req, "depuis"), param(req, "du")) {
        (Some(_), None) => filter.depose_du.take(),
        (Some(_), Some(_)) => {
            return Err(ApiError::Validation(
                vec![crate::domain::draft::FieldError::new(
                "depuis",
                "depuis (les changements depuis une date) et du (les dépôts depuis une date) ne \
                 vont pas ensemble : gardez-en un.",
            )],
            ))
        }
        _ => None,
    };
    // The GAR's records are the schools handed over: accepted conventions, nothing else.
    if format == Format::Gar && filter.statuts.iter().any(|s| *s != Statut::Accepte) {
        return Err(ApiError::Validation(vec![
            crate::domain::draft::FieldError::new(
                "statut",
                "ecoles-gar.json ne contient que les écoles des conventions acceptées : retirez \
             statut, ou prenez ecoles.json?statut=… pour les autres dossiers.",
            ),
        ]));
    }
    // Handing schools over is the académie's act: by default, accepted conventions only
    // (others on request with `statut=`), and with `depuis=` the terminated ones withdrawn.
    if filter.statuts.is_empty() {
        filter.statuts = vec![Statut::Accepte];
        if depuis.is_some() {
            filter.statuts.push(Statut::Resilie);
        }
    }
    let since = |t: &str| {
        depuis
            .as_deref()
            .is_none_or(|d| t.get(..10).unwrap_or(t) >= d)
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in &all_deposited(app, who, &filter).await? {
        let Some(d) = &r.depot else { continue };
        // An avenant's schools are its convention's current perimeter, listed with it.
        if r.avenant.is_some() {
            continue;
        }
        let editeur_id = app.editeur(r).map(|e| e.id).unwrap_or_default();
        if editeur.as_ref().is_some_and(|id| *id != editeur_id) {
            continue;
        }
        let date = r
            .convention
            .as_ref()
            .map(|c| c.genere_le.clone())
            .or_else(|| r.depose_le.clone())
            .unwrap_or_default();
        let accepte_le: String = r.accepte_le().unwrap_or("").chars().take(10).collect();
        let mut push = |e: &crate::domain::deposit::EcoleDeposee, action: Option<&str>| {
            // "Public" / "Privé" as the directory says today; empty when it no longer lists it.
            let secteur = Uai::parse(&e.uai)
                .ok()
                .and_then(|u| app.directory().ecole(&u).map(|k| k.statut.clone()))
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
            rows.push(row);
        };
        let Some(_) = &depuis else {
            for e in r.current_perimeter() {
                push(e, None);
            }
            continue;
        };
        let terminated = r.statut == Statut::Resilie;
        if terminated {
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
    let columns: Vec<&str> = EXPORT_COLUMNS
        .iter()
        .copied()
        .chain(depuis.is_some().then_some("action"))
        // Appended after `action` so that no earlier column moves.
        .chain(["editeur"])
        .collect();
    let name = format!(
        "ecoles-conventionnees-{}",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    if format == Format::Xlsx {
        let bytes = crate::render::xlsx::workbook("Écoles conventionnées", &columns, &rows);
        too_large_even_compressed(bytes.len(), MAX_BINARY)?;
        return Ok(Response::builder()
            .status(200)
            .header(
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .header(
                "content-disposition",
                format!("attachment; filename=\"{name}.xlsx\""),
            )
            .header("cache-control", "no-store")
            .body(Body::Binary(bytes))
            .expect("static headers are valid"));
    }
    let (content_type, body, ext) = if format == Format::Gar {
        (
            "application/json; charset=utf-8",
            gar_records(&app.config.academie.nom, &rows).to_string(),
            "gar.json",
        )
    } else if format == Format::Csv {
        let mut out = String::with_capacity(rows.len() * 160 + 200);
        out.push('\u{feff}'); // BOM: spreadsheet software then reads UTF-8 accents right
        out.push_str(&columns.join(";"));
        out.push_str("\r\n");
        for r in &rows {
            out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(";"));
            out.push_str("\r\n");
        }
        ("text/csv; charset=utf-8", out, "csv")
    } else {
        (
            "application/json; charset=utf-8",
            json_rows(&columns, &rows),
            "json",
        )
    };
    deliver(
        body,
        content_type,
        &format!("{name}.{ext}"),
        accepts_gzip(req),
        MAX_UNCOMPRESSED,
        MAX_BINARY,
    )
}

/// The rows as a JSON array of objects, written straight into the text: a tree of values for
/// 45,000 schools held more than 80 MiB more at its peak (`make bench-scale`). Keys in name
/// order, as `serde_json::Value` objects give them.
fn json_rows(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut order: Vec<(usize, String)> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (i, serde_json::to_string(c).expect("a string serialises")))
        .collect();
    order.sort_by(|a, b| columns[a.0].cmp(columns[b.0]));
    let mut out = String::with_capacity(rows.len() * 400 + 2);
    out.push('[');
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('{');
        // A row shorter than the header has no value for the last columns (as `zip` reads it).
        let fields = order
            .iter()
            .filter_map(|(i, key)| r.get(*i).map(|v| (key, v)));
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
    out.push(']');
    out
}

/// The schools as the GAR's first-degree structure records (`GAREtab` of the GAR-ENT 1D
/// flow, http://data.education.fr/ns/gar/1d): `GARStructureUAI`, `GARStructureNomCourant` and
/// `GARStructureContrat` (`PU` public, `PR` private; absent when the directory no longer
/// lists the school), one per UAI, in UAI order; `conventions` says which convention hands
/// each over. Telephone and email are not known to the product, so not given.
fn gar_records(academie: &str, rows: &[Vec<String>]) -> Value {
    let mut by_uai: std::collections::BTreeMap<&str, &Vec<String>> = Default::default();
    for r in rows {
        by_uai.entry(r[0].as_str()).or_insert(r);
    }
    let etabs: Vec<Value> = by_uai
        .values()
        .map(|r| {
            let mut v = json!({"GARStructureUAI": r[0], "GARStructureNomCourant": r[1]});
            let secteur = r[9].to_lowercase();
            if secteur.starts_with("pub") {
                v["GARStructureContrat"] = json!("PU");
            } else if secteur.starts_with("priv") {
                v["GARStructureContrat"] = json!("PR");
            }
            v
        })
        .collect();
    let conventions: Vec<Value> = rows
        .iter()
        .map(|r| json!({"GARStructureUAI": r[0], "numero_dossier": r[6], "siren_collectivite": r[10], "date_acceptation": r[12]}))
        .collect();
    json!({
        "source": format!("Conventions ENT école — {academie}"),
        "genere_le": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "GAREtab": etabs,
        "conventions": conventions,
    })
}

/// Largest uncompressed export answered: a Lambda response carries 6 MB, JSON escaping
/// included.
const MAX_UNCOMPRESSED: usize = 5_000_000;

/// The export file as the answer. Compressed when the client takes it (browsers, `curl
/// --compressed`): tens of thousands of rows stay far below Lambda's 6 MB response limit, and
/// the bytes reach the client as written (lambda_http re-decodes uncompressed text bodies, which
/// drops the CSV's leading BOM: encoding_rs strips it). Uncompressed beyond `limit`, a 406 says
/// how to get it, rather than a response Lambda would refuse.
fn deliver(
    body: String,
    content_type: &str,
    file_name: &str,
    gzip_ok: bool,
    limit: usize,
    binary_limit: usize,
) -> ApiResult {
    if !gzip_ok && body.len() > limit {
        return Err(ApiError::NotAcceptable(format!(
            "L’export fait {:.1} Mo non compressé, plus qu’une réponse ne peut porter : \
             demandez-le compressé (en-tête Accept-Encoding: gzip, par exemple curl --compressed) \
             ou réduisez-le avec le paramètre depuis.",
            body.len() as f64 / 1e6
        )));
    }
    let b = Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header("x-content-type-options", "nosniff")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{file_name}\""),
        )
        .header("cache-control", "no-store");
    let gzipped = gzip_ok.then(|| gzip(body.as_bytes(), flate2::Compression::fast()));
    if let Some(z) = &gzipped {
        too_large_even_compressed(z.len(), binary_limit)?;
    }
    Ok(encoded(b, gzipped, || Body::Text(body)))
}

/// Largest binary body answered (gzip, XLSX): API Gateway carries it base64-encoded in
/// Lambda's 6 MB response, so about 4.7 MB of bytes; a margin for the headers.
const MAX_BINARY: usize = 4_400_000;

/// A 406 saying how to get the export in parts, rather than a response Lambda would refuse
/// (a 502 without explanation), until exports are written as files (issue « Storage and
/// exports that hold at national scale », point 2).
fn too_large_even_compressed(len: usize, limit: usize) -> Result<(), ApiError> {
    if len <= limit {
        return Ok(());
    }
    Err(ApiError::NotAcceptable(format!(
        "L’export fait {:.1} Mo même compressé, plus qu’une réponse ne peut porter : \
         exportez-le en plusieurs fois, par département (departement=), par période de dépôt \
         (du=, au=) ou par éditeur (editeur=).",
        len as f64 / 1e6
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_json_export_is_the_objects_of_its_rows() {
        let columns = ["uai", "nom_ecole", "action", "editeur"];
        let rows = vec![
            vec![
                "0350122T".into(),
                "ÉCOLE \"LES TILLEULS\"\n".into(),
                "ajout".into(),
                "defaut".into(),
            ],
            vec!["0350165P".into(), "Cardroc".into()],
        ];
        let parsed: serde_json::Value =
            serde_json::from_str(&super::json_rows(&columns, &rows)).unwrap();
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
        assert_eq!(parsed, serde_json::Value::Array(expected.clone()));
        assert_eq!(
            super::json_rows(&columns, &rows),
            serde_json::Value::Array(expected).to_string()
        );
    }

    use super::*;

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

    #[test]
    fn a_large_export_goes_compressed_or_says_how_to_get_it() {
        let csv = "\u{feff}uai;nom\r\n".repeat(10);
        let refused = deliver(csv.clone(), "text/csv", "e.csv", false, 50, MAX_BINARY).unwrap_err();
        assert_eq!(refused.status(), 406);
        let Body::Text(problem) = refused.into_response().into_body() else {
            panic!("problem+json text");
        };
        assert!(problem.contains("Accept-Encoding: gzip"), "{problem}");

        let zipped = deliver(csv.clone(), "text/csv", "e.csv", true, 50, MAX_BINARY).unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        let Body::Binary(bytes) = zipped.body() else {
            panic!("gzip bytes");
        };
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut back)
            .unwrap();
        assert_eq!(back, csv, "byte for byte, BOM included");

        // Even compressed, beyond what a response carries (rows that compress badly, here
        // distinct numbers): the same kind of answer, not a response Lambda would refuse.
        let varied: String = (0..20_000u64)
            .map(|i| format!("{:x};", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        let refused = deliver(varied, "text/csv", "e.csv", true, 50, 10_000).unwrap_err();
        assert_eq!(refused.status(), 406);
        let Body::Text(problem) = refused.into_response().into_body() else {
            panic!("problem+json text");
        };
        assert!(
            problem.contains("même compressé") && problem.contains("departement="),
            "{problem}"
        );

        let small = deliver(csv.clone(), "text/csv", "e.csv", false, 10_000, MAX_BINARY).unwrap();
        assert_eq!(small.status(), 200);
        assert!(small.headers().get("content-encoding").is_none());
    }
}
