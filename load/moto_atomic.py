#!/usr/bin/env python3
"""moto's server, with its DynamoDB requests run one at a time.

DynamoDB applies each write atomically (an `ADD` counter never gives the same value twice, a
conditional write is checked and applied as one step). moto's threaded server does not: under
concurrent clients its UpdateItem is a read-modify-write without a lock (measured with 32 clients
× 50 `ADD v :1` on one item: 1 599 distinct values for 1 600 calls, and the item ends at 1 599).
The proofs under load need the real service's semantics, so this wraps moto's WSGI application
with one lock around DynamoDB requests (S3, SES and the rest stay concurrent), makes its
transactions' backups share the stream's records (see `_copy_shard`), keeps the stream a reader
follows when a transaction fails (see `_transact_keeping_the_stream`) and its data.json dump
whole (see `_model_data`).

    .venv/bin/python load/moto_atomic.py -H 127.0.0.1 -p 5000     # same options as moto_server
"""
import argparse
import copy
import threading

from moto.dynamodb.models.table import StreamShard


def _copy_shard(self, memo):
    """moto backs up every table a transaction touches with `copy.deepcopy`, stream included,
    once per item of the transaction: the copy of a stream holding every image ever written
    makes each transaction slower than the last (a dossier taking 500 messages spent minutes
    there). Stream records never change once made, so the backup shares them; the list is
    copied, so a rolled-back transaction still leaves no record behind."""
    new = StreamShard.__new__(StreamShard)
    memo[id(self)] = new
    for k, v in self.__dict__.items():
        setattr(new, k, list(v) if k == "items" else copy.deepcopy(v, memo))
    return new


StreamShard.__deepcopy__ = _copy_shard

from moto.dynamodb.models import DynamoDBBackend

_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_keeping_the_stream(self, *args, **kwargs):
    """A transaction moto rolls back puts the backup copy of each table in its place, with its
    copy of the stream: the shard iterators a reader already holds point to the replaced shard,
    which no write reaches any more (the stream then seems to stop for good, on `make run` as
    in the tests). DynamoDB's stream does not change when a transaction fails: so the stream
    stays the same object, cut back to the records it had before the transaction."""
    shards = {name: t.stream_shard for name, t in self.tables.items() if t.stream_shard is not None}
    try:
        return _transact_write_items(self, *args, **kwargs)
    finally:
        for name, shard in shards.items():
            table = self.tables.get(name)
            if table is not None and table.stream_shard is not None and table.stream_shard is not shard:
                del shard.items[len(table.stream_shard.items):]
                table.stream_shard = shard
                shard.table = table


DynamoDBBackend.transact_write_items = _transact_keeping_the_stream

from moto.moto_api._internal.responses import MotoAPIResponse


def _model_data(self, request, full_url, headers):
    """moto's /moto-api/data.json (the emails the tests read) reads every attribute of every
    object it tracks and skips those that are not JSON; a getter that raises anything else (an
    S3 key's, while or just after a multipart upload completes) made the whole dump answer an
    S3 error (an XML 404). Such attributes are skipped too."""
    import json
    from moto.core.model_instances import model_data

    results = {}
    for service in sorted(model_data):
        results[service] = {}
        for name in sorted(model_data[service]):
            results[service][name] = []
            for instance in model_data[service][name].instances_tracked:
                out = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:
                        continue
                    out[attr] = value
                results[service][name].append(out)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


MotoAPIResponse.model_data = _model_data

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class DynamoDbOneAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=5000)
    args = p.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, DynamoDbOneAtATime(app), threaded=True)


if __name__ == "__main__":
    main()
