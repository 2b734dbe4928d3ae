#!/usr/bin/env python3
"""Fault-injecting HTTP proxy between the AWS SDK and the local emulator (moto).

The functions reach AWS through `AWS_ENDPOINT_URL`; point it at this proxy and it forwards every
call to the emulator, except a chosen share of them, which get one of the failures AWS really
answers (each in the protocol of its service, so that the SDK classifies it as AWS would):

    http500     500 InternalServerError / InternalError / InternalFailure, request not forwarded
    http503     503 ServiceUnavailable / SlowDown, not forwarded
    throttle    400 ThrottlingException (DynamoDB), 503 SlowDown (S3), 400 Throttling (SES)
    reset       the connection is reset before the request reaches the emulator
    latency     forwarded after 200–1000 ms
    lost        forwarded, the emulator acts, then the connection is reset: the answer is lost
                (opt-in with --lost: AWS does this too, a 500 from DynamoDB "may or may not have
                succeeded", and only idempotent steps survive it)

Control (not forwarded): GET /__faults__/stats (JSON counts), POST /__faults__/config?rate=0.1,
POST /__faults__/block?service=ses&match=<text> (every call to that service whose body contains
the text is refused with a permanent error: SES MessageRejected, S3 AccessDenied, DynamoDB
ValidationException — e.g. a recipient SES refuses in sandbox mode), POST /__faults__/unblock.

    .venv/bin/python load/fault_proxy.py --upstream http://127.0.0.1:5000 --port 5100 --rate 0.1
"""
import argparse
import asyncio
import collections
import json
import random
import sys
import time
import urllib.parse

KINDS = ["http500", "http503", "throttle", "reset", "latency"]


def service_of(head: dict, target: str, body: bytes) -> str:
    if "x-amz-target" in head:
        t = head["x-amz-target"]
        return "dynamodbstreams" if t.startswith("DynamoDBStreams") else "dynamodb"
    auth = head.get("authorization", "")
    if "/ses/aws4_request" in auth or "/email/aws4_request" in auth or body.startswith(b"Action="):
        return "ses"
    if target.startswith("/moto-api"):
        return "moto"
    return "s3"


def operation_of(service: str, head: dict, method: str, target: str, body: bytes) -> str:
    if service.startswith("dynamodb"):
        return head.get("x-amz-target", "").split(".")[-1]
    if service == "ses":
        q = urllib.parse.parse_qs(body.decode(errors="replace"))
        return q.get("Action", ["?"])[0]
    path = target.split("?")[0]
    return f"{method} {'object' if path.count('/') >= 2 and not path.endswith('/') else 'bucket'}"


