//! The dossier: its states, the legal transitions, and the record every component shares.

use super::deposit::Depot;
use super::draft::Draft;
use super::ids::DossierId;
use super::signataire::{CodeEnvoye, Confirmation};
use serde::{Deserialize, Serialize};

/// The states of the API (`statut` in openapi.yaml).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    Brouillon,
    EnConstruction,
    EnInstruction,
    Accepte,
    Refuse,
    SansSuite,
    /// An accepted convention whose termination took effect (the daily function).
    Resilie,
}

impl Statut {
    /// Every state, in the order of the procedure.
    pub const ALL: [Statut; 7] = [
        Statut::Brouillon,
        Statut::EnConstruction,
        Statut::EnInstruction,
        Statut::Accepte,
        Statut::Refuse,
        Statut::SansSuite,
        Statut::Resilie,
    ];

    /// The states of a deposited dossier, in the order of the procedure.
    pub const DEPOSITED: [Statut; 6] = [
        Statut::EnConstruction,
        Statut::EnInstruction,
        Statut::Accepte,
        Statut::Refuse,
        Statut::SansSuite,
        Statut::Resilie,
    ];

    /// Deposited, signed, and neither refused nor closed: its schools are counted as
    /// conventioned (figures); the ENT editor is told of accepted ones only (export).
    pub fn conventioned(self) -> bool {
        matches!(
            self,
            Statut::EnConstruction | Statut::EnInstruction | Statut::Accepte
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Statut::Brouillon => "brouillon",
            Statut::EnConstruction => "en_construction",
            Statut::EnInstruction => "en_instruction",
            Statut::Accepte => "accepte",
            Statut::Refuse => "refuse",
            Statut::SansSuite => "sans_suite",
            Statut::Resilie => "resilie",
        }
    }

    /// The legal moves. Deposit is the only applicant move; the rest belong to instructeurs,
    /// who can also reopen a decision (back to instruction) or send a dossier back to the
    /// applicant (back to construction), as on the platform this replaces.
    pub fn can_become(self, to: Statut) -> bool {
        use Statut::*;
        matches!(
            (self, to),
            (Brouillon, EnConstruction)
                | (EnConstruction, EnInstruction)
                | (EnInstruction, EnConstruction)
                | (EnInstruction, Accepte)
                | (EnInstruction, Refuse)
                | (EnInstruction, SansSuite)
                | (Accepte, EnInstruction)
                | (Refuse, EnInstruction)
                | (SansSuite, EnInstruction)
                | (Accepte, Resilie)
        )
    }
}

/// When a dossier that just became `statut` (at `decided_at`, epoch seconds) is to be deleted
/// by the table's TTL, under a retention of `days` (`DOSSIER_RETENTION_DAYS`, 0 = keep).
/// Only refused and classé sans suite dossiers expire, and never one that was accepted at some
/// point (`once_accepted`: reopened, then refused): a convention that was in force is a signed
/// administrative record, kept whatever the setting. Any other state keeps the dossier (a
/// reopened decision clears the expiry).
pub fn retention_expiry(
    statut: Statut,
    once_accepted: bool,
    decided_at: i64,
    days: u32,
) -> Option<i64> {
    match statut {
        Statut::Refuse | Statut::SansSuite if days > 0 && !once_accepted => {
            Some(decided_at + i64::from(days) * 86_400)
        }
        _ => None,
    }
}

/// Where the deposit pipeline stands. Stream consumers are filtered on it:
/// `depose` → generate-convention → `convention_enregistree` → send-acknowledgement →
/// `accuse_envoye`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Etape {
    Brouillon,
    Depose,
    ConventionEnregistree,
    AccuseEnvoye,
}

impl Etape {
    pub fn as_str(self) -> &'static str {
        match self {
            Etape::Brouillon => "brouillon",
            Etape::Depose => "depose",
            Etape::ConventionEnregistree => "convention_enregistree",
            Etape::AccuseEnvoye => "accuse_envoye",
        }
    }
}

