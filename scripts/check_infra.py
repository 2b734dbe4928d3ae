#!/usr/bin/env python3
"""Offline checks of infra/template.yaml, run by `make test` (scripts/test.sh).

Nobody deploys from this machine, so everything that can be checked without AWS is checked here:

1. cfn-lint: no error, and no warning that is not listed (with its reason) in LINT_WARNINGS_ALLOWED;
2. the template translates with aws-sam-translator (CodeUri replaced by an S3 URI, as
   `sam package` does);
3. IAM: no Allow statement grants `Action: "*"` (or `service:*`) or `Resource: "*"`, except the
   actions of STAR_RESOURCE_REQUIRED (AWS offers no resource-level permission for them); no
   managed policy; every Lambda permission names its source;
4. one source of names: per function, the environment variables the template sets equal the ones
   its Rust code reads (found by scanning the sources, `env::var("X")` and wrappers such as
   `required("X")`), apart from the EXEMPT_READS listed below with their reason;
5. the local stack: `admin setup-local` (what `make run` does) run against moto with the names the
   template gives for stack `conventions-ent-local`, then its table (keys, attributes, indexes,
   stream), bucket, seal key (alias) and seal certificate (parameter) compared with the
   template; scripts/env.sh's defaults compared too;
6. the rest of the issue's requirements (architecture, encryption, failure paths, alarms, log
   retention, CORS, throttling, authorizer, SES, parameters, routes of CargoLambda.toml), and the
   seal's key (P-256 for signing, kms:Sign for generate-convention's role only) and certificate
   parameter (read by the two functions that need it);
7. the firewall: infra/waf-us-east-1.yaml linted for us-east-1, its per-IP limits (IP key, AWS
   WAF's bounds, 429 problem, the POST routes they target) and common rules (bodies up to
   MAX_BODY not blocked), and the main template's CloudFront distribution carrying it, with the
   execute-api address disabled.

Uses the moto server of `make test` (MOTO_ENDPOINT); run alone, it starts one on a free port and
stops it. Prints one line per check; exits 1 when any fails.

    .venv/bin/python scripts/check_infra.py                       # every check
    .venv/bin/python scripts/check_infra.py --print-architecture  # for scripts/package.sh
    .venv/bin/python scripts/check_infra.py --print-functions     # binaries, one a line
    .venv/bin/python scripts/check_infra.py --template other.yaml # check another template
"""
import copy
import json
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
VENV_BIN = Path(sys.executable).parent
LOCAL_STACK = "conventions-ent-local"  # scripts/env.sh
LOCAL_ACCOUNT = "123456789012"  # moto's account id
LOCAL_REGION = "eu-west-3"
LINT_REGIONS = ["eu-west-3"]  # Paris: where an académie deploys
WAF_TEMPLATE = ROOT / "infra" / "waf-us-east-1.yaml"
WAF_REGIONS = ["us-east-1"]  # the only region where a CLOUDFRONT-scope web ACL can be created
# What the web ACL must limit per client IP, as (positional constraint, search string) of the
# URI path in a rate rule's scope-down statement, all on POST.
WAF_LIMITED = {
    ("EXACTLY", "/api/dossiers"): "création de brouillon",
    ("ENDS_WITH", "/signataire/code"): "envoi d'un code au signataire",
    ("ENDS_WITH", "/messages"): "message de la collectivité",
}
# Limited before their route is in infra/template.yaml, and why (reported, not failed).
WAF_ROUTES_PENDING = {
    "/signataire/code": "POST /api/dossiers/{id}/signataire/code, ajoutée en parallèle (issue « A signature "
    "that proves who signed »)",
}

# Variables a function reads that the template must NOT set, and why.
EXEMPT_READS = {
    **{v: f"local value only (make run, make test); on AWS the function reads the secret from Secrets "
       f"Manager at cold start, by the name the template gives in {v}_ID (src/secrets.rs)"
       for v in ["LINK_SECRET", "ORIGIN_SECRET", "WEBHOOK_SECRET", "EDITOR_ANSWER_SECRET", "EDITEURS_CONFIG"]},
    "DEV_JWT_SECRET": "local stack only: key of `make instructeur-token` dev tokens; never set on AWS, "
    "where the HTTP API's Cognito JWT authorizer validates instructeur tokens",
    "AWS_ENDPOINT_URL": "local emulator only (make run / make test point the SDK at moto); "
    "unset on AWS, where the SDK uses the real endpoints",
    "AWS_LAMBDA_FUNCTION_NAME": "set by the Lambda runtime itself (the code uses it to choose JSON logs)",
    "FONTTOOLS_PYTHON": "unit tests only (src/render/font.rs, the fontTools check of the font subsets); "
    "no function reads it",
    "RUST_LOG": "optional log filter read by tracing's EnvFilter, default `info`; set it on one "
    "function by hand to debug, never in the template",
}

# Actions that AWS only grants on Resource "*" (no resource-level permission exists for them).
STAR_RESOURCE_REQUIRED = {
    "xray:PutTraceSegments": "X-Ray has no resource types for sending trace data: AWS's own policy "
    "AWSXRayDaemonWriteAccess grants it on *; needed by Tracing: Active",
    "xray:PutTelemetryRecords": "same as xray:PutTraceSegments",
}

# cfn-lint warnings accepted, by rule id, with the reason. Empty: the template has none.
LINT_WARNINGS_ALLOWED: dict[str, str] = {}

REQUIRED_PARAMETERS = {
    "AcademieNom": "nom de l'académie",
    "DasenNom": "IA-DASEN",
    "SenderEmail": "adresse d'expédition",
    "ContactEmail": "adresse de contact",
    "Domaine": "domaine du site",
}


# --------------------------------------------------------------------------- output
class Report:
    def __init__(self):
        self.failures = 0

    def section(self, title):
        print(f"\n== {title}")

    def ok(self, msg):
        print(f"  ✓ {msg}")

    def note(self, msg):
        print(f"  · {msg}")

    def fail(self, msg):
        self.failures += 1
        print(f"  ✗ {msg}")

    def check(self, cond, ok_msg, fail_msg=None):
        if cond:
            self.ok(ok_msg)
        else:
            self.fail(fail_msg or ok_msg)
        return cond


# --------------------------------------------------------------------------- template
class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags, turned into their long JSON form."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tag)


