//! A local stand-in for the company registry ("recherche-entreprises"): same path, same JSON,
//! and the failures that matter (down, 429 with Retry-After, too slow).

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Mode {
    /// Answers as the registry does; unknown SIRETs get an empty result list.
    Normal,
    /// 500 to every call.
    Down,
    /// 429 with `Retry-After: <secs>` on the first call, then normal.
    RateLimitedOnce(u64),
    /// Answers after 3 s (past our 2 s timeout).
    Slow,
}

pub struct FakeRegistry {
    pub url: String,
    pub calls: Arc<AtomicUsize>,
}

/// The registry's record of the commune de Baulon (shape of `GET /search?q=<siret>`).
pub fn baulon() -> Value {
    json!({
        "siren": "213500168",
        "nom_complet": "COMMUNE DE BAULON",
        "nom_raison_sociale": "COMMUNE DE BAULON",
        "nature_juridique": "7210",
        "siege": {"siret": "21350016800025", "adresse": "1 PLACE DE L'EGLISE 35580 BAULON"},
        "matching_etablissements": [{"siret": "21350016800025", "adresse": "1 PLACE DE L'EGLISE 35580 BAULON"}],
        "complements": {"collectivite_territoriale": {"code": "35016", "code_insee": "35016", "niveau": "commune"}}
    })
}

impl FakeRegistry {
    pub fn start(mode: Mode) -> FakeRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(mode));
        let calls = Arc::new(AtomicUsize::new(0));
        let (m, c) = (mode.clone(), calls.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (m, c) = (m.clone(), c.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let n = stream.read(&mut buf).unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let q = path
                        .split("q=")
                        .nth(1)
                        .unwrap_or("")
                        .split('&')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let call = c.fetch_add(1, Ordering::SeqCst);
                    let mode = m.lock().unwrap().clone();
                    let (status, extra, body) = match mode {
                        Mode::Down => {
                            ("500 Internal Server Error", String::new(), "{}".to_string())
                        }
                        Mode::RateLimitedOnce(secs) if call == 0 => (
                            "429 Too Many Requests",
                            format!("Retry-After: {secs}\r\n"),
                            "{\"erreur\":\"trop de requêtes\"}".into(),
                        ),
                        Mode::Slow => {
                            std::thread::sleep(Duration::from_secs(3));
                            ("200 OK", String::new(), answer(&q).to_string())
                        }
                        _ => ("200 OK", String::new(), answer(&q).to_string()),
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        FakeRegistry { url, calls }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A company the registry knows (not a public body): its SIRET cannot sign a convention.
pub const SIRET_ENTREPRISE: &str = "55208131710009";

fn entreprise() -> Value {
    json!({
        "siren": "552081317",
        "nom_complet": "ELECTRICITE DE FRANCE",
        "nature_juridique": "5599",
        "siege": {"siret": SIRET_ENTREPRISE, "adresse": "22 AVENUE DE WAGRAM 75008 PARIS"},
        "matching_etablissements": [{"siret": SIRET_ENTREPRISE, "adresse": "22 AVENUE DE WAGRAM 75008 PARIS"}],
        "complements": {"collectivite_territoriale": null}
    })
}

/// A public body that is not a collectivité (a lycée, an EPLE: catégorie juridique 7331).
pub const SIRET_LYCEE: &str = "19350000600013";

fn lycee() -> Value {
    json!({
        "siren": "193500006",
        "nom_complet": "LYCEE PUBLIC DE LA VILAINE",
        "nature_juridique": "7331",
        "siege": {"siret": SIRET_LYCEE, "adresse": "1 RUE DU LYCEE 35000 RENNES"},
        "matching_etablissements": [{"siret": SIRET_LYCEE, "adresse": "1 RUE DU LYCEE 35000 RENNES"}],
        "complements": {"collectivite_territoriale": null}
    })
}

fn answer(q: &str) -> Value {
    let results: Vec<Value> = match q {
        "21350016800025" => vec![baulon()],
        SIRET_ENTREPRISE => vec![entreprise()],
        SIRET_LYCEE => vec![lycee()],
        _ => vec![],
    };
    json!({"results": results, "total_results": results.len(), "page": 1, "per_page": 10})
}