/// What a version of the convention PDF is: the one the collectivité signed at deposit, or
/// the one the académie countersigned on acceptance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatureConvention {
    /// Rendered at deposit, signed by the collectivité (version 1).
    #[default]
    Depot,
    /// Rendered on acceptance with the académie's countersignature.
    Contresignature,
    /// Rendered when the collectivité deposits again the dossier the académie sent back for
    /// correction: signed anew by the collectivité.
    Correction,
}

impl NatureConvention {
    pub fn as_str(self) -> &'static str {
        match self {
            NatureConvention::Depot => "depot",
            NatureConvention::Contresignature => "contresignature",
            NatureConvention::Correction => "correction",
        }
    }
}

fn first_version() -> u32 {
    1
}

/// What a dossier is: a convention, an avenant to one, or the renewal of one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatureDossier {
    #[default]
    Convention,
    Avenant,
    Renouvellement,
}

impl NatureDossier {
    fn is_convention(&self) -> bool {
        *self == NatureDossier::Convention
    }
}

/// The convention an avenant amends or a renewal follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConventionInitiale {
    pub id: DossierId,
    pub numero: String,
}

/// An avenant's place: its number among the convention's avenants, and the perimeter it
/// amends (the convention's as the avenant was opened).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvenantDe {
    pub rang: u32,
    #[serde(with = "super::packed")]
    pub perimetre: Vec<super::deposit::EcoleDeposee>,
    /// The convention's SIRET: an avenant is the same collectivité's.
    #[serde(default)]
    pub siret: String,
}

/// An avenant accepted on a convention, as the convention records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvenantAccepte {
    pub id: DossierId,
    pub numero: String,
    pub rang: u32,
    pub accepte_le: String,
    /// The schools it added to the perimeter and withdrew from it (the export's `depuis=`).
    #[serde(default, with = "super::packed", skip_serializing_if = "Vec::is_empty")]
    pub ajouts: Vec<super::deposit::EcoleDeposee>,
    #[serde(default, with = "super::packed", skip_serializing_if = "Vec::is_empty")]
    pub retraits: Vec<super::deposit::EcoleDeposee>,
}

/// A school of the current perimeter that the school directory now lists as closed (or no
/// longer lists: merged, or gone), as the daily run found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcoleFermee {
    pub uai: String,
    pub nom: String,
    pub constatee_le: String,
}

/// A person for the signatory's role after the deposit (after elections): named by the
/// collectivité, in effect once that address confirms the code sent to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NouveauSignataire {
    pub prenom: String,
    pub nom: String,
    pub qualite: String,
    pub email: String,
    /// When the change was asked (RFC 3339); when it took effect, once in effect.
    pub le: String,
}

/// The académie sent the dossier back to the collectivité for correction: when, and why (the
/// private page shows it; the collectivité edits and deposits again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionDemandee {
    pub le: String,
    pub motif: String,
}

/// One generated convention PDF, as recorded on the dossier. Conventions recorded before
/// versions existed have neither `version` nor `nature`: they read as version 1, the
/// deposit's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConventionRecord {
    #[serde(default = "first_version")]
    pub version: u32,
    #[serde(default)]
    pub nature: NatureConvention,
    /// S3 object key.
    pub cle: String,
    pub sha256: String,
    pub genere_le: String,
    pub code_verification: String,
    pub taille: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuseRecord {
    pub envoye_le: String,
    pub message_id: String,
    pub destinataires: Vec<String>,
}

/// Where the email announcing the countersigned convention stands (send-acknowledgement sends
/// it on the change into `a_envoyer`; the template's FilterCriteria names the same wire value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AvisEtat {
    #[serde(rename = "a_envoyer")]
    AEnvoyer,
    #[serde(rename = "envoye")]
    Envoye,
}

impl AvisEtat {
    /// The wire value (as serde writes it, and as the stream filter and conditions read it).
    pub fn as_str(self) -> &'static str {
        match self {
            AvisEtat::AEnvoyer => "a_envoyer",
            AvisEtat::Envoye => "envoye",
        }
    }
}

