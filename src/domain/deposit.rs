//! The deposit: the whole dossier checked at once, then sealed with its signature evidence.

use super::draft::{Draft, FieldError};
use super::email::Email;
use super::school::SchoolDirectory;
use super::siret::Siret;
use super::text::Name;
use super::uai::Uai;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Depot {
    pub collectivite: CollectiviteDeposee,
    pub signataire: Signataire,
    /// Packed in the item (`domain::packed`).
    #[serde(with = "super::packed")]
    pub ecoles: Vec<EcoleDeposee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referent: Option<Referent>,
    pub signature: Signature,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectiviteDeposee {
    pub siret: String,
    pub siren: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adresse: Option<String>,
    /// False until the company registry confirmed the SIRET (degraded mode when it is down).
    #[serde(default)]
    pub verifie: bool,
    /// The département the dossier belongs to (`perimeter::departement_of_collectivite`), set
    /// at deposit; None on dossiers deposited before it was stored (`Depot::departement`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departement: Option<String>,
}

impl CollectiviteDeposee {
    /// The name printed and mailed: the registry's or the reference data's, else a
    /// description by SIREN (degraded mode, nobody confirmed the name).
    pub fn display_name(&self) -> String {
        self.nom
            .clone()
            .unwrap_or_else(|| unnamed_collectivite(&self.siren))
    }
}

/// How a collectivité whose name nobody confirmed is designated.
pub fn unnamed_collectivite(siren: &str) -> String {
    format!("La collectivité de SIREN {siren}")
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signataire {
    pub prenom: String,
    pub nom: String,
    pub qualite: String,
    pub email: String,
    /// Required at deposit since the signatory's authority is printed (older dossiers lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub habilitation: Option<super::habilitation::Habilitation>,
}

/// A school as it was in the directory at deposit time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EcoleDeposee {
    pub uai: String,
    pub nom: String,
    pub commune: String,
    pub code_insee: String,
    /// Outside the collectivité's territory (its commune, the EPCI's member communes) as the
    /// reference data knows it: accepted (syndicats scolaires cover several communes) but
    /// shown to the instructeur.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hors_territoire: bool,
    /// The ENT editor's last answer on this school's GAR access (`steps::record_editor_answer`);
    /// none until it answers. Not part of what was approved (added after the deposit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gar: Option<super::gar::AccesGar>,
}

/// Flags the schools outside `territoire` (INSEE codes), unless the collectivité runs them
/// (`runs`: UAIs whose running body has the collectivité's SIREN).
pub fn flag_outside_territory(ecoles: &mut [EcoleDeposee], territoire: &[String], runs: &[String]) {
    for e in ecoles {
        let commune = commune_of_arrondissement(&e.code_insee);
        e.hors_territoire = !territoire.iter().any(|t| t == commune) && !runs.contains(&e.uai);
    }
}

/// The commune of a municipal arrondissement's INSEE code (Paris 75101–75120, Lyon 69381–69389,
/// Marseille 13201–13216), the code itself otherwise: the directory may give a school its
/// arrondissement, the collectivité is the commune.
pub fn commune_of_arrondissement(code: &str) -> &str {
    let n: u32 = code.parse().unwrap_or(0);
    match n {
        75101..=75120 => "75056",
        69381..=69389 => "69123",
        13201..=13216 => "13055",
        _ => code,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Referent {
    pub prenom_nom: String,
    pub email: String,
}

/// The evidence of the dematerialised signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// Server time, RFC 3339 UTC.
    pub horodatage: String,
    pub ip: String,
    pub user_agent: String,
    /// Version id of the convention text that was approved.
    pub version_texte: String,
    /// SHA-256 (hex) of the canonical JSON of what was approved; see [`approved_content`].
    pub sha256: String,
    /// The signatory's address, confirmed by a one-time code before the deposit (older
    /// dossiers were deposited before confirmation existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_confirme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_confirme_le: Option<String>,
}

/// What the request tells about the signing act, taken from the API Gateway request context.
pub struct SigningContext {
    pub horodatage: String,
    pub ip: String,
    pub user_agent: String,
    pub version_texte: String,
    /// The address the signatory confirmed (None: not confirmed, the deposit is refused).
    pub confirmation: Option<super::signataire::Confirmation>,
}

const MAX_NAME: usize = 100;
const MAX_QUALITE: usize = 100;

/// Checks every field of the merged draft and returns every error at once.
/// The signatory's names and address as typed, checked: (prénom, nom, qualité, address); each
/// error named `{prefix}prenom`… in `errs`.
pub fn signataire_fields(
    s: &super::draft::DraftSignataire,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Email>,
) {
    let mut name = |champ: &str, label: &str, v: Option<String>, max: usize| -> Option<String> {
        match Name::parse(v.as_deref().unwrap_or(""), max) {
            Ok(n) => Some(n.into_string()),
            Err(m) => {
                let m = if m == "Ce champ est obligatoire." {
                    format!("{label} est obligatoire.")
                } else {
                    m
                };
                errs.push(FieldError::new(format!("{prefix}{champ}"), m));
                None
            }
        }
    };
    let prenom = name(
        "prenom",
        "Le prénom du signataire",
        s.prenom.clone(),
        MAX_NAME,
    );
    let nom = name("nom", "Le nom du signataire", s.nom.clone(), MAX_NAME);
    let qualite = name(
        "qualite",
        "La qualité du signataire (maire, président…)",
        s.qualite.clone(),
        MAX_QUALITE,
    );
    let email = Email::parse(s.email.as_deref().unwrap_or(""))
        .map_err(|m| errs.push(FieldError::new(format!("{prefix}email"), m)))
        .ok();
    (prenom, nom, qualite, email)
}

pub fn validate(
    draft: &Draft,
    directory: &dyn SchoolDirectory,
    ctx: SigningContext,
) -> Result<Depot, Vec<FieldError>> {
    let mut errs = Vec::new();
    let siret = draft
        .collectivite
        .as_ref()
        .and_then(|c| c.siret.as_deref())
        .unwrap_or("");
    let siret = if siret.trim().is_empty() {
        errs.push(FieldError::new(
            "collectivite.siret",
            "Le numéro SIRET de la collectivité est obligatoire.",
        ));
        None
    } else {
        Siret::parse(siret)
            .map_err(|e| errs.push(FieldError::new("collectivite.siret", e.message())))
            .ok()
    };

    let s = draft.signataire.clone().unwrap_or_default();
    let (prenom, nom, qualite, email) = signataire_fields(&s, "signataire.", &mut errs);
    let confirmed = match (&email, &ctx.confirmation) {
        (Some(e), Some(c)) if c.email == e.as_str() => Some(c.clone()),
        (Some(_), _) => {
            errs.push(FieldError::new(
                "signataire.email",
                "L’adresse du signataire n’est pas confirmée : envoyez-lui le code de confirmation \
                 (bouton « Envoyer le code ») et saisissez le code qu’il a reçu.",
            ));
            None
        }
        (None, _) => None,
    };
    let habilitation =
        super::habilitation::validate(s.habilitation.as_ref(), &ctx.horodatage, &mut errs);

    let mut ecoles = Vec::new();
    let drafted = draft.ecoles.clone().unwrap_or_default();
    if drafted.is_empty() {
        errs.push(FieldError::new(
            "ecoles",
            "Ajoutez au moins une école du périmètre de la collectivité.",
        ));
    }
    let mut seen = HashSet::new();
    for (i, e) in drafted.iter().enumerate() {
        let champ = format!("ecoles[{i}].uai");
        let raw = e.uai.as_deref().unwrap_or("");
        if raw.trim().is_empty() {
            errs.push(FieldError::new(champ, "Choisissez l’école."));
            continue;
        }
        let uai = match Uai::parse(raw) {
            Ok(u) => u,
            Err(err) => {
                errs.push(FieldError::new(champ, err.message()));
                continue;
            }
        };
        if !seen.insert(uai.clone()) {
            errs.push(FieldError::new(
                champ,
                format!("L’école {uai} figure déjà dans la liste."),
            ));
            continue;
        }
        match directory.ecole(&uai) {
            None => errs.push(FieldError::new(
                champ,
                format!("L’UAI {uai} ne correspond à aucune école du premier degré de l’annuaire de l’éducation."),
            )),
            Some(ecole) if !ecole.ouverte => errs.push(FieldError::new(
                champ,
                format!("L’école {uai} ({}) est fermée dans l’annuaire de l’éducation.", ecole.nom),
            )),
            Some(ecole) => ecoles.push(EcoleDeposee {
                uai: ecole.uai.clone(),
                nom: ecole.nom.clone(),
                commune: ecole.commune.clone(),
                code_insee: ecole.code_insee.clone(),
                hors_territoire: false,
                gar: None,
            }),
        }
    }

    let r = draft.referent.clone().unwrap_or_default();
    let referent = match r.designe {
        None => {
            errs.push(FieldError::new(
                "referent.designe",
                "Indiquez si la collectivité désigne un référent (Oui ou Non).",
            ));
            None
        }
        Some(false) => None,
        Some(true) => {
            let pn = Name::parse(r.prenom_nom.as_deref().unwrap_or(""), MAX_NAME)
                .map_err(|m| {
                    let m = if m == "Ce champ est obligatoire." {
                        "Le prénom et le NOM du référent sont obligatoires (ex. : Jean GARCIA)."
                            .to_string()
                    } else {
                        m
                    };
                    errs.push(FieldError::new("referent.prenom_nom", m))
                })
                .ok();
            let em = Email::parse(r.email.as_deref().unwrap_or(""))
                .map_err(|m| errs.push(FieldError::new("referent.email", m)))
                .ok();
            pn.zip(em).map(|(p, e)| Referent {
                prenom_nom: p.into_string(),
                email: e.as_str().to_string(),
            })
        }
    };

    if draft.approbation != Some(true) {
        errs.push(FieldError::new(
            "approbation",
            "Cochez la case d’approbation pour signer la convention et déposer le dossier.",
        ));
    }

    if !errs.is_empty() {
        return Err(errs);
    }
    // Every Option below is Some: each None pushed an error above.
    let siret = siret.expect("checked");
    let signataire = Signataire {
        prenom: prenom.expect("checked"),
        nom: nom.expect("checked"),
        qualite: qualite.expect("checked"),
        email: email.expect("checked").as_str().to_string(),
        habilitation: Some(habilitation.expect("checked")),
    };
    let confirmed = confirmed.expect("checked");
    let collectivite = CollectiviteDeposee {
        siret: siret.as_str().to_string(),
        siren: siret.siren().to_string(),
        nom: None,
        adresse: None,
        verifie: false,
        departement: None,
    };
    let sha256 = approved_content_sha256(
        &collectivite,
        &signataire,
        &ecoles,
        referent.as_ref(),
        &ctx.version_texte,
    );
    Ok(Depot {
        collectivite,
        signataire,
        ecoles,
        referent,
        signature: Signature {
            horodatage: ctx.horodatage,
            ip: ctx.ip,
            user_agent: ctx.user_agent,
            version_texte: ctx.version_texte,
            sha256,
            email_confirme: Some(confirmed.email),
            email_confirme_le: Some(confirmed.le),
        },
    })
}

/// The canonical JSON of what the signatory approved: keys sorted (serde_json's default map is
/// ordered), no insignificant whitespace, schools in the order given. Anyone holding the same
/// facts recomputes the same hash.
pub fn approved_content(
    collectivite: &CollectiviteDeposee,
    signataire: &Signataire,
    ecoles: &[EcoleDeposee],
    referent: Option<&Referent>,
    version_texte: &str,
) -> String {
    json!({
        "approbation": true,
        "collectivite": { "siret": collectivite.siret },
        "signataire": signataire,
        "ecoles": ecoles.iter().map(|e| json!({"uai": e.uai, "nom": e.nom, "commune": e.commune})).collect::<Vec<_>>(),
        "referent": referent,
        "version_texte": version_texte,
    })
    .to_string()
}

fn approved_content_sha256(
    c: &CollectiviteDeposee,
    s: &Signataire,
    e: &[EcoleDeposee],
    r: Option<&Referent>,
    v: &str,
) -> String {
    hex::encode(Sha256::digest(approved_content(c, s, e, r, v).as_bytes()))
}
