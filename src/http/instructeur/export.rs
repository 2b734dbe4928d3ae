//! The export of conventioned schools for the ENT editor / AAF. CSV, JSON and XLSX are files
//! written by the export-schools job (`jobs::export`): the request starts the job, or finds it
//! under way (202 and its status link), or written and fresh (302 to the file, presigned).
//! `ecoles-gar.json`, the GAR's records of the accepted schools, is answered at once.

use super::list::all_deposited;
use super::params::{filter_from, param};
use crate::domain::dossier::Statut;
use crate::domain::export::{answer, Answer, ExportJob, ExportQuery, FileFormat};
use crate::export::rows::rows_of;
use crate::http::problem::ApiError;
use crate::http::request::accepts_gzip;
use crate::http::response::{encoded, gzip, json, to_presigned, ApiResult};
use crate::ports::StoreError;
use crate::App;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

/// The export's formats: a file written by the job, or the GAR's records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    File(FileFormat),
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
            "ecoles.csv" => Format::File(FileFormat::Csv),
            "ecoles.json" => Format::File(FileFormat::Json),
            "ecoles.xlsx" => Format::File(FileFormat::Xlsx),
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
    match format {
        Format::File(format) => {
            let query = ExportQuery {
                format,
                filter,
                editeur,
                depuis,
            };
            // `Prefer: respond-async` (the page): the status, even once the file is written,
            // rather than a redirect to another origin that its fetch could not follow.
            let asynchronous = req
                .headers()
                .get("prefer")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("respond-async"));
            file_export(app, query, asynchronous).await
        }
        Format::Gar => {
            let mut rows = Vec::new();
            for r in &all_deposited(app, who, &filter).await? {
                rows_of(app, r, editeur.as_deref(), None, &mut rows);
            }
            deliver(
                gar_records(&app.config.academie.nom, &rows).to_string(),
                "application/json; charset=utf-8",
                &format!(
                    "ecoles-conventionnees-{}.gar.json",
                    chrono::Utc::now().format("%Y-%m-%d")
                ),
                accepts_gzip(req),
                MAX_UNCOMPRESSED,
                MAX_BINARY,
            )
        }
    }
}

/// The file of `query`: 302 to it when written and fresh (`asynchronous`: 200 and the status,
/// with the link), else 202 with the job's status (started now, or under way). Two requests
/// starting the same job at once: one stores its run, the other finds it.
async fn file_export(app: &App, query: ExportQuery, asynchronous: bool) -> ApiResult {
    let now = chrono::Utc::now().timestamp();
    for _ in 0..3 {
        let found = app.exports.export_job(&query.id()).await?;
        match answer(query.clone(), found, now, app.config.export_fresh_seconds) {
            Answer::Download(job) if asynchronous => {
                let link = presigned(app, &job).await?;
                return Ok(json(200, &status_of(&job, link)));
            }
            Answer::Download(job) => return download(app, &job).await,
            Answer::Wait(job) => return Ok(waiting(&job)),
            Answer::Start { job, previous } => {
                match app.exports.put_export_job(&job, previous.as_deref()).await {
                    Ok(()) => return Ok(waiting(&job)),
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(StoreError::Conflict.into())
}

/// The presigned link of the job's file, once written.
async fn presigned(app: &App, job: &ExportJob) -> Result<Option<String>, ApiError> {
    match (&job.export_etat, &job.cle) {
        (crate::domain::export::EtatExport::Pret, Some(key)) => Ok(Some(
            app.documents
                .presign_get(
                    key,
                    &job.file_name(),
                    job.requete.format.content_type(),
                    app.config.presign_ttl_seconds,
                )
                .await?,
        )),
        _ => Ok(None),
    }
}

/// 302 to the job's file, presigned.
async fn download(app: &App, job: &ExportJob) -> ApiResult {
    let url = presigned(app, job).await?.ok_or(ApiError::NotFound)?;
    Ok(to_presigned(url))
}

/// The status link of a job.
fn status_link(job: &ExportJob) -> String {
    format!("/api/instructeur/exports/{}", job.id)
}

/// What the status route and a 202 say of a job.
fn status_of(job: &ExportJob, telechargement: Option<String>) -> Value {
    json!({
        "id": job.id,
        "etat": job.export_etat,
        "format": job.requete.format,
        "demande_le": chrono::DateTime::from_timestamp(job.demande_le, 0)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "dossiers_lus": job.dossiers_lus,
        "lignes": job.lignes,
        "octets": job.octets,
        "erreur": job.erreur,
        "statut": status_link(job),
        "fichier": job.file_name(),
        "telechargement": telechargement,
    })
}

/// 202: the job is under way; its status link (also `Location`), polled every two seconds.
fn waiting(job: &ExportJob) -> Response<Body> {
    let mut r = json(202, &status_of(job, None));
    let h = r.headers_mut();
    h.insert(
        "location",
        status_link(job).parse().expect("a path is a header value"),
    );
    h.insert("retry-after", "2".parse().expect("static"));
    r
}

/// `GET /api/instructeur/exports/{id}`: where the job stands; once written, `telechargement`
/// is the file's presigned link. Only for the scope that asked for it (another scope's job is
/// unknown to it).
pub(super) async fn status(app: &App, who: &super::Instructeur, id: &str) -> ApiResult {
    let unknown = || {
        ApiError::NotFoundWith(
            "Cet export n’existe pas ou plus (un export est gardé un jour) : relancez-le depuis              la liste des dossiers."
                .into(),
        )
    };
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown());
    }
    let job = app.exports.export_job(id).await?.ok_or_else(unknown)?;
    if job.requete.filter.perimetre != who.scope.perimetre() {
        return Err(unknown());
    }
    let link = presigned(app, &job).await?;
    Ok(json(200, &status_of(&job, link)))
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
    use super::*;

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