/// The email that tells the collectivité its convention was accepted, sent once the
/// countersigned version exists (it links that version).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvisAcceptation {
    pub etat: AvisEtat,
    /// The version of the convention it announces.
    pub version: u32,
    /// Lease of the sender (epoch ms, unique per attempt), as for the acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bail: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoi: Option<AccuseRecord>,
}

/// One line of a dossier's audit trail: who did what, when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evenement {
    pub le: String,
    /// "collectivité" or the instructeur's email.
    pub par: String,
    /// The instructeur's name as their sign-in gives it (the token's `name` claim), when it
    /// does: the countersignature prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nom: Option<String>,
    /// The instructeur's account (the token's `sub`), for decisions and messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auteur {
    Collectivite,
    Instructeur,
}

/// A message of the messagerie between the académie and the collectivité.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub le: String,
    pub auteur: Auteur,
    /// Display name: the instructeur's email, or the signatory's name.
    pub nom: String,
    pub texte: String,
}

/// The instructeur's decisions, each a legal move of [`Statut::can_become`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    PasserEnInstruction,
    Accepter,
    Refuser,
    ClasserSansSuite,
    RepasserEnInstruction,
    RepasserEnConstruction,
}

impl Decision {
    pub const ALL: [Decision; 6] = [
        Decision::PasserEnInstruction,
        Decision::Accepter,
        Decision::Refuser,
        Decision::ClasserSansSuite,
        Decision::RepasserEnInstruction,
        Decision::RepasserEnConstruction,
    ];

    pub fn parse(s: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.wire_name() == s)
    }

    /// The `action` value of the API, as [`Decision::parse`] reads it.
    pub fn wire_name(self) -> &'static str {
        match self {
            Decision::PasserEnInstruction => "passer_en_instruction",
            Decision::Accepter => "accepter",
            Decision::Refuser => "refuser",
            Decision::ClasserSansSuite => "classer_sans_suite",
            Decision::RepasserEnInstruction => "repasser_en_instruction",
            Decision::RepasserEnConstruction => "repasser_en_construction",
        }
    }

    pub fn target(self) -> Statut {
        match self {
            Decision::PasserEnInstruction | Decision::RepasserEnInstruction => {
                Statut::EnInstruction
            }
            Decision::Accepter => Statut::Accepte,
            Decision::Refuser => Statut::Refuse,
            Decision::ClasserSansSuite => Statut::SansSuite,
            Decision::RepasserEnConstruction => Statut::EnConstruction,
        }
    }

    /// A refusal, a classement sans suite and a request for correction must say why (the
    /// collectivité reads what to correct).
    pub fn needs_motif(self) -> bool {
        matches!(
            self,
            Decision::Refuser | Decision::ClasserSansSuite | Decision::RepasserEnConstruction
        )
    }

    /// As written in the audit trail and the email.
    pub fn label(self) -> &'static str {
        match self {
            Decision::PasserEnInstruction => "dossier passé en instruction",
            Decision::Accepter => "dossier accepté",
            Decision::Refuser => "dossier refusé",
            Decision::ClasserSansSuite => "dossier classé sans suite",
            Decision::RepasserEnInstruction => "dossier repassé en instruction",
            Decision::RepasserEnConstruction => {
                "dossier renvoyé à la collectivité pour modification"
            }
        }
    }
}

/// Where the hand-over to the ENT editor's webhook stands. notify-editor fires on the change
/// into `AEnvoyer` (the template's FilterCriteria names the same wire value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEtat {
    /// Scheduled (on acceptance, or replayed by an instructeur): a delivery is due.
    #[serde(rename = "a_envoyer")]
    AEnvoyer,
    /// The editor answered 2xx.
    #[serde(rename = "livre")]
    Livre,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookTentative {
    pub le: String,
    /// HTTP status, or 0 when no answer came.
    pub statut_http: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erreur: Option<String>,
    pub duree_ms: u64,
    /// The editor it went to (`crate::editeurs`, `defaut` for the single-editor settings);
    /// absent on attempts recorded before several editors existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editeur: Option<String>,
}

