//! daily: once a day (EventBridge Scheduler; `make daily DATE=…` locally), as of that day:
//! terminations taking effect, schools of current perimeters the directory closed (flagged, the
//! collectivité invited to file an avenant), term reminders (90 and 30 days before the end),
//! warnings to the confirmed signatories of drafts the TTL deletes within 14 days; and the
//! académie's digest (new deposits, unanswered messages, dossiers waiting longer than
//! `DIGEST_WAITING_DAYS`), once a day.
//!
//! Each dossier's step is written first (conditional: a concurrent or repeated run finds it
//! done and sends nothing), then its emails are sent. A reminder or warning whose email fails
//! is given back (its record undone) so that the next run sends it; a termination's state
//! stays (its emails are logged as failed, the académie sees the dossier `resilie`).

use crate::domain::change::Change;
use crate::domain::dossier::{DossierRecord, Statut};
use crate::domain::life::Pass;
use crate::domain::steps;
use crate::domain::term::DRAFT_WARNING_DAYS;
use crate::domain::time::Now;
use crate::ports::{ListFilter, StoreError};
use crate::App;
use serde::{Deserialize, Serialize};

/// What the scheduler sends (`{}`: today), or `{"date": "YYYY-MM-DD"}` to run as of that day
/// (`make daily DATE=…`; on AWS, an operator's replay of a missed day).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyEvent {
    #[serde(default)]
    pub date: Option<String>,
}

impl DailyEvent {
    /// The run's clock: now, or 06:00 UTC of the day asked (that day in Paris).
    pub fn now(&self) -> Result<Now, String> {
        match &self.date {
            None => Ok(Now::system()),
            Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(6, 0, 0))
                .map(|t| Now::at(t.and_utc()))
                .ok_or_else(|| format!("date « {d} » : attendue au format AAAA-MM-JJ")),
        }
    }
}

/// What one run did, as the function answers and logs it.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub date: String,
    pub resiliations: u32,
    pub rappels_echeance: u32,
    pub avertissements_brouillon: u32,
    /// Conventions with a school the directory now lists closed, flagged (and the collectivité
    /// invited to file an avenant).
    pub ecoles_fermees_signalees: u32,
    /// The académie's digest (new deposits, unanswered messages, long waits) sent by this run
    /// (false: nothing to say, or already sent today).
    pub recapitulatif_envoye: bool,
    /// Emails that could not be sent (retried on the next run where the step allows it).
    pub echecs_courriel: u32,
}