def error_response(service: str, kind: str, method: str) -> bytes:
    """An error in the wire format of the service (JSON 1.0, REST-XML, AWS Query)."""
    if service.startswith("dynamodb"):
        code, status = {
            "http500": ("InternalServerError", 500),
            "http503": ("ServiceUnavailable", 503),
            "throttle": ("ThrottlingException", 400),
            "block": ("ValidationException", 400),
        }[kind]
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                           "message": f"injected by fault_proxy ({kind})"}).encode()
        ctype = "application/x-amz-json-1.0"
        extra = f"x-amzn-ErrorType: {code}\r\n"
    elif service == "ses":
        code, status, message = {
            "http500": ("InternalFailure", 500, "injected"),
            "http503": ("ServiceUnavailable", 503, "injected"),
            "throttle": ("Throttling", 400, "Maximum sending rate exceeded."),
            "block": ("MessageRejected", 400,
                      "Email address is not verified. The following identities failed the check"),
        }[kind]
        body = (f'<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
        ctype = "text/xml"
        extra = ""
    else:
        code, status = {
            "http500": ("InternalError", 500),
            "http503": ("ServiceUnavailable", 503),
            "throttle": ("SlowDown", 503),
            "block": ("AccessDenied", 403),
        }[kind]
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>injected by fault_proxy ({kind})</Message><RequestId>fault-proxy</RequestId></Error>").encode()
        ctype = "application/xml"
        extra = ""
    reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    payload = b"" if method == "HEAD" else body
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n{extra}"
            f"x-amzn-RequestId: fault-proxy\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload


async def read_message(reader, is_response=False, request_method=None, writer=None):
    """One HTTP/1.1 message: (start line, lower-cased headers, body, raw head)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    start = lines[0]
    headers = [tuple(line.split(":", 1)) for line in lines[1:] if line]
    h = {k.strip().lower(): v.strip() for k, v in headers}
    body = b""
    if not is_response and h.get("expect", "").lower() == "100-continue":
        # Answer the expectation here and forward the request without it.
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        kept = [line for line in lines[1:] if line and not line.lower().startswith("expect:")]
        head = ("\r\n".join([start, *kept]) + "\r\n\r\n").encode("latin-1")
    if is_response:
        status = int(start.split()[1])
        if request_method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return start, h, body, head
    if "chunked" in h.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            data = await reader.readexactly(size + 2)
            chunks.append(size_line + data)
            if size == 0:
                # trailers until an empty line
                while True:
                    line = await reader.readuntil(b"\r\n")
                    chunks.append(line)
                    if line == b"\r\n":
                        break
                break
        body = b"".join(chunks)
    elif "content-length" in h:
        body = await reader.readexactly(int(h["content-length"]))
    elif is_response:
        body = await reader.read()
    return start, h, body, head


def reset(writer):
    """Closes with RST (SO_LINGER 0), as a crashed front end or a dropped NAT entry does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        import socket
        import struct
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Proxy:
    def __init__(self, upstream: str, rate: float, lost: float, seed=None):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.rate, self.lost = rate, lost
        self.random = random.Random(seed)
        self.blocks = []  # (service, match bytes)
        self.stats = collections.Counter()
        self.started = time.time()

    def choose(self):
        r = self.random.random()
        if r < self.lost:
            return "lost"
        if r < self.lost + self.rate:
            return self.random.choice(KINDS)
        return None

    async def control(self, writer, method, target):
        path, _, query = target.partition("?")
        q = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        if path.endswith("/config"):
            self.rate = float(q.get("rate", self.rate))
            self.lost = float(q.get("lost", self.lost))
        elif path.endswith("/block"):
            self.blocks.append((q["service"], q["match"].encode()))
        elif path.endswith("/unblock"):
            self.blocks.clear()
        body = json.dumps({"rate": self.rate, "lost": self.lost,
                           "blocks": [(s, m.decode()) for s, m in self.blocks],
                           "counts": dict(sorted(self.stats.items()))}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()

    async def handle(self, reader, writer):
        upstream = None
        try:
            while True:
                try:
                    start, h, body, head = await read_message(reader, writer=writer)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, target = start.split()[0], start.split()[1]
                if target.startswith("/__faults__"):
                    await self.control(writer, method, target)
                    continue
                service = service_of(h, target, body)
                op = operation_of(service, h, method, target, body)
                fault = None if service in ("moto", "dynamodbstreams") else self.choose()
                if service not in ("moto", "dynamodbstreams") and any(
                        s == service and m in body for s, m in self.blocks):
                    fault = "block"
                self.stats[f"{service}.{op}"] += 1
                if fault:
                    self.stats[f"fault.{fault}"] += 1
                    self.stats[f"fault.{fault}.{service}"] += 1
                    if fault == "lost":
                        self.stats[f"lost.{service}.{op}"] += 1
                if fault in ("http500", "http503", "throttle", "block"):
                    writer.write(error_response(service, fault, method))
                    await writer.drain()
                    continue
                if fault == "reset":
                    reset(writer)
                    return
                if fault == "latency":
                    await asyncio.sleep(self.random.uniform(0.2, 1.0))
                if upstream is None:
                    upstream = await asyncio.open_connection(self.up_host, self.up_port)
                up_reader, up_writer = upstream
                up_writer.write(head + body)
                await up_writer.drain()
                r_start, r_h, r_body, r_head = await read_message(up_reader, True, method)
                closing = r_h.get("connection", "").lower() == "close" or (
                    r_start.startswith("HTTP/1.0") and r_h.get("connection", "").lower() != "keep-alive")
                if closing:
                    up_writer.close()
                    upstream = None
                if fault == "lost":
                    reset(writer)
                    return
                writer.write(r_head + r_body)
                await writer.drain()
                if closing:
                    return
        except Exception as e:  # a proxy bug must be visible, not silent
            self.stats["proxy.error"] += 1
            print(f"[fault-proxy] {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            writer.transport.abort()
        finally:
            if upstream is not None:
                upstream[1].close()
            if not writer.is_closing():
                writer.close()


async def serve(args):
    proxy = Proxy(args.upstream, args.rate, args.lost, args.seed)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.port, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(f"[fault-proxy] 127.0.0.1:{port} → {args.upstream}, faults on {args.rate:.0%} of calls"
          f"{f', lost answers on {args.lost:.0%}' if args.lost else ''}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=0.10, help="share of calls that get a fault")
    p.add_argument("--lost", type=float, default=0.0, help="share of calls whose answer is lost")
    p.add_argument("--seed", type=int, default=None)
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