/// The stored dossier: one DynamoDB item, also the `NewImage` of stream records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DossierRecord {
    pub id: DossierId,
    pub numero: String,
    pub jeton_sha256: String,
    pub statut: Statut,
    pub etape: Etape,
    pub cree_le: String,
    pub modifie_le: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depose_le: Option<String>,
    #[serde(default)]
    pub brouillon: Draft,
    /// The code sent to the signatory and not yet confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_signataire: Option<CodeEnvoye>,
    /// The signatory's address as confirmed by the code (cleared when the address changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_signataire: Option<Confirmation>,
    /// When this dossier sent codes in the last hour (epoch seconds): its quota.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes_envoyes: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depot: Option<Depot>,
    /// The current convention (the newest of `conventions`), as readers before versions know it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convention: Option<ConventionRecord>,
    /// Every version, oldest first; empty on dossiers recorded before versions existed, whose
    /// `convention` is their only version (read them through [`DossierRecord::versions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conventions: Vec<ConventionRecord>,
    /// Top-level copy of the current convention's code, for the verification index (the codes
    /// of superseded versions have index items of their own, see `adapters::dynamo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuse: Option<AccuseRecord>,
    /// The email announcing the countersigned convention (none before the countersignature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avis_acceptation: Option<AvisAcceptation>,
    /// Lease taken by the acknowledgement sender (epoch milliseconds, unique per attempt) so
    /// that a replayed stream record cannot send a second email while the first send is under
    /// way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuse_bail: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub historique: Vec<Evenement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// Webhook to the ENT editor (see [`WebhookEtat`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_etat: Option<WebhookEtat>,
    /// Every delivery attempt, for the académie and for support.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_tentatives: Vec<WebhookTentative>,
    /// What left the item of the three journals above, which keep their newest entries only
    /// (`domain::journal`): the pages, and the counts the rules read.
    #[serde(default, skip_serializing_if = "super::journal::Archives::is_empty")]
    pub archives: super::journal::Archives,
    /// When DynamoDB's TTL removes the item (epoch seconds): drafts 90 days after their last
    /// change, refused or closed dossiers per the retention setting (`retention_expiry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_le: Option<i64>,
    /// The correction the académie asked for, until the collectivité deposits again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_demandee: Option<CorrectionDemandee>,
    #[serde(default, skip_serializing_if = "NatureDossier::is_convention")]
    pub nature: NatureDossier,
    /// For an avenant or a renewal: the convention it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convention_initiale: Option<ConventionInitiale>,
    /// For an avenant: its number and the perimeter it amends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avenant: Option<AvenantDe>,
    /// For a convention: its current perimeter once an avenant was accepted (the deposit's
    /// `depot.ecoles` until then), and its accepted avenants.
    #[serde(
        default,
        with = "super::packed::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub perimetre: Option<Vec<super::deposit::EcoleDeposee>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub avenants: Vec<AvenantAccepte>,
    /// Schools of the current perimeter the directory closed: the collectivité is invited to
    /// file an avenant (cleared as an avenant withdraws them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecoles_fermees: Vec<EcoleFermee>,
    /// A change of signatory waiting for the new address's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nouveau_signataire: Option<NouveauSignataire>,
    /// The signatory in office since a change (`le`: when it took effect); the deposit's
    /// `depot.signataire` stays who signed. Emails go to this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signataire_actuel: Option<NouveauSignataire>,
    /// The termination asked for (by either party), until and after it takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resiliation: Option<crate::domain::term::Resiliation>,
    /// The term, set at the first deposit (dossiers deposited before it read it through
    /// [`DossierRecord::echeance`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echeance: Option<crate::domain::term::Echeance>,
    /// The term reminders sent (days before `fin_le`: 90, 30).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rappels_echeance: Vec<u32>,
    /// The draft's expiry (epoch seconds) its confirmed signatory was warned of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avertissement_expiration: Option<i64>,
    /// How many times the académie renewed the dossier's access: email links carry it (see
    /// `ids::link_jeton`), so that renewing voids every earlier link.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub acces_generation: u32,
    /// How many stamped writes the dossier has had (`domain::listing::stamp`): each is decided
    /// on the revision it read, which the store checks.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub revision: u64,
    /// The list's row as last written (`domain::listing`); none on drafts and on dossiers
    /// stored before rows existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ligne: Option<super::listing::Ligne>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

