// A local stand-in for the company registry (recherche-entreprises), same path and JSON, for
// the browser tests: it knows the commune de Baulon and answers 500 for any other SIRET, so the
// form shows both a verified collectivité and the degraded mode. Usage: node registry-fake.mjs PORT
import { createServer } from 'node:http';

const BAULON = {
  siren: '213500168',
  nom_complet: 'COMMUNE DE BAULON',
  nom_raison_sociale: 'COMMUNE DE BAULON',
  nature_juridique: '7210',
  siege: { siret: '21350016800025', adresse: "1 PLACE DE L'EGLISE 35580 BAULON" },
  matching_etablissements: [{ siret: '21350016800025', adresse: "1 PLACE DE L'EGLISE 35580 BAULON" }],
  complements: { collectivite_territoriale: { code: '35016', code_insee: '35016', niveau: 'commune' } },
};

const port = Number(process.argv[2] || 0);
createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const q = url.searchParams.get('q');
  if (url.pathname !== '/search' || q !== BAULON.siege.siret) {
    res.writeHead(500, { 'content-type': 'application/json' });
    return res.end('{"erreur":"indisponible"}');
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ results: [BAULON], total_results: 1, page: 1, per_page: 10 }));
}).listen(port, '127.0.0.1', () => console.log(`registre factice sur le port ${port}`));
