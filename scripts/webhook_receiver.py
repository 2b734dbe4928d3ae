#!/usr/bin/env python3
"""The ENT editor's side of the webhook, with the `standardwebhooks` library (PyPI): a peer we
did not write verifies what notify-editor sends.

  .venv/bin/python scripts/webhook_receiver.py --port 9300 --secret whsec_…
      a local receiving editor for `make run` (WEBHOOK_URL=http://127.0.0.1:9300/): prints each
      verified event, answers 204; a wrong or stale signature answers 401.
  .venv/bin/python scripts/webhook_receiver.py --verifier
      reads {"secret", "headers", "body"} on stdin, prints the verified event's type and exits 0,
      or says why it is refused and exits 1 (the Rust tests call it).
"""
import argparse
import http.server
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verify(secret: str, headers: dict, body: str) -> dict:
    """The event, if the library accepts the signature (it also refuses a timestamp more than
    five minutes away)."""
    return Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--verifier", action="store_true")
    p.add_argument("--port", type=int, default=9300)
    p.add_argument("--secret")
    a = p.parse_args()
    if a.verifier:
        req = json.load(sys.stdin)
        try:
            event = verify(req["secret"], req["headers"], req["body"])
        except WebhookVerificationError as e:
            print(f"refusé : {e}")
            return 1
        print(f"vérifié : {event['type']}")
        return 0
    if not a.secret:
        p.error("--secret whsec_… (le WEBHOOK_SECRET de la pile)")

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
            print(f"{event['type']} {self.headers['webhook-id']} : {d['numero']} — écoles {ecoles}", flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    print(f"éditeur ENT local sur http://127.0.0.1:{a.port}/ (Ctrl-C pour arrêter)", flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Editor).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
