//! The company registry ("recherche-entreprises", api.gouv.fr): name, address and kind of a
//! SIRET. Called with a 2 s timeout; a 429 is retried once after its Retry-After when that fits
//! the budget; answers (including "unknown") are cached per Lambda instance (5 000 at most,
//! expired then oldest dropped first). When the registry
//! fails, the caller goes on in degraded mode (`verifie: false`).

use crate::domain::siret::Siret;
use crate::ports::{CompanyRegistry, RegistryEntry, RegistryError};
use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(2);
const CACHE_TTL: Duration = Duration::from_secs(6 * 3600);
/// A failure is remembered briefly, so that a registry outage costs one timeout per minute and
/// per instance, not one per keystroke of the form.
const FAILURE_TTL: Duration = Duration::from_secs(60);

/// What a lookup said: known (Some), unknown (None), or failed.
type Answer = Result<Option<RegistryEntry>, RegistryError>;

pub struct RechercheEntreprises {
    base_url: String,
    agent: ureq::Agent,
    cache: Mutex<HashMap<String, (Instant, Answer)>>,
}

impl RechercheEntreprises {
    pub fn new(base_url: &str) -> Self {
        RechercheEntreprises {
            base_url: base_url.trim_end_matches('/').to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout(TIMEOUT)
                .user_agent("conventions-ent")
                .build(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn fetch(
        agent: &ureq::Agent,
        url: &str,
        siret: &str,
    ) -> Result<Option<RegistryEntry>, RegistryError> {
        let started = Instant::now();
        let mut retried = false;
        loop {
            match agent.get(url).query("q", siret).call() {
                Ok(resp) => {
                    let body: SearchAnswer = resp.into_json().map_err(|e| {
                        RegistryError::Unavailable(format!("réponse illisible : {e}"))
                    })?;
                    return Ok(entry_for(body, siret));
                }
                Err(ureq::Error::Status(429, resp)) if !retried => {
                    let wait = resp
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(1);
                    let wait = Duration::from_secs(wait);
                    if started.elapsed() + wait >= TIMEOUT {
                        return Err(RegistryError::Unavailable(format!(
                            "limite de débit (Retry-After {}s)",
                            wait.as_secs()
                        )));
                    }
                    std::thread::sleep(wait);
                    retried = true;
                }
                Err(ureq::Error::Status(code, _)) => {
                    return Err(RegistryError::Unavailable(format!("HTTP {code}")))
                }
                Err(e) => return Err(RegistryError::Unavailable(e.to_string())),
            }
        }
    }
}

#[async_trait]
impl CompanyRegistry for RechercheEntreprises {
    async fn lookup(&self, siret: &Siret) -> Result<Option<RegistryEntry>, RegistryError> {
        let key = siret.as_str().to_string();
        if let Some((at, answer)) = self.cache.lock().expect("cache lock").get(&key) {
            let ttl = if answer.is_ok() {
                CACHE_TTL
            } else {
                FAILURE_TTL
            };
            if at.elapsed() < ttl {
                return answer.clone();
            }
        }
        let agent = self.agent.clone();
        let url = format!("{}/search", self.base_url);
        let k = key.clone();
        let answer = tokio::task::spawn_blocking(move || Self::fetch(&agent, &url, &k))
            .await
            .map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        remember(
            &mut self.cache.lock().expect("cache lock"),
            key,
            answer.clone(),
            Instant::now(),
        );
        answer
    }
}

/// Most SIRETs one instance remembers: the public lookup takes any SIRET, so without a bound
/// the cache would grow with every different query for as long as the instance lives.
const CACHE_ENTRIES: usize = 5_000;

/// Keeps `answer` for `key`; when full, forgets what expired, then the oldest entries.
fn remember(
    cache: &mut HashMap<String, (Instant, Answer)>,
    key: String,
    answer: Answer,
    now: Instant,
) {
    if cache.len() >= CACHE_ENTRIES && !cache.contains_key(&key) {
        cache.retain(|_, (at, a)| {
            let ttl = if a.is_ok() { CACHE_TTL } else { FAILURE_TTL };
            now.duration_since(*at) < ttl
        });
        if cache.len() >= CACHE_ENTRIES {
            let mut ages: Vec<(Instant, String)> =
                cache.iter().map(|(k, (at, _))| (*at, k.clone())).collect();
            ages.sort();
            for (_, k) in ages.into_iter().take(CACHE_ENTRIES / 10) {
                cache.remove(&k);
            }
        }
    }
    cache.insert(key, (now, answer));
}

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    results: Vec<SearchResult>,
}

#[derive(Deserialize)]
struct SearchResult {
    #[serde(default)]
    siren: String,
    #[serde(default)]
    nom_complet: Option<String>,
    #[serde(default)]
    nom_raison_sociale: Option<String>,
    #[serde(default)]
    siege: Option<Etablissement>,
    #[serde(default)]
    matching_etablissements: Vec<Etablissement>,
    #[serde(default)]
    complements: Option<Complements>,
    #[serde(default)]
    nature_juridique: Option<String>,
}

#[derive(Deserialize)]
struct Etablissement {
    #[serde(default)]
    siret: String,
    #[serde(default)]
    adresse: Option<String>,
    /// The INSEE code of its commune.
    #[serde(default)]
    commune: Option<String>,
}

#[derive(Deserialize)]
struct Complements {
    #[serde(default)]
    collectivite_territoriale: Option<serde_json::Value>,
}

/// The result whose SIREN matches, with the address of the matching establishment.
fn entry_for(answer: SearchAnswer, siret: &str) -> Option<RegistryEntry> {
    let r = answer.results.into_iter().find(|r| r.siren == siret[..9])?;
    let adresse = r
        .matching_etablissements
        .iter()
        .chain(r.siege.iter())
        .find(|e| e.siret == siret)
        .and_then(|e| e.adresse.clone())
        .or_else(|| r.siege.as_ref().and_then(|s| s.adresse.clone()));
    let nom = r.nom_complet.or(r.nom_raison_sociale)?;
    Some(RegistryEntry {
        nom: crate::domain::text::single_line(&nom),
        adresse: adresse.map(|a| crate::domain::text::single_line(&a)),
        collectivite_territoriale: r
            .complements
            .and_then(|c| c.collectivite_territoriale)
            .is_some_and(|v| !v.is_null()),
        nature_juridique: r.nature_juridique,
        siege_code_insee: r
            .siege
            .and_then(|s| s.commune)
            .filter(|c| c.len() == 5 && c.chars().all(|ch| ch.is_ascii_alphanumeric())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_stays_bounded() {
        let mut cache = HashMap::new();
        let t0 = Instant::now();
        for i in 0..(CACHE_ENTRIES * 3) {
            let at = t0 + Duration::from_millis(i as u64);
            remember(&mut cache, format!("{i:014}"), Ok(None), at);
            assert!(cache.len() <= CACHE_ENTRIES);
        }
        // The newest answers are the ones kept.
        assert!(cache.contains_key(&format!("{:014}", CACHE_ENTRIES * 3 - 1)));
        assert!(!cache.contains_key(&format!("{:014}", 0)));
    }

    #[test]
    fn picks_the_matching_siren_and_establishment() {
        let answer: SearchAnswer = serde_json::from_value(serde_json::json!({
            "results": [
                {"siren": "999999999", "nom_complet": "AUTRE"},
                {"siren": "213500168", "nom_complet": "COMMUNE DE BAULON",
                 "siege": {"siret": "21350016800017", "adresse": "SIEGE"},
                 "matching_etablissements": [{"siret": "21350016800025", "adresse": "1 PLACE DE L'EGLISE 35580 BAULON"}],
                 "complements": {"collectivite_territoriale": {"code_insee": "35016", "niveau": "commune"}}}
            ],
            "total_results": 2
        }))
        .unwrap();
        let e = entry_for(answer, "21350016800025").unwrap();
        assert_eq!(e.nom, "COMMUNE DE BAULON");
        assert_eq!(
            e.adresse.as_deref(),
            Some("1 PLACE DE L'EGLISE 35580 BAULON")
        );
        assert!(e.collectivite_territoriale);
        assert_eq!(e.nature_juridique, None);
        assert_eq!(
            entry_for(SearchAnswer { results: vec![] }, "21350016800025"),
            None
        );
    }
}
