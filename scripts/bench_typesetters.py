#!/usr/bin/env python3
"""Typesets the same conventions as `bench-convention` with Typst and WeasyPrint, in the same
run, and prints their times beside ours with the ratios.

Input: target/bench-convention/data-<n>.json (written by the Rust benchmark) and the same
convention template (templates/convention/<version>.j2, rendered here with Jinja2, which reads
minijinja's syntax), so the three engines lay out the same words and the same annex.
"""
import html, json, pathlib, re, statistics, sys, time

import jinja2, typst, weasyprint

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench-convention"


def blocks(filled):
    out = []
    for block in filled.split("\n\n"):
        cur = []
        for line in (l.strip() for l in block.splitlines()):
            if line.startswith("# ") or line.startswith("## "):
                if cur:
                    out.append("\n".join(cur)); cur = []
                out.append(line)
            elif line:
                cur.append(line)
        if cur:
            out.append("\n".join(cur))
    return out


def signature_lines(d):
    s = d["signataire"]
    return [
        f"Signé électroniquement par {s['prenom']} {s['nom'].upper()}, {s['qualite']}, le 28 novembre 2026 à 21 h 14 (heure de Paris).",
        "« J’approuve le projet de convention tel qu’il m’est présenté avec les éléments qui sont indiqués dans ce formulaire : en particulier les coordonnées du signataire et les écoles concernées. J’accepte, reconnais et signe par la présente cette convention. »",
        f"Dossier n° {d['numero']} — texte de la convention, version {d['version_texte']}",
        f"Empreinte SHA-256 du contenu approuvé : {d['signature']['sha256']}",
        f"Adresse du signataire ({d['signature']['email_confirme']}) confirmée par un code à usage unique le 28 novembre 2026 à 21 h 11 (heure de Paris).",
        f"Code de vérification : {d['code_verification']}",
        f"Authenticité vérifiable à l’adresse : {d['url_verification']}",
    ]


def typst_escape(s):
    return re.sub(r'([\\#$*_`<>@\[\]~"/])', r"\\\1", s)


def to_typst(d, parts):
    src = ['#set document(title: [Convention ' + typst_escape(d["numero"]) + '])',
           '#set page(paper: "a4", margin: (x: 20mm, top: 18mm, bottom: 20mm), footer: context [#set text(8pt); #h(1fr) Convention ' + typst_escape(d["numero"]) + ' — page #counter(page).display() / #counter(page).final().first()])',
           '#set text(font: "Liberation Sans", size: 10pt, lang: "fr")', '#set par(justify: false)']
    for b in parts:
        if b == "[[saut_de_page]]":
            src.append("#pagebreak()")
        elif b == "[[signature]]":
            src += [typst_escape(l) + "\n" for l in signature_lines(d)]
        elif b == "[[annexe_ecoles]]":
            cells = ", ".join(f"[{typst_escape(e['uai'])}], [{typst_escape(e['nom'])}], [{typst_escape(e['commune'])}]" for e in d["ecoles"])
            src.append(f"#table(columns: (2fr, 6fr, 4fr), table.header([*UAI*], [*École*], [*Commune*]), {cells})")
        elif b.startswith("# "):
            src.append("#align(center)[#text(15pt, weight: \"bold\")[" + typst_escape(b[2:]) + "]]")
        elif b.startswith("## "):
            src.append("#text(12pt, weight: \"bold\")[" + typst_escape(b[3:]) + "]")
        elif all(l.startswith("- ") for l in b.splitlines()):
            src += ["- " + typst_escape(l[2:]) for l in b.splitlines()]
        else:
            src.append(typst_escape(" ".join(b.split())).replace("\\*\\*", "*"))
        src.append("")
    return "\n".join(src)


def to_html(d, parts):
    h = ["<!DOCTYPE html><html lang=fr><head><meta charset=utf-8><style>@page{size:A4;margin:18mm 20mm 20mm;"
         "@bottom-right{content:'Convention " + d["numero"] + " — page ' counter(page) ' / ' counter(pages);font-size:8pt}}"
         "body{font-family:'Liberation Sans',Helvetica,sans-serif;font-size:10pt}table{border-collapse:collapse;width:100%}"
         "td,th{border:1px solid #000;padding:1mm 1.5mm;text-align:left}thead{display:table-header-group}</style></head><body>"]
    for b in parts:
        if b == "[[saut_de_page]]":
            h.append('<div style="page-break-after:always"></div>')
        elif b == "[[signature]]":
            h += [f"<p>{html.escape(l)}</p>" for l in signature_lines(d)]
        elif b == "[[annexe_ecoles]]":
            rows = "".join(f"<tr><td>{html.escape(e['uai'])}</td><td>{html.escape(e['nom'])}</td><td>{html.escape(e['commune'])}</td></tr>" for e in d["ecoles"])
            h.append(f"<table><thead><tr><th>UAI</th><th>École</th><th>Commune</th></tr></thead><tbody>{rows}</tbody></table>")
        elif b.startswith("# "):
            h.append(f"<h1 style='text-align:center;font-size:15pt'>{html.escape(b[2:])}</h1>")
        elif b.startswith("## "):
            h.append(f"<h2 style='font-size:12pt'>{html.escape(b[3:])}</h2>")
        elif all(l.startswith("- ") for l in b.splitlines()):
            h.append("<ul>" + "".join(f"<li>{html.escape(l[2:])}</li>" for l in b.splitlines()) + "</ul>")
        else:
            h.append("<p>" + re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(" ".join(b.split()))) + "</p>")
    return "".join(h) + "</body></html>"


def timed(fn, runs):
    out = fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(round((len(times) - 1) * 0.95))], len(out)


def main():
    ours = {}
    for line in sys.stdin if not sys.stdin.isatty() else []:
        m = re.match(r"\| genpdf \(ce projet\) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", line)
        if m:
            ours[int(m.group(1))] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
        print(line, end="")
    env = jinja2.Environment(trim_blocks=True)
    for data_file in sorted(OUT.glob("data-*.json"), key=lambda p: int(p.stem.split("-")[1])):
        d = json.loads(data_file.read_text())
        n = len(d["ecoles"])
        filled = env.from_string((ROOT / "templates" / "convention" / f"{d['version_texte']}.j2").read_text()).render(**d)
        parts = blocks(filled)
        src = to_typst(d, parts).encode()
        (OUT / f"typst-{n}.typ").write_bytes(src)
        page = to_html(d, parts)
        runs = 10 if n <= 10 else 5
        # The same standards as ours: PDF/A-2b and PDF/UA-1 (Typst tags and embeds itself).
        t50, t95, tsize = timed(lambda: typst.compile(src, font_paths=[str(ROOT / "data" / "fonts")], pdf_standards=["a-2b", "ua-1"]), runs)
        w50, w95, wsize = timed(lambda: weasyprint.HTML(string=page).write_pdf(), runs)
        print(f"| Typst {typst.__version__} (PDF/A-2b + UA-1) | {n} | {t50:.2f} | {t95:.2f} | {tsize / 1024:.1f} |")
        print(f"| WeasyPrint {weasyprint.__version__} | {n} | {w50:.2f} | {w95:.2f} | {wsize / 1024:.1f} |")
        if n in ours:
            g = ours[n][0]
            print(f"| → genpdf plus rapide que Typst ×{t50 / g:.1f}, que WeasyPrint ×{w50 / g:.1f} | {n} | | | |")


if __name__ == "__main__":
    main()
