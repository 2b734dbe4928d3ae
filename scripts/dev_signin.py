#!/usr/bin/env python3
"""Local sign-in for the instructeur pages (`make run`, browser tests): the three endpoints of
Cognito's hosted pages that the page uses, so that the local stack signs in the way AWS does.

    GET  /oauth2/authorize   response_type=code, client_id, redirect_uri, state,
                             code_challenge (S256): a sign-in form, then a redirect with ?code&state
    POST /oauth2/token       grant_type=authorization_code, client_id, code, redirect_uri,
                             code_verifier: {"id_token", "access_token", "refresh_token", …};
                             grant_type=refresh_token, client_id, refresh_token: new id/access
    POST /oauth2/revoke      token, client_id: the refresh token no longer works
    GET  /logout             client_id, logout_uri: back to logout_uri

The ID token is signed HS256 with DEV_JWT_SECRET, the local key instructeur-api accepts on the
local stack only (on AWS: Cognito's RS256 tokens, checked by the HTTP API's authorizer). Codes
are single-use and live 5 minutes; the verifier must match the challenge; redirect URIs must be
`http://127.0.0.1:<port>/instructeur` or `http://localhost:<port>/instructeur`. No password: this
is a development stand-in, never deployed.

    DEV_JWT_SECRET=… python3 scripts/dev_signin.py --port 9100 --client-id espace-instructeur-local
"""
import argparse
import base64
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIRECT = re.compile(r"http://(127\.0\.0\.1|localhost):\d+/instructeur")
CODE_TTL = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims: dict, secret: bytes) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Connexion (pile locale)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
label,select,input,button{{display:block;margin:.5rem 0;font-size:1rem}}input,select{{width:100%;padding:.4rem}}
button{{padding:.5rem 1rem}}</style></head>
<body><main><h1>Connexion des instructeurs (pile locale)</h1>
<p>Remplace la page de connexion Cognito de l’académie sur cette machine. Aucun mot de passe :
le jeton émis n’est accepté que par la pile locale.</p>
<form method="post" action="/login">
<input type="hidden" name="request" value="{request}">
<label for="email">Adresse électronique</label>
<input id="email" name="email" type="email" value="instructrice@ac-local.fr" required>
<label for="groupe">Groupe</label>
<select id="groupe" name="groupe">{options}
<option value="">aucun (compte hors du groupe)</option></select>
<button type="submit">Se connecter</button>
<button type="submit" name="refuser" value="1">Annuler</button>
</form></main></body></html>"""


class SignIn:
    def __init__(self, secret: bytes, client_id: str, origin: str):
        self.secret, self.client_id, self.origin = secret, client_id, origin
        self.codes = {}  # code → (request, email, groups, created)
        self.refresh = {}  # refresh token → (email, groups)
        self.lock = threading.Lock()

    def issue_code(self, request: dict, email: str, groups: list) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = (request, email, groups, time.time())
        return code

    def redeem(self, form: dict):
        """(status, JSON body), Cognito's error names."""
        if form.get("grant_type") not in ("authorization_code", "refresh_token"):
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id:
            return 400, {"error": "invalid_client"}
        if form["grant_type"] == "refresh_token":
            with self.lock:
                who = self.refresh.get(form.get("refresh_token", ""))
            if who is None:
                return 400, {"error": "invalid_grant"}
            return 200, self.tokens(*who)
        with self.lock:
            entry = self.codes.pop(form.get("code", ""), None)  # single use, even when refused
        if entry is None or time.time() - entry[3] > CODE_TTL:
            return 400, {"error": "invalid_grant"}
        request, email, groups, _ = entry
        if form.get("redirect_uri") != request["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if not hmac.compare_digest(challenge, request["code_challenge"]):
            return 400, {"error": "invalid_grant"}
        refresh = secrets.token_urlsafe(32)
        with self.lock:
            self.refresh[refresh] = (email, groups)
        return 200, dict(self.tokens(email, groups), refresh_token=refresh)

    def revoke(self, form: dict):
        if form.get("client_id") != self.client_id:
            return 400, {"error": "invalid_client"}
        with self.lock:
            self.refresh.pop(form.get("token", ""), None)
        return 200, {}

    def tokens(self, email: str, groups: list) -> dict:
        now = int(time.time())
        sub = hashlib.sha256(email.encode()).hexdigest()[:32]
        claims = {"sub": sub, "email": email, "email_verified": True, "cognito:groups": groups,
                  "aud": self.client_id, "iss": self.origin, "token_use": "id", "auth_time": now,
                  "iat": now, "exp": now + 3600}
        access = dict(claims, token_use="access", client_id=self.client_id)
        access.pop("aud")
        return {"id_token": sign(claims, self.secret), "access_token": sign(access, self.secret),
                "expires_in": 3600, "token_type": "Bearer"}


def departements() -> list:
    """The département codes of the académie `make run` serves: ACADEMIE_CONFIG (the JSON, or
    the path of its file), else ACADEMIE_DEPARTEMENT (flat variables)."""
    config = os.environ.get("ACADEMIE_CONFIG", "").strip()
    if config:
        text = config if config.startswith("{") else open(config, encoding="utf-8").read()
        return sorted(json.loads(text).get("departements", {}))
    code = os.environ.get("ACADEMIE_DEPARTEMENT", "").strip()
    return [code] if code else []


def group_options() -> str:
    """Both kinds of accounts: the whole académie, or one département (instructeurs-<code>)."""
    options = ['<option value="instructeurs">instructeurs (toute l’académie)</option>']
    options += [f'<option value="instructeurs-{html.escape(c)}">instructeurs-{html.escape(c)} '
                f'(département {html.escape(c)} seulement)</option>' for c in departements()]
    return "\n".join(options)


def handler_for(signin: SignIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # one line per request, to the log file
            print(f"[signin] {self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}",
                  flush=True)

        def send(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=()):
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def cors(self):
            origin = self.headers.get("origin", "")
            return [("access-control-allow-origin", origin), ("vary", "origin")] \
                if re.fullmatch(r"http://(127\.0\.0\.1|localhost):\d+", origin) else []

        def do_OPTIONS(self):
            self.send(204, headers=self.cors() + [("access-control-allow-methods", "POST"),
                                                  ("access-control-allow-headers", "content-type")])

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/oauth2/authorize":
                problems = [k for k, ok in [
                    ("response_type", q.get("response_type") == "code"),
                    ("client_id", q.get("client_id") == signin.client_id),
                    ("redirect_uri", REDIRECT.fullmatch(q.get("redirect_uri", "")) is not None),
                    ("code_challenge", len(q.get("code_challenge", "")) >= 43),
                    ("code_challenge_method", q.get("code_challenge_method") == "S256"),
                    ("state", bool(q.get("state"))),
                ] if not ok]
                if problems:
                    return self.send(400, f"Demande de connexion invalide : {', '.join(problems)}".encode())
                request = b64url(json.dumps(q).encode())
                page = PAGE.format(request=html.escape(request), options=group_options())
                return self.send(200, page.encode(), "text/html; charset=utf-8")
            if url.path == "/logout":
                if q.get("client_id") != signin.client_id or not REDIRECT.fullmatch(q.get("logout_uri", "")):
                    return self.send(400, b"Deconnexion invalide")
                return self.send(302, headers=[("location", q["logout_uri"])])
            self.send(404, b"introuvable")

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            path = urllib.parse.urlsplit(self.path).path
            if path == "/login":
                try:
                    request = json.loads(base64.urlsafe_b64decode(form["request"] + "=="))
                    if not (REDIRECT.fullmatch(request["redirect_uri"]) and request["state"]):
                        raise ValueError
                except (KeyError, ValueError, TypeError):
                    return self.send(400, b"Demande de connexion invalide")
                back = {"state": request["state"]}
                if form.get("refuser"):
                    back["error"] = "access_denied"
                else:
                    groups = [form["groupe"]] if form.get("groupe") else []
                    back["code"] = signin.issue_code(request, form.get("email", ""), groups)
                location = f"{request['redirect_uri']}?{urllib.parse.urlencode(back)}"
                return self.send(302, headers=[("location", location)])
            if path in ("/oauth2/token", "/oauth2/revoke"):
                status, body = (signin.redeem if path == "/oauth2/token" else signin.revoke)(form)
                return self.send(status, json.dumps(body).encode(), "application/json", self.cors())
            self.send(404, b"introuvable")

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--client-id", required=True)
    args = p.parse_args()
    secret = os.environ["DEV_JWT_SECRET"].encode()
    origin = f"http://127.0.0.1:{args.port}"
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(SignIn(secret, args.client_id, origin)))
    print(f"[signin] {origin} (client {args.client_id})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