def load_template():
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def functions_of(tpl):
    """{logical id: resource} of the SAM functions, in template order."""
    return {k: r for k, r in tpl["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"}


def binary_of(res):
    return res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")


def architecture_of(tpl, res=None):
    arch = (res or {}).get("Properties", {}).get("Architectures") or \
        tpl.get("Globals", {}).get("Function", {}).get("Architectures") or ["x86_64"]
    return arch[0]


def sub(value, names):
    """Evaluates a Fn::Sub string whose variables are all in `names`."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    if not isinstance(value, str):
        raise ValueError(f"nom non calculable : {value!r}")

    def var(m):
        if m.group(1) not in names:
            raise ValueError(f"${{{m.group(1)}}} inconnu dans {value!r}")
        return names[m.group(1)]

    return re.sub(r"\$\{([^}!]+)\}", var, value)


def refs(obj):
    """Every logical id an object references (Ref, GetAtt, ${X} / ${X.Attr} in Sub)."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                out.add(v[0] if isinstance(v, list) else v.split(".")[0])
            elif k == "Fn::Sub":
                s = v[0] if isinstance(v, list) else v
                out |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", s)}
                if isinstance(v, list):
                    out |= refs(v[1])
            else:
                out |= refs(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= refs(v)
    return out


# --------------------------------------------------------------------------- tools
def pinned(package):
    for line in (ROOT / "scripts" / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.split("[")[0].strip().lower() == package:
            return version.strip()
    return None


def ensure_tools():
    """The venv predates these pins on some machines: install what requirements.txt pins."""
    from importlib.metadata import version, PackageNotFoundError

    stale = []
    for package in ("cfn-lint", "aws-sam-translator"):
        want = pinned(package)
        try:
            have = version(package)
        except PackageNotFoundError:
            have = None
        if want and have != want:
            stale.append(f"{package} {have or 'absent'} → {want}")
    if stale:
        print(f"installation dans .venv : {', '.join(stale)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-r", str(ROOT / "scripts" / "requirements.txt")], check=True)


# --------------------------------------------------------------------------- 1. cfn-lint
def check_lint(r, template=None, regions=None):
    template, regions = template or TEMPLATE, regions or LINT_REGIONS
    r.section(f"cfn-lint {template.name} (régions {', '.join(regions)})")
    out = subprocess.run([str(VENV_BIN / "cfn-lint"), "--format", "json", "--regions", *regions,
                          "--", str(template)], capture_output=True, text=True)
    try:
        matches = json.loads(out.stdout or "[]")
    except json.JSONDecodeError:
        r.fail(f"cfn-lint illisible (code {out.returncode}) : {out.stdout[:500]} {out.stderr[:500]}")
        return
    counts = {"Error": 0, "Warning": 0, "Informational": 0}
    for m in matches:
        level, rule = m.get("Level"), m["Rule"]["Id"]
        counts[level] = counts.get(level, 0) + 1
        where = f"ligne {m['Location']['Start']['LineNumber']}"
        if level == "Error":
            r.fail(f"{rule} {where} : {m['Message']}")
        elif level == "Warning" and rule not in LINT_WARNINGS_ALLOWED:
            r.fail(f"avertissement non justifié {rule} {where} : {m['Message']}")
        elif level == "Warning":
            r.note(f"avertissement admis {rule} {where} ({LINT_WARNINGS_ALLOWED[rule]})")
        else:
            r.note(f"{level} {rule} {where} : {m['Message']}")
    if out.returncode & 1:  # cfn-lint's exit code: 2 error, 4 warning, 8 information, 1 crash
        r.fail(f"cfn-lint a échoué (code {out.returncode}) : {out.stderr[:500]}")
    r.check(counts["Error"] == 0,
            f"{counts['Error']} erreur, {counts['Warning']} avertissement, "
            f"{counts['Informational']} information", f"cfn-lint : {counts['Error']} erreur(s)")


# --------------------------------------------------------------------------- 2. SAM translation
def translate(tpl, r):
    r.section("aws-sam-translator")
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    doc = copy.deepcopy(tpl)
    for name, res in functions_of(doc).items():
        res["Properties"]["CodeUri"] = f"s3://artefacts/{binary_of(res) or name}.zip"
    try:
        out = transform(doc, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            r.fail(f"traduction : {cause.message}")
        return None
    except Exception as e:  # noqa: BLE001 - any translator crash is a failed check
        r.fail(f"traduction : {type(e).__name__}: {e}")
        return None
    kinds = {}
    for res in out["Resources"].values():
        kinds[res["Type"]] = kinds.get(res["Type"], 0) + 1
    r.ok(f"traduit en {len(out['Resources'])} ressources CloudFormation "
         f"({kinds.get('AWS::Lambda::Function', 0)} fonctions, "
         f"{kinds.get('AWS::Lambda::EventSourceMapping', 0)} abonnements au flux, "
         f"{kinds.get('AWS::CloudWatch::Alarm', 0)} alarmes)")
    return out


# --------------------------------------------------------------------------- 3. IAM
def _as_list(v):
    return v if isinstance(v, list) else [v]


def policy_documents(cfn):
    """(where, document) of every IAM and resource policy of the translated template."""
    for name, res in cfn["Resources"].items():
        t, p = res["Type"], res.get("Properties", {})
        if t == "AWS::IAM::Role":
            for pol in p.get("Policies", []):
                yield f"{name}/{pol.get('PolicyName')}", pol["PolicyDocument"], "identity"
        elif t in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, p["PolicyDocument"], "identity"
        elif t in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield name, p["PolicyDocument"], "resource"


def check_policies(cfn, r):
    r.section("IAM : pas d'Action « * » ni de Resource « * » (sauf exigence d'AWS)")
    exceptions_used = {}
    statements = 0
    for name, res in cfn["Resources"].items():
        p = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role" and p.get("ManagedPolicyArns"):
            r.fail(f"{name} : politiques gérées {p['ManagedPolicyArns']} (droits non vérifiables ici, "
                   "souvent sur « * ») : écrire la politique en ligne")
        if res["Type"] == "AWS::Lambda::Permission" and "SourceArn" not in p:
            r.fail(f"{name} : permission d'invocation sans SourceArn")
    for where, doc, kind in policy_documents(cfn):
        for i, st in enumerate(_as_list(doc.get("Statement", []))):
            statements += 1
            label = f"{where} #{i + 1}" + (f" ({st['Sid']})" if st.get("Sid") else "")
            if st.get("Effect") == "Deny":
                if "*" in json.dumps(st):
                    r.note(f"{label} : « * » dans un Deny (il retire des droits : refus hors TLS)")
                continue
            for key in ("NotAction", "NotResource", "NotPrincipal"):
                if key in st:
                    r.fail(f"{label} : {key} dans un Allow accorde tout le reste")
            actions = _as_list(st.get("Action", []))
            for a in actions:
                if isinstance(a, str) and (a == "*" or a.endswith(":*")):
                    r.fail(f"{label} : Action {a!r}")
            if kind == "resource" and "*" in json.dumps(st.get("Principal", "")):
                r.fail(f"{label} : Allow à Principal « * »")
            resources = _as_list(st.get("Resource", []))
            if "*" in resources:
                unexplained = [a for a in actions if a not in STAR_RESOURCE_REQUIRED]
                if unexplained:
                    r.fail(f"{label} : Resource « * » pour {unexplained}")
                for a in actions:
                    if a in STAR_RESOURCE_REQUIRED:
                        exceptions_used.setdefault(a, []).append(where.split("/")[0])
    r.ok(f"{statements} déclarations examinées")
    for action, roles in sorted(exceptions_used.items()):
        r.note(f"exception admise : {action} sur « * » ({len(roles)} rôles) — {STAR_RESOURCE_REQUIRED[action]}")


# --------------------------------------------------------------------------- 4. env vars
def lex(src):
    """(code, masked): the Rust source with comments blanked out, and the same with the inside
    of every string literal replaced by NUL, at the same offsets. Patterns are matched on
    `masked` (so text inside strings or comments never counts), literals read from `code`."""
    code, masked, i, n = [], [], 0, len(src)

    def emit(text, mask_inside=None):
        code.append(text)
        if mask_inside is None:
            masked.append(text)
        else:
            a, b = mask_inside
            masked.append(text[:a] + "\0" * (len(text) - a - b) + text[len(text) - b:])

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            emit(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            emit(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', src[i:i + 10])) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            end = src.find('"' + m.group(1), i + m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            emit(src[i:end], (m.end(), 1 + len(m.group(1))))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            emit(src[i:j + 1], (1, 1))
            i = j + 1
        elif c == "'" and (m := re.match(r"'(\\(x..|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", src[i:i + 12])):
            emit(m.group(0), (1, 1))
            i += m.end()
        else:
            emit(c)
            i += 1
    return "".join(code), "".join(masked)


def _fn_spans(src):
    """[(name, first parameter, start, end)] of every fn with a body."""
    spans = []
    for m in re.finditer(r"\bfn\s+(\w+)\s*(?:<[^>{]*>)?\s*\(\s*(?:mut\s+)?(\w+)?", src):
        brace = src.find("{", m.end())
        semi = src.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue
        depth, j = 0, brace
        while j < len(src):
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            if depth == 0:
                break
            j += 1
        spans.append((m.group(1), m.group(2), brace, j))
    return spans


ENV_CALL = re.compile(r"\b(?:std::)?env::var(?:_os)?\s*\(\s*([^()]*?)\s*\)")
LITERAL = re.compile(r'"\0*"')


def env_reads(files):
    """{variable: [file:line]} the given Rust files read at run time, [problems], [wrappers]."""
    reads, problems, wrappers = {}, [], set()
    sources = {f: lex(f.read_text()) for f in files}

    def where(f, text, pos):
        return f"{f.relative_to(ROOT)}:{text.count(chr(10), 0, pos) + 1}"

    def add(name, f, text, pos):
        reads.setdefault(name, []).append(where(f, text, pos))

    for f, (code, masked) in sources.items():
        spans = _fn_spans(masked)
        for m in ENV_CALL.finditer(masked):
            arg = m.group(1)
            if LITERAL.fullmatch(arg):
                add(code[m.start(1) + 1:m.end(1) - 1], f, code, m.start())
                continue
            inner = [s for s in spans if s[2] <= m.start() <= s[3]]
            fn = min(inner, key=lambda s: s[3] - s[2]) if inner else None
            if fn and fn[1] == arg:
                wrappers.add(fn[0])  # fn name(arg: &str) { env::var(arg) … }: its calls are scanned
            else:
                problems.append(f"{where(f, code, m.start())} : {code[m.start():m.end()]} — "
                                "variable impossible à déterminer")
        for m in re.finditer(r"\benv::vars(?:_os)?\s*\(", masked):
            problems.append(f"{where(f, code, m.start())} : env::vars() lit tout l'environnement")
        for m in re.finditer(r"\bEnvFilter::(?:try_)?from_default_env\b", masked):
            add("RUST_LOG", f, code, m.start())
    # A wrapper of a wrapper (fn document(name) { optional(name) … }) is one too.
    grew = True
    while grew:
        grew = False
        for f, (code, masked) in sources.items():
            spans = _fn_spans(masked)
            for w in list(wrappers):
                for m in re.finditer(rf"(?<![\w.]){w}\s*\(\s*(\w+)\s*\)", masked):
                    inner = [s for s in spans if s[2] <= m.start() <= s[3]]
                    fn = min(inner, key=lambda s: s[3] - s[2]) if inner else None
                    if fn and fn[1] == m.group(1) and fn[0] not in wrappers:
                        wrappers.add(fn[0])
                        grew = True
    for f, (code, masked) in sources.items():
        for w in wrappers:
            for m in re.finditer(rf"(?<![\w.]){w}\s*\(\s*(\"\0*\")\s*\)", masked):
                add(code[m.start(1) + 1:m.end(1) - 1], f, code, m.start())
    return reads, problems, sorted(wrappers)


def rust_files(binary):
    files = sorted((ROOT / "functions" / binary / "src").rglob("*.rs"))
    files += [f for f in sorted((ROOT / "src").rglob("*.rs")) if "bin" not in f.relative_to(ROOT / "src").parts]
    return files


def check_env(tpl, cfn, r):
    r.section("Variables d'environnement : le modèle fixe exactement ce que le code lit")
    deployed = {k: v for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    for name, res in functions_of(tpl).items():
        binary = binary_of(res)
        if not binary or not (ROOT / "functions" / binary / "src").is_dir():
            r.fail(f"{name} : binaire {binary!r} introuvable sous functions/")
            continue
        env = set(deployed[name]["Properties"].get("Environment", {}).get("Variables", {}))
        reads, problems, wrappers = env_reads(rust_files(binary))
        for p in problems:
            r.fail(f"{binary} : {p}")
        read = set(reads)
        missing = sorted(read - env - set(EXEMPT_READS))
        unused = sorted(env - read)
        wrongly_set = sorted(env & set(EXEMPT_READS))
        for v in missing:
            r.fail(f"{binary} lit {v} ({', '.join(reads[v][:2])}) que le modèle ne fixe pas")
        for v in unused:
            r.fail(f"le modèle fixe {v} pour {binary}, que son code ne lit pas")
        for v in wrongly_set:
            r.fail(f"le modèle fixe {v} pour {binary} : {EXEMPT_READS[v]}")
        if not (missing or unused or wrongly_set or problems):
            exempt = sorted(read & set(EXEMPT_READS))
            r.ok(f"{binary} : {len(env)} variables, toutes lues "
                 f"(lectures trouvées via env::var et {', '.join(wrappers) or 'aucun enrobage'} ; "
                 f"non fixées à dessein : {', '.join(exempt) or 'aucune'})")
    for v, why in EXEMPT_READS.items():
        r.note(f"{v} : {why}")


# --------------------------------------------------------------------------- 5. local stack
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(url, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    return False


ENV_SH_NAMES = ["TABLE_NAME", "BUCKET_NAME", "SENDER_EMAIL", "SEAL_KEY_ID", "SEAL_CERTIFICATE_PARAMETER",
                "ACADEMIE_CONFIG"]


def env_sh_defaults():
    """The names `make run` uses: scripts/env.sh's defaults, with the overrides unset."""
    script = f"unset {' '.join(ENV_SH_NAMES)}; . scripts/env.sh; printf '%s\\n' " + \
        " ".join(f'"${n}"' for n in ENV_SH_NAMES)
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(zip(ENV_SH_NAMES, out.stdout.splitlines()))


def norm_table(t):
    """The parts of a table description both sides define, in a comparable form."""
    def keys(ks):
        return [(k["AttributeName"], k["KeyType"]) for k in ks]

    def projection(p):
        return (p.get("ProjectionType", "ALL"), tuple(sorted(p.get("NonKeyAttributes", []))))

    def present(items):
        # A conditional index (the old list index AncienIndexListe keeps during an upgrade)
        # is compared as the template's defaults deploy it: its `else` branch, here absent.
        for g in items:
            if isinstance(g, dict) and "Fn::If" in g:
                g = g["Fn::If"][2]
            if isinstance(g, dict) and g.get("Ref") != "AWS::NoValue":
                yield g

    stream = t.get("StreamSpecification") or {}
    enabled = stream.get("StreamEnabled", "StreamViewType" in stream)
    return {
        "KeySchema": keys(t["KeySchema"]),
        "AttributeDefinitions": sorted((a["AttributeName"], a["AttributeType"]) for a in t["AttributeDefinitions"]),
        "GlobalSecondaryIndexes": sorted((g["IndexName"], tuple(keys(g["KeySchema"])), projection(g["Projection"]))
                                         for g in present(t.get("GlobalSecondaryIndexes", []))),
        "LocalSecondaryIndexes": sorted((g["IndexName"], tuple(keys(g["KeySchema"])), projection(g["Projection"]))
                                        for g in t.get("LocalSecondaryIndexes", [])),
        "StreamViewType": stream.get("StreamViewType") if enabled else None,
    }


def check_local(tpl, r):
    r.section(f"Ressources locales (make run) = ressources du modèle, pile {LOCAL_STACK}")
    names = {"AWS::StackName": LOCAL_STACK, "AWS::AccountId": LOCAL_ACCOUNT, "AWS::Region": LOCAL_REGION,
             "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    res = tpl["Resources"]
    tables = {k: v for k, v in res.items() if v["Type"] == "AWS::DynamoDB::Table"}
    buckets = {k: v for k, v in res.items() if v["Type"] == "AWS::S3::Bucket"}
    if not r.check(len(tables) == 1 and len(buckets) == 1, "une table et un bucket dans le modèle",
                   f"le modèle a {len(tables)} tables et {len(buckets)} buckets ; `admin setup-local` "
                   "en crée une et un : mettez-les d'accord"):
        return
    (tname, table), = tables.items()
    (bname, bucket), = buckets.items()
    try:
        table_name = sub(table["Properties"]["TableName"], names)
        bucket_name = sub(bucket["Properties"]["BucketName"], names)
    except (KeyError, ValueError) as e:
        r.fail(f"noms de la table ou du bucket non explicites dans le modèle : {e}")
        return
    # What the functions get: TABLE_NAME / BUCKET_NAME must be those resources.
    env = tpl.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    r.check(env.get("TABLE_NAME") == {"Ref": tname} and env.get("BUCKET_NAME") == {"Ref": bname},
            f"TABLE_NAME → {tname}, BUCKET_NAME → {bname}",
            f"TABLE_NAME / BUCKET_NAME ne désignent pas {tname} / {bname} : {env.get('TABLE_NAME')}, {env.get('BUCKET_NAME')}")
    defaults = env_sh_defaults()
    env_table, env_bucket, env_sender = defaults["TABLE_NAME"], defaults["BUCKET_NAME"], defaults["SENDER_EMAIL"]
    r.check(env_table == table_name, f"scripts/env.sh : table {env_table}",
            f"scripts/env.sh nomme la table {env_table!r}, le modèle {table_name!r}")
    r.check(env_bucket == bucket_name, f"scripts/env.sh : bucket {env_bucket}",
            f"scripts/env.sh nomme le bucket {env_bucket!r}, le modèle {bucket_name!r}")

    seal = local_seal_names(tpl, names, defaults, r)

    started = None
    endpoint = os.environ.get("MOTO_ENDPOINT")
    try:
        if not endpoint:
            port = free_port()
            endpoint = f"http://127.0.0.1:{port}"
            started = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r.note(f"MOTO_ENDPOINT absent : moto démarré sur {endpoint} (pid {started.pid}), arrêté à la fin")
        if not wait_for(f"{endpoint}/moto-api/"):
            r.fail(f"moto ne répond pas sur {endpoint}")
            return
        compare_local(endpoint, table, table_name, bucket_name, env_sender, r, seal)
    finally:
        if started:
            started.terminate()
            started.wait(timeout=10)


def local_seal_names(tpl, names, defaults, r):
    """The seal's key alias and certificate parameter for the local stack, as the template names
    them, compared with scripts/env.sh's; the variables `admin setup-local` gets for the seal."""
    res, params = tpl["Resources"], tpl.get("Parameters", {})
    aliases = [v for v in res.values() if v["Type"] == "AWS::KMS::Alias"]
    env = tpl.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    try:
        alias = sub(aliases[0]["Properties"]["AliasName"], names)
        # SEAL_CERTIFICATE_PARAMETER: !If [default?, !Sub "/${AWS::StackName}/…", !Ref parameter]
        default_branch = env["SEAL_CERTIFICATE_PARAMETER"]["Fn::If"][1]
        parameter = sub(default_branch, names)
        parameter_default = params[env["SEAL_CERTIFICATE_PARAMETER"]["Fn::If"][2]["Ref"]].get("Default")
    except (KeyError, IndexError, TypeError, ValueError) as e:
        r.fail(f"sceau : alias de clé ou paramètre du certificat non calculables dans le modèle ({e!r})")
        return None
    r.check(len(aliases) == 1 and env.get("SEAL_KEY_ID") == {"Ref": next(k for k, v in res.items() if v is aliases[0])},
            f"SEAL_KEY_ID → l'alias de la clé du sceau ({alias} pour la pile locale)",
            f"SEAL_KEY_ID ne désigne pas l'unique alias KMS du modèle : {env.get('SEAL_KEY_ID')}")
    r.check(parameter_default == "", "SEAL_CERTIFICATE_PARAMETER : défaut sous le nom de la pile",
            f"SEAL_CERTIFICATE_PARAMETER : le paramètre du modèle a pour défaut {parameter_default!r}, pas « » (nom de la pile)")
    r.check(defaults["SEAL_KEY_ID"] == alias, f"scripts/env.sh : clé du sceau {alias}",
            f"scripts/env.sh nomme la clé du sceau {defaults['SEAL_KEY_ID']!r}, le modèle {alias!r}")
    r.check(defaults["SEAL_CERTIFICATE_PARAMETER"] == parameter, f"scripts/env.sh : certificat du sceau {parameter}",
            f"scripts/env.sh nomme le paramètre du certificat {defaults['SEAL_CERTIFICATE_PARAMETER']!r}, le modèle {parameter!r}")
    return {"SEAL_KEY_ID": alias, "SEAL_CERTIFICATE_PARAMETER": parameter, "ACADEMIE_CONFIG": defaults["ACADEMIE_CONFIG"]}


def compare_local_seal(kw, seal, r):
    """After `admin setup-local`: the seal's key (ECC_NIST_P256, SIGN_VERIFY) under its alias, and
    a certificate of that very key in its parameter."""
    import boto3

    kms = boto3.client("kms", **kw)
    try:
        meta = kms.describe_key(KeyId=seal["SEAL_KEY_ID"])["KeyMetadata"]
    except Exception as e:  # noqa: BLE001 - any failure is a failed check
        r.fail(f"clé du sceau {seal['SEAL_KEY_ID']} absente en local : {e}")
        return
    r.check(meta.get("KeySpec") == "ECC_NIST_P256" and meta.get("KeyUsage") == "SIGN_VERIFY",
            f"clé du sceau {seal['SEAL_KEY_ID']} : ECC_NIST_P256, SIGN_VERIFY (comme SceauCle)",
            f"clé du sceau locale {meta.get('KeySpec')} / {meta.get('KeyUsage')}")
    try:
        pem = boto3.client("ssm", **kw).get_parameter(Name=seal["SEAL_CERTIFICATE_PARAMETER"])["Parameter"]["Value"]
    except Exception as e:  # noqa: BLE001
        r.fail(f"certificat du sceau {seal['SEAL_CERTIFICATE_PARAMETER']} absent en local : {e}")
        return
    spki = kms.get_public_key(KeyId=seal["SEAL_KEY_ID"])["PublicKey"]
    out = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=pem.encode(), capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=out.stdout,
                         capture_output=True).stdout if out.returncode == 0 else b""
    r.check(der == spki, f"certificat du sceau dans {seal['SEAL_CERTIFICATE_PARAMETER']} : celui de la clé locale",
            f"le certificat de {seal['SEAL_CERTIFICATE_PARAMETER']} ne certifie pas la clé locale (ou openssl absent)")


def compare_local(endpoint, table, table_name, bucket_name, sender, r, seal=None):
    import boto3

    # Where cargo builds it: CARGO_TARGET_DIR when set (a shared target directory), else target/.
    admin = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve() / "debug" / "admin"
    # The table's definition: src/adapters/dynamo.rs once, the src/adapters/dynamo/ module now.
    sources = [ROOT / "src" / "bin" / "admin.rs", *(ROOT / "src" / "adapters").glob("dynamo.rs"),
               *(ROOT / "src" / "adapters" / "dynamo").rglob("*.rs"),
               *(ROOT / "src" / "adapters").glob("kms.rs"), *(ROOT / "src" / "adapters").glob("ssm.rs"),
               *(ROOT / "src" / "seal").rglob("*.rs")]
    if not admin.exists() or admin.stat().st_mtime < max(f.stat().st_mtime for f in sources):
        print("  compilation de admin, absent ou plus ancien que create_table (cargo build -q --bin admin)…")
        subprocess.run(["cargo", "build", "-q", "--bin", "admin"], cwd=ROOT, check=True)
    creds = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
             "AWS_REGION": LOCAL_REGION, "AWS_DEFAULT_REGION": LOCAL_REGION}
    env = {**os.environ, **creds, "AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": table_name,
           "BUCKET_NAME": bucket_name, "SENDER_EMAIL": sender, **(seal or {})}
    out = subprocess.run([str(admin), "setup-local"], env=env, capture_output=True, text=True)
    if not r.check(out.returncode == 0, f"admin setup-local : {out.stdout.strip()}",
                   f"admin setup-local a échoué : {out.stderr.strip()}"):
        return
    kw = dict(endpoint_url=endpoint, region_name=LOCAL_REGION, aws_access_key_id="local",
              aws_secret_access_key="local")
    local = boto3.client("dynamodb", **kw).describe_table(TableName=table_name)["Table"]
    want, got = norm_table(table["Properties"]), norm_table(local)
    for key in want:
        r.check(want[key] == got[key], f"table {table_name} : {key} identique",
                f"table {table_name} : {key} diffère — modèle {want[key]}, local {got[key]}")
    billing = (local.get("BillingModeSummary") or {}).get("BillingMode")
    r.check(billing == table["Properties"].get("BillingMode"), f"table : facturation {billing}",
            f"table : facturation locale {billing}, modèle {table['Properties'].get('BillingMode')}")
    ttl = table["Properties"].get("TimeToLiveSpecification", {}).get("AttributeName")
    if ttl:
        desc = boto3.client("dynamodb", **kw).describe_time_to_live(TableName=table_name)
        spec = desc.get("TimeToLiveDescription", {})
        r.check(spec.get("AttributeName") == ttl and spec.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"),
                f"TTL ({ttl}) activé en local comme dans le modèle",
                f"TTL local {spec}, modèle {ttl}")
    s3 = boto3.client("s3", **kw)
    local_buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    r.check(bucket_name in local_buckets, f"bucket {bucket_name} créé sous le nom du modèle",
            f"bucket {bucket_name} absent en local ({sorted(local_buckets)})")
    identities = boto3.client("ses", **kw).list_identities()["Identities"]
    r.check(sender in identities, f"identité SES {sender} vérifiée en local",
            f"identité SES {sender} absente en local")
    if seal:
        compare_local_seal(kw, seal, r)


# --------------------------------------------------------------------------- 6. the list
def check_requirements(tpl, cfn, r):
    r.section("Exigences du modèle")
    res = tpl["Resources"]
    by_type = {}
    for k, v in res.items():
        by_type.setdefault(v["Type"], []).append(k)
    params = tpl.get("Parameters", {})
    missing = [f"{p} ({why})" for p, why in REQUIRED_PARAMETERS.items() if p not in params]
    r.check(not missing, f"paramètres : {', '.join(params)}", f"paramètres absents : {missing}")

    example = ROOT / "infra" / "samconfig.example.toml"
    overrides = tomllib.loads(example.read_text())["default"]["deploy"]["parameters"]["parameter_overrides"]
    given = dict(o.split("=", 1) for o in overrides)
    problems = [f"{k} inconnu du modèle" for k in given if k not in params]
    problems += [f"{k} (sans défaut) absent" for k, v in params.items() if "Default" not in v and k not in given]
    for k, v in given.items():
        spec = params.get(k, {})
        if "AllowedValues" in spec and v not in [str(x) for x in spec["AllowedValues"]]:
            problems.append(f"{k}={v} hors de {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], v):
            problems.append(f"{k}={v} ne suit pas {spec['AllowedPattern']}")
    r.check(not problems, f"{example.relative_to(ROOT)} : {len(given)} paramètres, valides pour le modèle",
            f"{example.relative_to(ROOT)} : {'; '.join(problems)}")

    # Functions: runtime, architecture, build, role, logs, alarms.
    fns = functions_of(tpl)
    glob = tpl.get("Globals", {}).get("Function", {})
    alarms = {k: v["Properties"] for k, v in res.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    for name, f in fns.items():
        p, b = f["Properties"], binary_of(f)
        runtime = p.get("Runtime", glob.get("Runtime"))
        arch = architecture_of(tpl, f)
        problems = []
        if runtime != "provided.al2023":
            problems.append(f"Runtime {runtime}")
        if arch not in ("arm64", "x86_64"):
            problems.append(f"Architectures {arch}")
        if f.get("Metadata", {}).get("BuildMethod") not in ("rust-cargolambda", "makefile"):
            problems.append("BuildMethod ni rust-cargolambda ni makefile")
        if "Role" not in p or "Policies" in p:
            problems.append("pas de rôle propre (Role) ou Policies SAM (rôle partagé avec politiques gérées)")
        lg = (p.get("LoggingConfig") or {}).get("LogGroup", {})
        lg_res = res.get(lg.get("Ref") if isinstance(lg, dict) else None, {})
        if lg_res.get("Type") != "AWS::Logs::LogGroup" or "RetentionInDays" not in lg_res.get("Properties", {}):
            problems.append("pas de groupe de journaux à rétention (LoggingConfig.LogGroup)")
        for metric in ("Errors", "Throttles"):
            if not any(a.get("MetricName") == metric and name in refs(a.get("Dimensions")) for a in alarms.values()):
                problems.append(f"pas d'alarme {metric}")
        memory, timeout = p.get("MemorySize", glob.get("MemorySize")), p.get("Timeout", glob.get("Timeout"))
        if not memory or not timeout:
            problems.append("MemorySize / Timeout absents")
        r.check(not problems, f"{b} : {runtime}, {arch}, {memory} Mo, {timeout} s, rôle et journaux propres, "
                f"alarmes Errors et Throttles", f"{b} : {'; '.join(problems)}")

    # Stream consumers: filters, partial failures, bisect, bounded retries, on-failure queue.
    queues_with_alarm = {q for a in alarms.values() if a.get("Namespace") == "AWS/SQS" for q in refs(a.get("Dimensions"))}
    for name, f in fns.items():
        for ev_name, ev in f["Properties"].get("Events", {}).items():
            if ev.get("Type") not in ("DynamoDB", "Kinesis", "SQS"):
                continue
            p, problems = ev["Properties"], []
            if not (p.get("FilterCriteria") or {}).get("Filters"):
                problems.append("FilterCriteria")
            if "ReportBatchItemFailures" not in p.get("FunctionResponseTypes", []):
                problems.append("ReportBatchItemFailures")
            if p.get("BisectBatchOnFunctionError") is not True:
                problems.append("BisectBatchOnFunctionError")
            if not isinstance(p.get("MaximumRetryAttempts"), int) or not 0 <= p["MaximumRetryAttempts"] <= 10:
                problems.append("MaximumRetryAttempts borné (0 à 10)")
            dest = ((p.get("DestinationConfig") or {}).get("OnFailure") or {})
            dq = refs(dest.get("Destination"))
            if dest.get("Type") != "SQS" or not dq:
                problems.append("destination d'échec SQS")
            elif not dq & queues_with_alarm:
                problems.append(f"pas d'alarme de profondeur sur {sorted(dq)}")
            if not any(a.get("MetricName") == "IteratorAge" and name in refs(a.get("Dimensions")) for a in alarms.values()):
                problems.append("pas d'alarme IteratorAge")
            r.check(not problems, f"{binary_of(f)}/{ev_name} : filtre, échecs partiels, bissection, "
                    f"{p.get('MaximumRetryAttempts')} nouvelles tentatives, file d'échec surveillée",
                    f"{binary_of(f)}/{ev_name} : manque {', '.join(problems)}")

    # Table.
    for t in by_type.get("AWS::DynamoDB::Table", []):
        p = res[t]["Properties"]
        ok = (p.get("BillingMode") == "PAY_PER_REQUEST" and (p.get("SSESpecification") or {}).get("SSEEnabled")
              and (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
              and (p.get("StreamSpecification") or {}).get("StreamViewType") == "NEW_AND_OLD_IMAGES"
              and (p.get("TimeToLiveSpecification") or {}).get("Enabled"))
        r.check(ok, f"{t} : à la demande, chiffrée, PITR, flux NEW_AND_OLD_IMAGES, TTL",
                f"{t} : il manque à la demande / chiffrement / PITR / flux NEW_AND_OLD_IMAGES / TTL")

    # Bucket: private, TLS only, encrypted, versioned, lifecycle.
    policies = {k: v["Properties"] for k, v in res.items() if v["Type"] == "AWS::S3::BucketPolicy"}
    for b in by_type.get("AWS::S3::Bucket", []):
        p = res[b]["Properties"]
        pab = p.get("PublicAccessBlockConfiguration", {})
        tls = any(b in refs(pol.get("Bucket")) and any(
            st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition", {}))
            for st in _as_list(pol["PolicyDocument"]["Statement"])) for pol in policies.values())
        problems = [what for what, ok in [
            ("Block Public Access", all(pab.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))),
            ("politique TLS seulement", tls),
            ("chiffrement", bool(p.get("BucketEncryption"))),
            ("versionnage", (p.get("VersioningConfiguration") or {}).get("Status") == "Enabled"),
            ("cycle de vie", bool((p.get("LifecycleConfiguration") or {}).get("Rules"))),
        ] if not ok]
        r.check(not problems, f"{b} : privé, TLS seulement, chiffré, versionné, cycle de vie",
                f"{b} : manque {', '.join(problems)}")

    # HTTP API: CORS to the site's origin, throttling, JWT authorizer on Cognito, group.
    for a in by_type.get("AWS::Serverless::HttpApi", []):
        p = res[a]["Properties"]
        origins = (p.get("CorsConfiguration") or {}).get("AllowOrigins", [])
        r.check(origins and "*" not in json.dumps(origins) and "Domaine" in refs(origins),
                f"{a} : CORS limité à l'origine du site", f"{a} : CORS {origins} n'est pas l'origine du site")
        thr = p.get("DefaultRouteSettings") or {}
        r.check(thr.get("ThrottlingBurstLimit") and thr.get("ThrottlingRateLimit"),
                f"{a} : limitation {thr.get('ThrottlingRateLimit')} req/s, rafale {thr.get('ThrottlingBurstLimit')}",
                f"{a} : pas de limitation par défaut")
        auths = (p.get("Auth") or {}).get("Authorizers", {})
        jwt = [n for n, au in auths.items() if "JwtConfiguration" in au
               and any(res.get(x, {}).get("Type") == "AWS::Cognito::UserPool" for x in refs(au["JwtConfiguration"]))]
        r.check(jwt, f"{a} : autorisateur JWT {', '.join(jwt)} (groupe Cognito)", f"{a} : pas d'autorisateur JWT Cognito")
    groups = [res[g]["Properties"].get("GroupName") for g in by_type.get("AWS::Cognito::UserPoolGroup", [])]
    r.check("instructeurs" in groups, "groupe Cognito « instructeurs »", "groupe Cognito « instructeurs » absent")
    apis = set(by_type.get("AWS::Serverless::HttpApi", []))
    authorizers = {n for a in apis for n in ((res[a]["Properties"].get("Auth") or {}).get("Authorizers") or {})}
    http_events = [(binary_of(fn), e["Properties"]) for fn in fns.values()
                   for e in fn["Properties"].get("Events", {}).values() if e.get("Type") == "HttpApi"]
    implicit = [f"{b} {e.get('Method')} {e.get('Path')}" for b, e in http_events if not refs(e.get("ApiId")) & apis]
    r.check(not implicit, f"{len(http_events)} routes, toutes sur l'API déclarée (CORS, limitation, journaux)",
            f"routes hors de l'API déclarée (SAM créerait une API implicite sans CORS ni limitation) : {implicit}")
    instructeur = [(b, e) for b, e in http_events if str(e.get("Path", "")).startswith("/api/instructeur")]
    for b, e in instructeur:
        r.check((e.get("Auth") or {}).get("Authorizer") in authorizers,
                f"{e['Method']} {e['Path']} ({b}) : derrière l'autorisateur JWT",
                f"{e['Method']} {e['Path']} ({b}) : route instructeur sans autorisateur JWT")
    if not instructeur:
        r.note("aucune route /api/instructeur/ encore (fonction instructeur-api à venir)")

    # SES, logs, failure queue.
    r.check(by_type.get("AWS::SES::EmailIdentity") and by_type.get("AWS::SES::ConfigurationSet"),
            "SES : identité et jeu de configuration", "SES : identité ou jeu de configuration absent")
    no_retention = [g for g in by_type.get("AWS::Logs::LogGroup", []) if "RetentionInDays" not in res[g]["Properties"]]
    r.check(not no_retention, f"{len(by_type.get('AWS::Logs::LogGroup', []))} groupes de journaux, tous à rétention",
            f"groupes de journaux sans rétention : {no_retention}")
    implicit = [k for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Lambda::Function"
                and "LogGroup" not in (v["Properties"].get("LoggingConfig") or {})]
    r.check(not implicit, "aucune fonction ne journalise dans un groupe implicite (sans rétention)",
            f"fonctions sans groupe de journaux explicite : {implicit}")


# --------------------------------------------------------------------------- 6b. the seal's key
def _branches(st):
    """A statement, or both branches of an Fn::If around it (AWS::NoValue dropped)."""
    if isinstance(st, dict) and "Fn::If" in st:
        return [b for b in st["Fn::If"][1:] if not (isinstance(b, dict) and b.get("Ref") == "AWS::NoValue")]
    return [st]


def _grants(actions, action):
    import fnmatch
    return any(isinstance(a, str) and fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(actions))


def check_seal(tpl, cfn, r):
    """The seal's KMS key: asymmetric P-256 for signing; kms:Sign for generate-convention's role
    (and the optional operator of the certificate request) only, not for the account, so that no
    IAM policy can grant it; the certificate parameter read by the two functions that need it."""
    r.section("Sceau de l'académie : clé KMS et certificat")
    res = tpl["Resources"]
    keys = {k: v["Properties"] for k, v in res.items() if v["Type"] == "AWS::KMS::Key"}
    if not r.check(len(keys) == 1, "une clé KMS (le sceau)", f"{len(keys)} clés KMS dans le modèle"):
        return
    (name, key), = keys.items()
    r.check(key.get("KeySpec") == "ECC_NIST_P256" and key.get("KeyUsage") == "SIGN_VERIFY",
            f"{name} : ECC_NIST_P256, SIGN_VERIFY", f"{name} : {key.get('KeySpec')} / {key.get('KeyUsage')}")
    signers, problems = [], []
    for st in (b for s in _as_list(key["KeyPolicy"]["Statement"]) for b in _branches(s)):
        if st.get("Effect") != "Allow":
            continue
        principal = (st.get("Principal") or {}).get("AWS")
        who = refs(principal) or {json.dumps(principal)}
        if _grants(st.get("Action"), "kms:Sign"):
            signers.append((st.get("Sid"), who, sorted(_as_list(st["Action"]))))
        elif _grants(st.get("Action"), "kms:Decrypt") or _grants(st.get("Action"), "kms:GenerateMac"):
            problems.append(f"{st.get('Sid')} : usage cryptographique {st['Action']}")
    for sid, who, actions in signers:
        if not who <= {"GenerateConventionRole", "SceauDemandeurArn"}:
            problems.append(f"{sid} : kms:Sign accordé à {sorted(who)}")
        if actions != ["kms:GetPublicKey", "kms:Sign"]:
            problems.append(f"{sid} : {actions} au lieu de kms:Sign et kms:GetPublicKey seuls")
    r.check(not problems and any("GenerateConventionRole" in w for _, w, _ in signers),
            f"politique de {name} : kms:Sign et kms:GetPublicKey pour le rôle de generate-convention "
            f"(et l'exploitant de SceauDemandeurArn s'il est donné) ; le compte administre sans signer",
            f"politique de {name} : {'; '.join(problems) or 'generate-convention ne peut pas signer'}")
    grants = [where for where, doc, kind in policy_documents(cfn)
              for st in _as_list(doc.get("Statement", [])) if st.get("Effect") == "Allow"
              and (_grants(st.get("Action"), "kms:Sign") or _grants(st.get("Action"), "kms:GetPublicKey"))]
    r.check(not grants, "aucune politique IAM n'accorde kms:Sign (la politique de la clé seule)",
            f"politiques IAM accordant kms:Sign ou kms:GetPublicKey : {grants}")
    readers = sorted(where.split("/")[0] for where, doc, kind in policy_documents(cfn)
                     for st in _as_list(doc.get("Statement", [])) if _grants(st.get("Action"), "ssm:GetParameter")
                     and "aws/reference/secretsmanager" not in json.dumps(st.get("Resource")))
    # The secrets: each function's role reads those its binary asks for (src/secrets.rs,
    # functions/*/src/main.rs), no other.
    expected = {"SubmitDossierRole": {"LinkSecret", "OrigineSecret"},
                "InstructeurApiRole": {"LinkSecret", "OrigineSecret", "EditeurReponseSecretStore", "EditeursConfigStore"},
                "NotifyEditorRole": {"WebhookSecret", "EditeursConfigStore"},
                "DailyRole": {"LinkSecret", "EditeursConfigStore"},
                "SchoolLookupRole": {"OrigineSecret"},
                "GenerateConventionRole": {"LinkSecret"},
                "SendAcknowledgementRole": {"LinkSecret"},
                "ExportSchoolsRole": {"EditeursConfigStore"}}
    got = {}
    for where, doc, kind in policy_documents(cfn):
        for st in (b for s0 in _as_list(doc.get("Statement", [])) for b in _branches(s0)):
            if st.get("Effect") == "Allow" and _grants(st.get("Action"), "secretsmanager:GetSecretValue"):
                got.setdefault(where.split("/")[0], set()).update(refs(st.get("Resource")) - {"AWS::NoValue"})
    r.check(got == expected, "secrets (Secrets Manager) : chaque rôle lit ceux dont sa fonction a besoin, aucun autre",
            f"secrets lus par rôle : {got} ; attendu {expected}")
    binaries = {role: set(re.findall(r"Secret::(\w+)", (ROOT / f"functions/{fn}/src/main.rs").read_text()))
                for role, fn in [("SubmitDossierRole", "submit-dossier"), ("InstructeurApiRole", "instructeur-api"),
                                 ("NotifyEditorRole", "notify-editor"), ("DailyRole", "daily"),
                                 ("SchoolLookupRole", "school-lookup"), ("GenerateConventionRole", "generate-convention"),
                                 ("SendAcknowledgementRole", "send-acknowledgement"),
                                 ("ExportSchoolsRole", "export-schools")]}
    names = {"Link": "LinkSecret", "Origin": "OrigineSecret", "Webhook": "WebhookSecret",
             "EditorAnswer": "EditeurReponseSecretStore", "Editeurs": "EditeursConfigStore"}
    asked = {role: {names[n] for n in found} for role, found in binaries.items()}
    r.check(asked == expected, "secrets : les rôles et les fonctions (Secret::… de leur main.rs) s'accordent",
            f"demandés par les fonctions : {asked} ; attendu {expected}")
    r.check(readers == ["GenerateConventionRole", "SubmitDossierRole"],
            "ssm:GetParameter (chaîne du certificat) : generate-convention et submit-dossier seulement",
            f"ssm:GetParameter accordé à {readers}")


# --------------------------------------------------------------------------- 7. CloudFront + AWS WAF
def _statements(st):
    """A statement and every statement nested in it."""
    yield st
    for kind in ("AndStatement", "OrStatement"):
        for inner in (st.get(kind) or {}).get("Statements", []):
            yield from _statements(inner)
    if "NotStatement" in st:
        yield from _statements(st["NotStatement"]["Statement"])


def _param_default(tpl, value):
    """The Default of the parameter `value` refers to, or `value` itself."""
    if isinstance(value, dict) and "Ref" in value:
        return tpl.get("Parameters", {}).get(value["Ref"], {}).get("Default")
    return value


def check_waf(tpl, r):
    """The web ACL of infra/waf-us-east-1.yaml (per-IP limits, common rules) and the CloudFront
    distribution of the main template that carries it, with the execute-api address disabled."""
    if not WAF_TEMPLATE.exists():
        r.section("AWS WAF")
        r.fail(f"{WAF_TEMPLATE} absent")
        return
    check_lint(r, WAF_TEMPLATE, WAF_REGIONS)
    r.section(f"AWS WAF ({WAF_TEMPLATE.name}) et CloudFront devant l'API")
    waf = yaml.load(WAF_TEMPLATE.read_text(), Loader=CfnLoader)
    acls = [v["Properties"] for v in waf["Resources"].values() if v["Type"] == "AWS::WAFv2::WebACL"]
    if not r.check(len(acls) == 1 and acls[0].get("Scope") == "CLOUDFRONT", "une liste de contrôle d'accès, portée CLOUDFRONT",
                   f"{len(acls)} liste(s) de contrôle d'accès, portée {[a.get('Scope') for a in acls]}"):
        return
    acl = acls[0]
    bodies = acl.get("CustomResponseBodies") or {}
    rules = acl.get("Rules") or []
    covered = {}
    for rule in rules:
        rate = (rule.get("Statement") or {}).get("RateBasedStatement")
        if not rate:
            continue
        name, problems = rule["Name"], []
        if rate.get("AggregateKeyType") != "IP":
            problems.append(f"clé {rate.get('AggregateKeyType')} au lieu de IP")
        limit = _param_default(waf, rate.get("Limit"))
        if not isinstance(limit, int) or limit < 10:
            problems.append(f"limite {limit!r} (AWS WAF : 10 au moins)")
        window = _param_default(waf, rate.get("EvaluationWindowSec", 300))
        if window not in (60, 120, 300, 600):
            problems.append(f"fenêtre {window!r} (AWS WAF : 60, 120, 300 ou 600 s)")
        resp = (((rule.get("Action") or {}).get("Block") or {}).get("CustomResponse") or {})
        body = bodies.get(resp.get("CustomResponseBodyKey"), {})
        try:
            problem = json.loads(body.get("Content", ""))
        except json.JSONDecodeError:
            problem = {}
        if resp.get("ResponseCode") != 429 or problem.get("status") != 429 or not problem.get("title") \
                or not problem.get("detail") or body.get("ContentType") != "APPLICATION_JSON":
            problems.append("pas de réponse 429 avec un problème JSON (title, status 429, detail)")
        matches = [st["ByteMatchStatement"] for st in _statements(rate.get("ScopeDownStatement") or {})
                   if "ByteMatchStatement" in st]
        if not any("Method" in m["FieldToMatch"] and m.get("SearchString") == "POST" for m in matches):
            problems.append("portée non restreinte à POST")
        paths = [(m["PositionalConstraint"], m.get("SearchString")) for m in matches if "UriPath" in m["FieldToMatch"]]
        for p in paths:
            if p in WAF_LIMITED:
                covered[p] = name
        r.check(not problems, f"{name} : {limit} requêtes / {window} s par adresse IP sur POST "
                f"{' et '.join(f'{c.lower()} {v}' for c, v in paths)}, puis 429 « {problem.get('title')} »",
                f"{name} : {'; '.join(problems)}")
    posts = [e["Properties"]["Path"] for f in functions_of(tpl).values()
             for e in f["Properties"].get("Events", {}).values()
             if e.get("Type") == "HttpApi" and e["Properties"].get("Method") == "POST"]
    for (constraint, path), what in WAF_LIMITED.items():
        if (constraint, path) not in covered:
            r.fail(f"aucune limite par IP sur {what} (POST, chemin {constraint.lower()} {path})")
            continue
        routes = [p for p in posts if (p == path if constraint == "EXACTLY" else
                                       p.startswith("/api/dossiers/") and p.endswith(path))]
        if routes:
            r.ok(f"{what} : limitée ({covered[(constraint, path)]}), route POST {', '.join(routes)}")
        elif path in WAF_ROUTES_PENDING:
            r.note(f"{what} : limitée ({covered[(constraint, path)]}) ; route pas encore dans le modèle : "
                   f"{WAF_ROUTES_PENDING[path]}")
        else:
            r.fail(f"{what} : la règle {covered[(constraint, path)]} vise {path}, qu'aucune route POST du modèle ne sert")

    # Bodies: the API takes MAX_BODY; the common rule set blocks bodies over 8 KB unless told.
    m = re.search(r"MAX_BODY: usize = (\d+)( \* 1024)?;", (ROOT / "src" / "http" / "request.rs").read_text())
    if not r.check(m, "MAX_BODY lu dans src/http/request.rs", "MAX_BODY introuvable dans src/http/request.rs"):
        return
    max_body = int(m.group(1)) * (1024 if m.group(2) else 1)
    crs = [rule for rule in rules if ((rule.get("Statement") or {}).get("ManagedRuleGroupStatement") or {})
           .get("Name") == "AWSManagedRulesCommonRuleSet"]
    if r.check(crs, "règles communes AWS (AWSManagedRulesCommonRuleSet)", "règles communes AWS absentes"):
        overrides = {o["Name"]: o["ActionToUse"] for o in
                     crs[0]["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])}
        size_counted = "Count" in overrides.get("SizeRestrictions_BODY", {})
        r.check(size_counted or max_body <= 8192,
                f"SizeRestrictions_BODY (refus au-delà de 8 Ko) ramenée à Count : l'API prend {max_body} octets (MAX_BODY)",
                f"SizeRestrictions_BODY refuserait les corps de 8 Ko à {max_body} octets que l'API accepte (MAX_BODY)")
    protected = {(d["Field"]["FieldType"], tuple(k.lower() for k in d["Field"].get("FieldKeys", [])))
                 for d in (acl.get("DataProtectionConfig") or {}).get("DataProtections", [])}
    r.check({("SINGLE_HEADER", ("authorization",)), ("QUERY_STRING", ())} <= protected,
            "échantillons et journal sans jeton : en-tête Authorization et chaîne de requête masqués",
            f"DataProtectionConfig ne masque pas Authorization et la chaîne de requête : {sorted(protected)}")
    r.check("WebAclArn" in (waf.get("Outputs") or {}), "sortie WebAclArn (paramètre de la pile principale)",
            "pas de sortie WebAclArn")

    # The main template: CloudFront carries the web ACL; nothing reaches the API around it.
    res, params = tpl["Resources"], tpl.get("Parameters", {})
    apis = [k for k, v in res.items() if v["Type"] == "AWS::Serverless::HttpApi"]
    open_apis = [a for a in apis if res[a]["Properties"].get("DisableExecuteApiEndpoint") is not True]
    r.check(not open_apis, "adresse execute-api désactivée (DisableExecuteApiEndpoint)",
            f"{open_apis} : l'adresse execute-api contournerait le pare-feu (DisableExecuteApiEndpoint: true)")
    dists = [v["Properties"]["DistributionConfig"] for v in res.values() if v["Type"] == "AWS::CloudFront::Distribution"]
    domains = {k for k, v in res.items() if v["Type"] == "AWS::ApiGatewayV2::DomainName"}
    for d in dists:
        acl_param = (d.get("WebACLId") or {}).get("Ref") if isinstance(d.get("WebACLId"), dict) else None
        pattern = params.get(acl_param, {}).get("AllowedPattern", "")
        origins_ok = d.get("Origins") and all(refs(o.get("DomainName")) & domains for o in d["Origins"])
        r.check(acl_param and "us-east-1" in pattern and origins_ok and "Domaine" in refs(d.get("Aliases")),
                f"distribution CloudFront sur Domaine, liste de contrôle d'accès {acl_param} (us-east-1), "
                "origine : le nom de domaine personnalisé de l'API",
                "distribution CloudFront sans liste de contrôle d'accès us-east-1, sans alias Domaine "
                "ou d'origine autre que le nom de domaine personnalisé de l'API")
    r.check(dists, f"{len(dists)} distribution CloudFront", "aucune distribution CloudFront : rien ne porte le pare-feu")
    leaks = [k for k, o in (tpl.get("Outputs") or {}).items() if "execute-api" in json.dumps(o.get("Value"))]
    r.check(not leaks, "aucune sortie ne donne l'adresse execute-api", f"sorties vers execute-api : {leaks}")


def _route_regex(path):
    """An HTTP API path as a regex: {x} is one segment, {x+} (greedy) one or more."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("^" + "".join(
        (".+" if p.endswith("+}") else "[^/]+") if p.startswith("{") else re.escape(p) for p in parts) + "$")


def _sample(path):
    return re.sub(r"\{[^}]+\}", "x", path)


def check_routes(tpl, r):
    r.section("Routes : celles de CargoLambda.toml (make run) servies par les mêmes fonctions sur AWS")
    local = tomllib.loads((ROOT / "CargoLambda.toml").read_text()).get("watch", {}).get("router", {})
    local = {path: (target if isinstance(target, str) else target.get("function")) for path, target in local.items()}
    deployed = {}
    for name, f in functions_of(tpl).items():
        for e in f["Properties"].get("Events", {}).values():
            if e.get("Type") == "HttpApi":
                deployed.setdefault(e["Properties"]["Path"], set()).add(binary_of(f))

    def served(path, routes):
        """Functions of the routes that would serve `path` (exact route first, as API Gateway)."""
        def fns(v):
            return {v} if isinstance(v, str) else set(v)

        if path in routes:
            return fns(routes[path])
        hits = [p for p in routes if _route_regex(p).match(_sample(path))]
        return set().union(*(fns(routes[p]) for p in hits)) if hits else set()

    for path, fn in sorted(local.items()):
        on_aws = served(path, deployed)
        r.check(fn in on_aws, f"{path} → {fn}",
                f"{path} → {fn} en local, {sorted(on_aws) or 'absente'} dans le modèle")
    for path in sorted(deployed):
        locally = served(path, local)
        if not locally & deployed[path]:  # reported, not failed: make run may lag behind
            r.note(f"{path} → {', '.join(sorted(deployed[path]))} : routée sur AWS, pas (encore) par make run (CargoLambda.toml)")
    crates = {p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml")}
    binaries = {binary_of(f) for f in functions_of(tpl).values()}
    r.check(crates == binaries, f"fonctions du modèle = crates de functions/ ({', '.join(sorted(crates))})",
            f"functions/ a {sorted(crates - binaries)} hors modèle, le modèle {sorted(binaries - crates)} sans crate")


# --------------------------------------------------------------------------- main
def main(argv):
    global TEMPLATE
    if "--template" in argv:  # another file, e.g. to see a check fail on purpose
        TEMPLATE = Path(argv[argv.index("--template") + 1]).resolve()
    tpl = load_template()
    if "--print-architecture" in argv:
        archs = {architecture_of(tpl, f) for f in functions_of(tpl).values()}
        if len(archs) != 1:
            sys.exit(f"architectures mêlées dans le modèle : {sorted(archs)}")
        print(archs.pop())
        return 0
    if "--print-functions" in argv:
        print("\n".join(binary_of(f) for f in functions_of(tpl).values()))
        return 0

    ensure_tools()
    r = Report()
    print(f"Vérifications hors ligne de {TEMPLATE}")
    check_lint(r)
    cfn = translate(tpl, r)
    if cfn:
        check_policies(cfn, r)
        check_env(tpl, cfn, r)
        check_requirements(tpl, cfn, r)
        check_seal(tpl, cfn, r)
    check_routes(tpl, r)
    check_waf(tpl, r)
    check_local(tpl, r)
    print()
    if r.failures:
        print(f"✗ infra : {r.failures} vérification(s) en échec")
        return 1
    print("✓ infra : toutes les vérifications passent")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