/// The daily run as of `now` (the scheduled time, or the `date` asked for locally).
pub async fn run(app: &App, now: &Now) -> Result<Report, StoreError> {
    app.refresh_reference().await;
    let mut report = Report {
        date: crate::domain::term::today(now)
            .format("%Y-%m-%d")
            .to_string(),
        ..Report::default()
    };
    let filter = ListFilter {
        statuts: vec![Statut::Accepte],
        chronologique: true,
        ..ListFilter::default()
    };
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = app
            .dossiers
            .list_deposited(&filter, cursor.as_deref(), 100)
            .await?;
        for r in &page {
            if let Ok(change) = steps::apply_termination(r, now, &app.policy(r)) {
                if write(app, r, &change).await? {
                    report.resiliations += 1;
                    if !send(app, r, &change).await {
                        report.echecs_courriel += 1;
                    }
                }
                continue;
            }
            // No directory loaded (no snapshot yet): nothing can be said closed.
            let closed = (!app.directory().is_empty())
                .then(|| steps::flag_closed_schools(r, app.directory().as_ref(), now).ok())
                .flatten();
            if let Some(change) = closed {
                if write(app, r, &change).await? {
                    report.ecoles_fermees_signalees += 1;
                    if !send(app, r, &change).await {
                        report.echecs_courriel += 1;
                    }
                }
            }
            if let Ok(change) = steps::remind_term(r, now) {
                if write(app, r, &change).await? {
                    report.rappels_echeance += 1;
                    if !send(app, r, &change).await {
                        report.echecs_courriel += 1;
                        give_back_reminder(app, r, &change).await;
                    }
                }
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let horizon = now.seconds() + DRAFT_WARNING_DAYS * 86_400;
    for r in app.dossiers.drafts_expiring(horizon).await? {
        match steps::warn_draft_expiry(&r, now) {
            Ok(change) => {
                if write(app, &r, &change).await? {
                    report.avertissements_brouillon += 1;
                    if !send(app, &r, &change).await {
                        report.echecs_courriel += 1;
                    }
                }
            }
            Err(Pass::AlreadyDone | Pass::NotHere) => {}
        }
    }
    report.recapitulatif_envoye = send_digest(app, now, &report.date).await?;
    if !report.recapitulatif_envoye {
        tracing::debug!("no digest sent");
    }
    tracing::info!(?report, "daily run done");
    Ok(report)
}

/// The digests of the day: each département's to its DSDEN's contact address (its dossiers
/// only), and, in an académie of several départements whose `CONTACT_EMAIL` is none of theirs,
/// the whole académie's to that address. True when one was sent.
async fn send_digest(app: &App, now: &Now, today: &str) -> Result<bool, StoreError> {
    let filter = ListFilter {
        chronologique: true,
        ..ListFilter::default()
    };
    let all = app.dossiers.all_deposited(&filter).await?;
    let academie = &app.config.academie;
    let several = academie.departements.len() > 1;
    // Each dossier's DSDEN once, then one digest per département.
    let mut by_dsden = std::collections::BTreeMap::<&str, Vec<DossierRecord>>::new();
    for r in &all {
        by_dsden
            .entry(app.dsden(r).code.as_str())
            .or_default()
            .push(r.clone());
    }
    let mut sent = false;
    for (code, dsden) in &academie.departements {
        let mine = by_dsden.remove(code.as_str()).unwrap_or_default();
        let label = several.then(|| format!("département {code}"));
        sent |= send_one_digest(app, now, today, &mine, &dsden.contact_email, label, code).await?;
    }
    let wide = &app.config.contact_email;
    if several
        && !academie
            .departements
            .values()
            .any(|d| &d.contact_email == wide)
    {
        sent |= send_one_digest(app, now, today, &all, wide, None, "academie").await?;
    }
    Ok(sent)
}

/// One digest, once: claimed before it is sent (a quota of one for the day and that address's
/// part: a concurrent or repeated run finds it taken), so that it is never sent twice; a send
/// that fails is logged and lost for that day (the next day's digest lists the same dossiers).
async fn send_one_digest(
    app: &App,
    now: &Now,
    today: &str,
    dossiers: &[DossierRecord],
    to: &str,
    label: Option<String>,
    part: &str,
) -> Result<bool, StoreError> {
    let digest = crate::domain::digest::digest(dossiers, now, app.config.digest_waiting_days);
    if digest.is_empty() {
        return Ok(false);
    }
    let day = crate::domain::term::date(today)
        .map(crate::domain::time::french_date)
        .unwrap_or_else(|| today.to_string());
    let email = match crate::mail::digest_email(app, &digest, &day, to, label.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "digest not rendered");
            return Ok(false);
        }
    };
    let claim = crate::domain::signataire::Quota {
        // The first release's key for a one-département académie: a run of the day before an
        // upgrade is not sent again.
        key: if app.config.academie.departements.len() == 1 {
            format!("recapitulatif#{today}")
        } else {
            format!("recapitulatif#{today}#{part}")
        },
        limit: 1,
        window_end: now.seconds() + 86_400,
    };
    match app.dossiers.take_quota(&claim).await {
        Err(StoreError::Conflict) => return Ok(false),
        r => r?,
    }
    match app.mailer.send(&email).await {
        Ok(_) => Ok(true),
        Err(e) => {
            tracing::error!(error = %e, "digest not sent");
            Ok(false)
        }
    }
}

/// The step written; false when another run (or a person) changed the dossier meanwhile.
async fn write(app: &App, r: &DossierRecord, change: &Change) -> Result<bool, StoreError> {
    let written = match change.step {
        crate::domain::life::Step::ApplyTermination => {
            app.dossiers.apply_termination(r, change).await
        }
        crate::domain::life::Step::RemindTerm => app.dossiers.remind_term(r, change).await,
        crate::domain::life::Step::FlagClosedSchools => {
            app.dossiers.flag_closed_schools(r, change).await
        }
        _ => app.dossiers.warn_draft_expiry(r, change).await,
    };
    match written {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The change's emails, rendered from the dossier as written.
async fn send(app: &App, r: &DossierRecord, change: &Change) -> bool {
    let mut after = r.clone();
    change.apply(&mut after);
    crate::mail::send_notices(app, &after, &change.notices).await
}

/// A reminder whose email failed is recorded as not sent, for the next run to send it.
async fn give_back_reminder(app: &App, r: &DossierRecord, change: &Change) {
    let Some(undo) = steps::release_reminder(r, change) else {
        return;
    };
    if let Err(e) = app.dossiers.remind_term(r, &undo).await {
        tracing::warn!(dossier = %r.id, error = %e, "reminder not given back: it will not be resent");
    }
}
