#!/usr/bin/env python3
"""Local stand-in for Lambda's DynamoDB stream event source mappings.

Reads the stream of the dossiers table from the emulator and invokes the stream-triggered
functions served by `cargo lambda watch`, as AWS does: the same FilterCriteria, BatchSize and
MaximumRetryAttempts as infra/template.yaml (read from it), the real event shape, partial
batch failures honoured (retry from the failed record), and exhausted batches written to the
local dead-letter directory (.run/dlq/) instead of the SQS queue. Replay one with
`scripts/stream_poller.py --replay .run/dlq/<file>.json`.
"""
import json, os, sys, time, urllib.request, datetime, pathlib
import boto3, yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DLQ = ROOT / ".run" / "dlq"
API = f"http://127.0.0.1:{os.environ.get('API_PORT', '9000')}"


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CfnLoader.add_multi_constructor("!", _tag)


def stream_consumers():
    """[(binary, [patterns], batch_size, max_retries)] from the template."""
    tpl = yaml.load((ROOT / "infra" / "template.yaml").read_text(), Loader=CfnLoader)
    out = []
    for res in tpl["Resources"].values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        for ev in res["Properties"].get("Events", {}).values():
            if ev.get("Type") != "DynamoDB":
                continue
            p = ev["Properties"]
            patterns = [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])]
            out.append((binary, patterns, p.get("BatchSize", 100), p.get("MaximumRetryAttempts", 3)))
    return out


def matches(pattern, value):
    """The subset of EventBridge patterns the template uses: nested keys, value lists, exists,
    anything-but (which, as on AWS, does not match a missing field)."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        for alt in pattern:
            if isinstance(alt, dict) and "exists" in alt:
                if (value is not None) == alt["exists"]:
                    return True
            elif isinstance(alt, dict) and "anything-but" in alt:
                if value is not None and value not in alt["anything-but"]:
                    return True
            elif value == alt:
                return True
        return False
    return pattern == value


def to_lambda_record(rec, arn, region):
    rec = json.loads(json.dumps(rec, default=lambda d: d.timestamp() if isinstance(d, datetime.datetime) else str(d)))
    rec["eventSourceARN"] = arn
    rec["awsRegion"] = region
    if not rec["dynamodb"].get("OldImage"):
        rec["dynamodb"].pop("OldImage", None)
    return rec


def invoke(binary, records):
    body = json.dumps({"Records": records}).encode()
    req = urllib.request.Request(f"{API}/2015-03-31/functions/{binary}/invocations", data=body, method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


def deliver(binary, records, max_retries):
    """Invokes until the batch succeeds; retries from the first failed record; DLQ at the end."""
    attempt = 0
    while records:
        try:
            resp = invoke(binary, records)
            failed = [f.get("itemIdentifier") for f in resp.get("batchItemFailures", [])]
        except Exception as e:  # function error or timeout: the whole batch failed
            print(f"[poller] {binary}: invocation failed: {e}", flush=True)
            failed = [records[0]["dynamodb"]["SequenceNumber"]]
        if not failed:
            return
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        first = min(seqs.index(f) for f in failed if f in seqs) if any(f in seqs for f in failed) else 0
        records = records[first:]
        attempt += 1
        if attempt > max_retries:
            DLQ.mkdir(parents=True, exist_ok=True)
            path = DLQ / f"{binary}-{records[0]['dynamodb']['SequenceNumber']}.json"
            path.write_text(json.dumps({"function": binary, "Records": records}, indent=1))
            print(f"[poller] {binary}: retries exhausted, batch written to {path}", flush=True)
            return
        time.sleep(min(2 ** attempt * 0.2, 5))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--replay":
        data = json.loads(pathlib.Path(sys.argv[2]).read_text())
        deliver(data["function"], data["Records"], 3)
        print(f"[poller] replayed {sys.argv[2]}")
        return
    kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
    ddb, streams = boto3.client("dynamodb", **kw), boto3.client("dynamodbstreams", **kw)
    arn = ddb.describe_table(TableName=os.environ["TABLE_NAME"])["Table"]["LatestStreamArn"]
    consumers = stream_consumers()
    print(f"[poller] {os.environ['TABLE_NAME']} stream → {', '.join(c[0] for c in consumers)}", flush=True)
    iterators = {}
    while True:
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            sid = shard["ShardId"]
            if sid not in iterators:
                iterators[sid] = streams.get_shard_iterator(
                    StreamArn=arn, ShardId=sid, ShardIteratorType="LATEST")["ShardIterator"]
            if iterators[sid] is None:
                continue
            resp = streams.get_records(ShardIterator=iterators[sid])
            iterators[sid] = resp.get("NextShardIterator")
            records = [to_lambda_record(r, arn, kw["region_name"]) for r in resp.get("Records", [])]
            for binary, patterns, batch, retries in consumers:
                selected = [r for r in records if not patterns or any(matches(p, r) for p in patterns)]
                for i in range(0, len(selected), batch):
                    deliver(binary, selected[i:i + batch], retries)
        time.sleep(0.2)


if __name__ == "__main__":
    main()