impl DossierRecord {
    /// The département the dossier belongs to, once deposited (`Depot::departement`).
    pub fn departement(&self) -> Option<String> {
        self.depot.as_ref().and_then(|d| d.departement())
    }

    /// The confirmation of the address the draft holds now (another address voids it).
    pub fn current_confirmation(&self) -> Option<&Confirmation> {
        let current = self.brouillon.signataire_address();
        self.confirmation_signataire
            .as_ref()
            .filter(|c| Some(&c.email) == current.as_ref())
    }

    /// The code pending for the address the draft holds now.
    pub fn current_code(&self) -> Option<&CodeEnvoye> {
        let current = self.brouillon.signataire_address();
        self.code_signataire
            .as_ref()
            .filter(|c| Some(&c.email) == current.as_ref())
    }

    /// When the académie accepted the convention in force (its latest acceptance), while the
    /// dossier is accepted.
    pub fn accepte_le(&self) -> Option<&str> {
        self.acceptance().map(|e| e.le.as_str())
    }

    /// The audit line of the latest acceptance (who, when), while the dossier is accepted.
    pub fn acceptance(&self) -> Option<&Evenement> {
        if self.statut != Statut::Accepte {
            return None;
        }
        self.historique
            .iter()
            .rev()
            .find(|e| e.action == Decision::Accepter.label())
            .or(self.archives.derniere_acceptation.as_ref())
    }

    /// How many audit events of the whole trail have this action (moved ones included).
    pub fn count_action(&self, action: &str) -> usize {
        self.archives.count(action)
            + self
                .historique
                .iter()
                .filter(|e| e.action == action)
                .count()
    }

    /// How many messages the dossier has (moved ones included).
    pub fn nb_messages(&self) -> usize {
        self.archives.messages.entrees as usize + self.messages.len()
    }

    /// How many delivery attempts of the webhook were recorded (moved ones included).
    pub fn nb_webhook_attempts(&self) -> usize {
        self.archives.webhook_tentatives.entrees as usize + self.webhook_tentatives.len()
    }

    /// Every convention version, oldest first. A dossier recorded before versions existed has
    /// only `convention`: it is its version 1 (read so, no migration needed).
    pub fn versions(&self) -> &[ConventionRecord] {
        if self.conventions.is_empty() {
            self.convention.as_slice()
        } else {
            &self.conventions
        }
    }

    /// Version `n` of the convention.
    pub fn version(&self, n: u32) -> Option<&ConventionRecord> {
        self.versions().iter().find(|c| c.version == n)
    }

    /// The version that came after `v`, when `v` is superseded.
    pub fn replaced(&self, v: &ConventionRecord) -> Option<&ConventionRecord> {
        self.versions().iter().find(|c| c.version > v.version)
    }

    /// Whether the current version is the académie's countersigned one (a correction deposited
    /// after a countersignature is signed by the collectivité only, until accepted again).
    pub fn countersigned(&self) -> bool {
        self.convention
            .as_ref()
            .is_some_and(|c| c.nature == NatureConvention::Contresignature)
    }

    /// The convention's schools now: the last accepted avenant's perimeter, else the deposit's.
    pub fn current_perimeter(&self) -> &[super::deposit::EcoleDeposee] {
        match (&self.perimetre, &self.depot) {
            (Some(p), _) => p,
            (None, Some(d)) => &d.ecoles,
            (None, None) => &[],
        }
    }

    /// Who the collectivité's emails go to: the signatory in office (after a change), else the
    /// one who signed: (prénom, nom, address).
    pub fn contact(&self) -> Option<(&str, &str, &str)> {
        if let Some(s) = &self.signataire_actuel {
            return Some((&s.prenom, &s.nom, &s.email));
        }
        self.depot.as_ref().map(|d| {
            (
                d.signataire.prenom.as_str(),
                d.signataire.nom.as_str(),
                d.signataire.email.as_str(),
            )
        })
    }

