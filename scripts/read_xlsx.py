"""Reads an XLSX export as a spreadsheet user's tool would (openpyxl, PyPI) and prints its
sheets as JSON: {"feuilles": [{"nom", "lignes": [[cell…]…], "filtre", "figee"}]}.

    .venv/bin/python scripts/read_xlsx.py export.xlsx

Used by the Rust integration tests (tests/api/instructeur.rs) to check the instructeur's
export with a reader we did not write. Exits 1 with the reader's error when the file does not
open.
"""
import json
import sys

import openpyxl


def main(path):
    try:
        book = openpyxl.load_workbook(path, read_only=False)
    except Exception as e:  # noqa: BLE001 - any reader error means the file does not open
        print(f"illisible : {type(e).__name__}: {e}")
        return 1
    sheets = []
    for ws in book.worksheets:
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        types = sorted({c.data_type for row in ws.iter_rows() for c in row if c.value is not None})
        sheets.append({
            "nom": ws.title,
            "lignes": rows,
            "types": types,
            "filtre": ws.auto_filter.ref,
            "figee": ws.freeze_panes,
        })
    print(json.dumps({"feuilles": sheets}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
