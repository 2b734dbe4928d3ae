#!/usr/bin/env python3
"""The ENT editor's side of the webhook, with the `standardwebhooks` library (PyPI): a peer we
did not write verifies what notify-editor sends, and signs its answer.

  .venv/bin/python scripts/webhook_receiver.py --port 9300 --secret whsec_… [--repondre]
      a local receiving editor for `make run` (WEBHOOK_URL=http://127.0.0.1:9300/): prints each
      verified event, answers 204; a wrong or stale signature answers 401. With --repondre, it
      then answers the académie as an editor would: POST /api/editeur/ecoles on the local stack
      (--api, default http://127.0.0.1:$API_PORT/api), every school of the event `ouverte`
      today, signed by the library with --secret-reponse (default: $EDITOR_ANSWER_SECRET).
  .venv/bin/python scripts/webhook_receiver.py --editeur ent-armor [--repondre]
      the same for one editor of EDITEURS_CONFIG (the JSON or its file, as for the stack): its
      webhook_url's port, its webhook_secret and answer_secret.
  .venv/bin/python scripts/webhook_receiver.py --verifier
      reads {"secret", "headers", "body"} on stdin, prints the verified event's type and exits 0,
      or says why it is refused and exits 1 (the Rust tests call it).
  .venv/bin/python scripts/webhook_receiver.py --signer
      reads {"secret", "id", "body"[, "timestamp"]} on stdin, prints the Standard Webhooks
      headers the library makes for it, as JSON (the Rust tests sign the editor's answer so).
"""
import argparse
import datetime
import http.server
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verify(secret: str, headers: dict, body: str) -> dict:
    """The event, if the library accepts the signature (it also refuses a timestamp more than
    five minutes away)."""
    return Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})


def signed_headers(secret: str, msg_id: str, body: str, timestamp: datetime.datetime) -> dict:
    """The three Standard Webhooks headers of a message, as the library signs it."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, timestamp, body),
    }


def answer(api: str, secret: str, event: dict) -> None:
    """The editor's answer to an event: every school open today, signed, POSTed."""
    today = datetime.date.today().isoformat()
    ecoles = [{"uai": e["uai"], "etat": "ouverte", "le": today} for e in event["data"].get("ecoles", [])]
    body = json.dumps({"ecoles": ecoles}, ensure_ascii=False)
    headers = signed_headers(secret, f"msg_{uuid.uuid4().hex}", body, datetime.datetime.now(datetime.timezone.utc))
    headers["content-type"] = "application/json"
    req = urllib.request.Request(f"{api}/editeur/ecoles", data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(f"  réponse envoyée : {resp.status} {resp.read().decode()}", flush=True)
    except urllib.error.HTTPError as e:
        print(f"  réponse refusée : {e.code} {e.read().decode()}", flush=True)
    except OSError as e:
        print(f"  réponse non envoyée : {e}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--verifier", action="store_true")
    p.add_argument("--signer", action="store_true")
    p.add_argument("--port", type=int, default=9300)
    p.add_argument("--secret")
    p.add_argument("--repondre", action="store_true", help="answer each event: its schools open today")
    p.add_argument("--secret-reponse", default=os.environ.get("EDITOR_ANSWER_SECRET"))
    p.add_argument("--api", default=f"http://127.0.0.1:{os.environ.get('API_PORT', '9000')}/api")
    p.add_argument("--editeur", help="an editor of EDITEURS_CONFIG: its port and secrets")
    a = p.parse_args()
    if a.editeur:
        source = os.environ.get("EDITEURS_CONFIG", "").strip()
        if not source:
            p.error("--editeur : EDITEURS_CONFIG est vide (le JSON des éditeurs, ou le chemin de son fichier)")
        editeurs = json.loads(source if source.startswith("{") else open(source, encoding="utf-8").read())
        if a.editeur not in editeurs:
            p.error(f"--editeur : « {a.editeur} » n'est pas dans EDITEURS_CONFIG ({', '.join(editeurs)})")
        e = editeurs[a.editeur]
        if not e.get("webhook_url"):
            p.error(f"--editeur : {a.editeur} n'a pas de webhook_url")
        a.port = urllib.parse.urlsplit(e["webhook_url"]).port or 80
        a.secret = e.get("webhook_secret")
        a.secret_reponse = e.get("answer_secret")
    if a.verifier:
        req = json.load(sys.stdin)
        try:
            event = verify(req["secret"], req["headers"], req["body"])
        except WebhookVerificationError as e:
            print(f"refusé : {e}")
            return 1
        print(f"vérifié : {event['type']}")
        return 0
    if a.signer:
        req = json.load(sys.stdin)
        ts = req.get("timestamp")
        when = (datetime.datetime.fromtimestamp(ts, datetime.timezone.utc) if ts is not None
                else datetime.datetime.now(datetime.timezone.utc))
        print(json.dumps(signed_headers(req["secret"], req["id"], req["body"], when)))
        return 0
    if not a.secret:
        p.error("--secret whsec_… (le WEBHOOK_SECRET de la pile)")
    if a.repondre and not a.secret_reponse:
        p.error("--repondre : --secret-reponse whsec_… (l'EDITOR_ANSWER_SECRET de la pile)")

    class Editor(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            try:
                event = verify(a.secret, dict(self.headers), body)
            except WebhookVerificationError as e:
                print(f"refusé : {e}", flush=True)
                self.send_response(401)
                self.end_headers()
                return
            d = event["data"]
            ecoles = ", ".join(e["uai"] for e in d.get("ecoles", []))
            print(f"{event['type']} {d.get('evenement_id', self.headers['webhook-id'])} : {d['numero']} — écoles {ecoles}",
                  flush=True)
            self.send_response(204)
            self.end_headers()
            self.wfile.flush()
            if a.repondre:
                answer(a.api, a.secret_reponse, event)

        def log_message(self, *args):
            pass

    print(f"éditeur ENT local sur http://127.0.0.1:{a.port}/ (Ctrl-C pour arrêter)"
          + (f", répond à {a.api}/editeur/ecoles" if a.repondre else ""), flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Editor).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
