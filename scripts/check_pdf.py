"""PDF/A and PDF/UA conformance of convention PDFs, by an independent validator (PyPI
`page-validation`, whose rules pass the veraPDF corpus): prints each failed rule and exits 1
when a file is not conformant to a profile asked for.

    .venv/bin/python scripts/check_pdf.py [--profile 2b --profile ua1] file.pdf…
"""
import argparse
import sys

import page


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="append", choices=["2b", "2a", "2u", "1b", "ua1"])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    profiles = args.profile or ["2b", "ua1"]
    failed = False
    for path in args.files:
        data = open(path, "rb").read()
        for name in profiles:
            report = page.validate_pdf_bytes(data, profile=name)
            rules = report.rules
            status = "conforme" if report.is_compliant else "NON CONFORME"
            print(f"{path} : {report.profile.name} {status} ({rules.passed}/{rules.total} règles)")
            if not report.is_compliant:
                failed = True
                seen = set()
                for f in report.failures:
                    key = (f.rule_id, f.message)
                    if key in seen:
                        continue
                    seen.add(key)
                    obj = f" (objet {f.object_id.object_number})" if f.object_id else ""
                    print(f"  [{f.rule_id}] {f.message}{obj}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