    /// The convention's term: as recorded at the first deposit, or computed from it for a
    /// dossier deposited before terms were recorded.
    pub fn echeance(&self) -> Option<crate::domain::term::Echeance> {
        self.echeance.clone().or_else(|| {
            let d = self.depot.as_ref()?;
            crate::domain::term::echeance(self.depose_le.as_deref()?, &d.signature.version_texte)
        })
    }

    /// Whether the dossier was accepted at some point, as its audit trail says (a convention
    /// that was in force; see [`retention_expiry`]).
    pub fn once_accepted(&self) -> bool {
        self.count_action(Decision::Accepter.label()) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::Statut::*;
    use super::*;

    #[test]
    fn only_refused_or_closed_dossiers_expire_and_only_when_configured() {
        let t = 1_800_000_000;
        assert_eq!(
            retention_expiry(Refuse, false, t, 30),
            Some(t + 30 * 86_400)
        );
        assert_eq!(retention_expiry(SansSuite, false, t, 1), Some(t + 86_400));
        assert_eq!(retention_expiry(Refuse, false, t, 0), None, "0 keeps");
        for kept in [Brouillon, EnConstruction, EnInstruction, Accepte] {
            assert_eq!(retention_expiry(kept, false, t, 30), None, "{kept:?}");
        }
        for after_acceptance in [Refuse, SansSuite] {
            assert_eq!(
                retention_expiry(after_acceptance, true, t, 30),
                None,
                "a convention once in force is kept ({after_acceptance:?})"
            );
        }
    }

    const ALL: [Statut; 7] = Statut::ALL;

    #[test]
    fn only_legal_transitions() {
        let legal: Vec<(Statut, Statut)> = ALL
            .iter()
            .flat_map(|a| ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(legal.len(), 10);
        assert!(Accepte.can_become(Resilie) && !Resilie.can_become(Accepte));
        assert!(Brouillon.can_become(EnConstruction));
        assert!(!Brouillon.can_become(Accepte));
        assert!(!EnConstruction.can_become(Accepte));
        assert!(!Accepte.can_become(Refuse));
        assert!(!EnConstruction.can_become(Brouillon));
        for s in ALL {
            assert!(!s.can_become(s), "{s:?} → itself");
        }
    }

    #[test]
    fn decisions_are_legal_moves_from_their_state() {
        use Decision::*;
        for (d, from) in [
            (PasserEnInstruction, EnConstruction),
            (Accepter, EnInstruction),
            (Refuser, EnInstruction),
            (ClasserSansSuite, EnInstruction),
            (RepasserEnInstruction, Accepte),
            (RepasserEnConstruction, EnInstruction),
        ] {
            assert!(from.can_become(d.target()), "{d:?} from {from:?}");
        }
        assert!(!EnConstruction.can_become(Accepter.target()));
        assert!(Refuser.needs_motif() && ClasserSansSuite.needs_motif() && !Accepter.needs_motif());
        assert!(RepasserEnConstruction.needs_motif());
        assert_eq!(Decision::parse("accepter"), Some(Accepter));
        assert_eq!(Decision::parse("supprimer"), None);
    }

    #[test]
    fn wire_names() {
        for s in ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for e in [AvisEtat::AEnvoyer, AvisEtat::Envoye] {
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        for n in [
            NatureConvention::Depot,
            NatureConvention::Contresignature,
            NatureConvention::Correction,
        ] {
            assert_eq!(serde_json::to_value(n).unwrap(), n.as_str());
        }
    }

    #[test]
    fn a_convention_stored_before_versions_reads_as_version_one() {
        let stored = serde_json::json!({
            "cle": "conventions/x/convention-ENT-000001.pdf", "sha256": "00",
            "genere_le": "2026-11-28T20:14:01.000Z", "code_verification": "K7QM-4TZX-9HCR",
            "taille": 8000
        });
        let c: ConventionRecord = serde_json::from_value(stored).unwrap();
        assert_eq!((c.version, c.nature), (1, NatureConvention::Depot));
    }
}
