"""The académie's seal on convention PDFs, as two validators we did not write see it: poppler's
`pdfsig` (the certificate trusted in a throw-away NSS database; pdfsig exits 0 even on a
digest mismatch, so its words are read) and pyHanko (PAdES, the certificate as trust root).
Prints both verdicts per file; exits 1 unless both say the seal is valid and trusted.

    .venv/bin/python scripts/check_seal.py certificat.pem convention.pdf…
"""
import base64
import subprocess
import sys
import tempfile

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def pdfsig(nss: str, path: str) -> tuple[bool, str]:
    out = subprocess.run(["pdfsig", "-nssdir", nss, path], capture_output=True, text=True)
    text = out.stdout + out.stderr
    ok = (
        "Signature Validation: Signature is Valid." in text
        and "Certificate Validation: Certificate is Trusted." in text
        and "Signature Type: ETSI.CAdES.detached" in text
        and "Total document signed" in text
    )
    return ok, text


def pyhanko(certs, path: str) -> tuple[bool, str]:
    with open(path, "rb") as f:
        reader = PdfFileReader(f, strict=False)
        sigs = reader.embedded_signatures
        if len(sigs) != 1:
            return False, f"{len(sigs)} signature(s) au lieu d’une"
        context = ValidationContext(trust_roots=list(certs))
        status = validate_pdf_signature(sigs[0], context)
        ok = status.bottom_line and status.coverage.name == "ENTIRE_FILE"
        return ok, status.pretty_print_details()


def main() -> int:
    cert, files = sys.argv[1], sys.argv[2:]
    certs = list(load_certs_from_pemder([cert]))
    failed = False
    with tempfile.TemporaryDirectory() as nss:
        subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
        for i, c in enumerate(certs):
            pem = f"{nss}/c{i}.pem"
            with open(pem, "wb") as f:
                f.write(b"-----BEGIN CERTIFICATE-----\n")
                f.write(base64.encodebytes(c.dump()))
                f.write(b"-----END CERTIFICATE-----\n")
            subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", f"sceau{i}", "-t", "CT,C,C", "-i", pem], check=True)
        for path in files:
            for name, check in (("pdfsig", pdfsig), ("pyHanko", pyhanko)):
                try:
                    ok, detail = check(nss if name == "pdfsig" else certs, path)
                except Exception as e:  # a file the validator cannot read has no valid seal
                    ok, detail = False, f"{type(e).__name__}: {e}"
                print(f"{path} : {name} : {'sceau valide' if ok else 'SCEAU INVALIDE'}")
                if not ok:
                    failed = True
                    print("  " + detail.strip().replace("\n", "\n  "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
