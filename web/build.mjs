// Builds web/dist/ from the pinned DSFR package and web/src/, then writes the Rust manifest
// (src/http/pages/assets.rs) that embeds every file with include_bytes!. Run: npm run build.
// Only what the pages use is shipped: core + the listed components' CSS, the Marianne weights
// the pages use (woff2 only), the SVG icons the CSS refers to, and the fr-icon-* classes found
// in templates/pages/ and web/src/. Each page script ships with web/src/common.js in front of it.
// Text files get a precompressed .gz twin.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const dsfr = join(here, 'node_modules/@gouvfr/dsfr/dist');
const dist = join(here, 'dist');
const COMPONENTS = ['skiplink', 'logo', 'header', 'footer', 'button', 'link', 'form', 'input', 'select',
  'checkbox', 'radio', 'alert', 'notice', 'callout', 'badge', 'tag', 'stepper', 'highlight', 'upload'];
const FONTS = ['Marianne-Regular', 'Marianne-Medium', 'Marianne-Bold'];

if (!existsSync(dsfr)) {
  console.error('web/node_modules absent : lancez `npm ci --ignore-scripts` dans web/');
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
const files = new Map(); // name -> Buffer

// fr-icon-* classes used by the pages and the app.
const sources = [
  ...readdirSync(join(root, 'templates/pages')).map((f) => join(root, 'templates/pages', f)),
  ...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f)),
];
const usedIcons = new Set();
for (const f of sources) {
  for (const m of readFileSync(f, 'utf8').matchAll(/fr-icon-[a-z0-9-]+/g)) usedIcons.add(m[0]);
}
const iconCss = readFileSync(join(dsfr, 'utility/icons/icons.main.min.css'), 'utf8');
const iconRules = [];
for (const cls of usedIcons) {
  const re = new RegExp(`\\.${cls}:after,\\.${cls}:before\\{[^}]*\\}`);
  const m = iconCss.match(re);
  if (!m) throw new Error(`icône DSFR inconnue : ${cls}`);
  iconRules.push(m[0].replaceAll('../../icons/', '../icons/'));
}

let css = readFileSync(join(dsfr, 'core/core.main.min.css'), 'utf8');
for (const c of COMPONENTS) {
  css += '\n' + readFileSync(join(dsfr, `component/${c}/${c}.main.min.css`), 'utf8').replaceAll('../../icons/', '../icons/');
}
css += '\n' + iconRules.join('');
// Keep only the shipped fonts' @font-face rules, woff2 only.
css = css.replace(/@font-face\{[^}]*\}/g, (rule) => {
  const font = FONTS.find((f) => rule.includes(`../fonts/${f}.woff2`));
  if (!font) return '';
  return rule.replace(/src:[^;}]*/, `src:url(${font}.woff2) format("woff2")`);
});
// Flatten icon paths: ../icons/<group>/<name>.svg -> <name>.svg, copying each icon.
css = css.replace(/url\(\.\.\/icons\/([a-z-]+)\/([a-z0-9-]+\.svg)\)/g, (_, group, name) => {
  files.set(name, readFileSync(join(dsfr, 'icons', group, name)));
  return `url(${name})`;
});
if (/url\(\.\./.test(css)) throw new Error('une url() relative subsiste dans la CSS');
files.set('dsfr.min.css', Buffer.from(css));
for (const f of FONTS) files.set(`${f}.woff2`, readFileSync(join(dsfr, 'fonts', `${f}.woff2`)));
files.set('dsfr.module.min.js', readFileSync(join(dsfr, 'core/core.module.min.js')));
files.set('favicon.svg', readFileSync(join(dsfr, 'favicon/favicon.svg')));
// Each page loads one script (a module): common.js, the helpers of both pages, goes in front of
// each page script in the same file, and is not shipped alone. Each result must parse (a name
// declared in both would not).
const COMMON = 'common.js';
const common = readFileSync(join(here, 'src', COMMON), 'utf8');
for (const f of readdirSync(join(here, 'src'))) {
  if (f === COMMON) continue;
  const src = readFileSync(join(here, 'src', f));
  if (!f.endsWith('.js')) { files.set(f, src); continue; }
  const js = `// web/src/${COMMON}, then web/src/${f} (built by web/build.mjs).\n${common}\n${src}`;
  const check = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: js, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`${f} avec ${COMMON} ne se compile pas :\n${check.stderr}`);
  files.set(f, Buffer.from(js));
}

const TYPES = {
  css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml',
  woff2: 'font/woff2',
};
const names = [...files.keys()].sort();
const h = createHash('sha256');
for (const n of names) h.update(n).update('\0').update(files.get(n)).update('\0');
const version = h.digest('hex').slice(0, 12);

const entries = [];
let total = 0;
for (const n of names) {
  const ext = n.split('.').pop();
  if (!TYPES[ext]) throw new Error(`type inconnu : ${n}`);
  const raw = files.get(n);
  writeFileSync(join(dist, n), raw);
  let gz = null;
  if (ext !== 'woff2') {
    const z = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION, mtime: 0 });
    if (z.length < raw.length * 0.9) { writeFileSync(join(dist, `${n}.gz`), z); gz = `${n}.gz`; }
  }
  total += raw.length;
  entries.push({ n, type: TYPES[ext], gz });
}

const rs = `//! Generated by web/build.mjs from web/dist/: do not edit.
use super::Asset;

/// Changes whenever any asset changes: part of every asset URL, so they can be cached forever.
pub const VERSION: &str = "${version}";

#[rustfmt::skip]
pub static FILES: &[Asset] = &[
${entries.map((e) => `    Asset {
        name: "${e.n}",
        content_type: "${e.type}",
        raw: include_bytes!("../../../web/dist/${e.n}"),
        gzip: ${e.gz ? `Some(include_bytes!("../../../web/dist/${e.gz}"))` : 'None'},
    },`).join('\n')}
];
`;
writeFileSync(join(root, 'src/http/pages/assets.rs'), rs);
console.log(`web/dist : ${entries.length} fichiers, ${total} octets, version ${version}`);
