#!/usr/bin/env python3
"""Hostile clients: huge and malformed bodies, chunked uploads, garbage on the
wire, 1,500 seeded random mutations of a valid brief, 300 slow connections,
keep-alive and pipelining. The server must answer (JSON 200 or 4xx), never
5xx, never crash, and keep serving health throughout.

Run alone: python3 tests/integration/test_hostile.py
"""

import concurrent.futures
import http.client
import json
import os
import random
import select
import socket
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KEY1, PREFIX, CopydCase, _read_response_bytes, base_brief, main, parse_http_response,  # noqa: E402
                     raw_exchange, raw_request_bytes, request, sample_briefs, unique_brief)

IDLE_TIMEOUT = 3
GEN = PREFIX + "/v11/generate"
HEALTH = PREFIX + "/v11/health"


class Hostile(CopydCase):
    @classmethod
    def setUpClass(cls):
        # A short idle timeout: a connection the server cannot make sense of
        # may be left to time out (that is a close, which is allowed).
        cls.srv = cls.start_server(rate_limit=1000000, args=["--conn-timeout", str(IDLE_TIMEOUT)])

    def assertAlive(self, what=""):
        self.assertTrue(self.srv.alive(), "copyd died after %s; log:\n%s" % (what, self.srv.log_tail()))
        r = self.srv.get("/v11/health", key=None, timeout=5)
        self.assertStatus(r, 200, "health after %s" % what)

    def one_response(self, data, timeout=10):
        buf, closed = raw_exchange(self.srv.port, data, timeout=timeout)
        if not buf:
            return None, closed
        parsed = parse_http_response(buf)
        self.assertIsNotNone(parsed, "incomplete response to %r: %r" % (data[:80], buf[:300]))
        return parsed[0], closed

    # ---- size limits ----------------------------------------------------------
    def upload_and_read(self, head, pieces, timeout=10):
        """Sends the head, then the pieces while the server has not answered
        yet (an early answer is read before more is sent, so a close by the
        server cannot reset the answer away), then reads one answer."""
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=timeout)
        try:
            s.sendall(head)
            for p in pieces:
                r, _, _ = select.select([s], [], [], 0)
                if r:
                    break  # answered early
                try:
                    s.sendall(p)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    break
            buf, _ = _read_response_bytes(s, timeout)
            return buf
        finally:
            s.close()

    def test_12mb_content_length_413(self):
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\nContent-Type: application/json\r\n"
                "Content-Length: 12582912\r\n\r\n" % (GEN, KEY1)).encode()
        time_for_answer = [b""] * 20  # nothing: give the server a moment to answer on the headers alone
        pieces = time_for_answer + [b'{"product_description":"' + b"a" * 65000] + [b"a" * 65536] * 3
        buf = self.upload_and_read(head, pieces_with_pauses(pieces))
        parsed = parse_http_response_safe(buf)
        self.assertTrue(parsed, "a 413 answer before the body was sent: %r" % buf[:300])
        self.assertErrorBody(parsed[0], 413, "payload_too_large")
        self.assertAlive("12 MB Content-Length")

    def test_chunked_over_limit_413(self):
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (GEN, KEY1)).encode()
        piece = b"a" * 65536
        pieces = [b"%x\r\n" % 25 + b'{"product_description":"a' + b"\r\n"]
        pieces += [b"%x\r\n" % len(piece) + piece + b"\r\n"] * 192  # 12 MiB
        pieces += [b"0\r\n\r\n"]
        buf = self.upload_and_read(head, pieces)
        parsed = parse_http_response_safe(buf)
        self.assertTrue(parsed, "a 413 answer to a 12 MB chunked body: %r" % buf[:300])
        self.assertErrorBody(parsed[0], 413, "payload_too_large")
        self.assertAlive("12 MB chunked body")

    def test_big_json_values(self):
        # 10,000 key points: a 422 naming key_points, not a crash or a 5xx
        r = self.srv.post("/v11/generate", base_brief(key_points=["punto %d" % i for i in range(10000)]))
        self.assertValidation(r, ["body", "key_points"])
        # a 1 MB string
        r = self.srv.post("/v11/generate", base_brief(product_description="á" * (1 << 19)))
        j = self.assertValidation(r, ["body", "product_description"])
        self.assertEqual(j["detail"][0]["type"], "string_too_long")
        # a 10,000-item batch is refused by size
        r = self.srv.post("/v11/batch-generate", [{"x": i} for i in range(10000)])
        self.assertErrorBody(r, 400, "batch_too_large")
        # 10,000 unknown members are ignored
        b = base_brief()
        for i in range(10000):
            b["extra_%d" % i] = i
        self.assertStatus(self.srv.post("/v11/generate", b), 200)
        self.assertAlive("big JSON values")

    def test_deep_nesting(self):
        bodies = [
            b"[" * 100000,
            b"[" * 100000 + b"]" * 100000,
            b'{"product_description":' + b"[" * 100000 + b"]" * 100000 + b"}",
            b'{"a":' * 100000 + b"1" + b"}" * 100000,
            b'{"website_info":' + b'{"a":' * 5000 + b"{}" + b"}" * 5001,
        ]
        for body in bodies:
            r = self.srv.post("/v11/generate", body)
            self.assertErrorBody(r, 400, "invalid_json")
        for path in ("/v11/batch-generate", "/feedback", "/batch-status"):
            self.assertErrorBody(self.srv.post(path, b"[" * 100000), 400, "invalid_json")
        self.assertAlive("100k-deep nesting")

    def test_wrong_types_and_content(self):
        cases = [
            (base_brief(product_description={"$gt": ""}), 422),
            (base_brief(key_points=[{"a": 1}, ["b"]]), 422),
            (base_brief(restrictions=[None]), 422),
            (base_brief(max_length=1e308), 422),
            (base_brief(max_length=-1e308), 422),
            (base_brief(max_length=12.5), 422),
            (base_brief(creativity_level=[]), 422),
        ]
        for body, st in cases:
            self.assertStatus(self.srv.post("/v11/generate", body), st)
        self.assertErrorBody(self.srv.post("/v11/generate", b"\xef\xbb\xbf" + json.dumps(base_brief()).encode(),
                                           content_type="text/html"), 415, "unsupported_media_type")
        self.assertAlive("wrong types")

    # ---- chunked uploads ------------------------------------------------------
    def test_chunked_bodies_parse(self):
        for name, split in (("one chunk", lambda d: [d]),
                            ("three chunks", lambda d: [d[:10], d[10:40], d[40:]]),
                            ("byte chunks", lambda d: [d[i:i + 1] for i in range(len(d))]),
                            ("utf-8 split", lambda d: split_inside_multibyte(d))):
            with self.subTest(chunking=name):
                tid = "chunk-" + uuid.uuid4().hex
                data = json.dumps(unique_brief("ch", tracking_id=tid), ensure_ascii=False).encode()
                req = raw_request_bytes("POST", GEN, chunked_parts=split(data))
                resp, _ = self.one_response(req)
                self.assertIsNotNone(resp, "no answer to a chunked upload")
                self.assertStatus(resp, 200)
                self.assertEqual(resp.json["result"]["tracking_id"], tid)
        # chunk extensions, upper-case hex and a trailer
        tid = "chunk-" + uuid.uuid4().hex
        data = json.dumps(unique_brief("ext", tracking_id=tid)).encode()
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (GEN, KEY1)).encode()
        a, b = data[:30], data[30:]
        body = (b"%X;name=value\r\n" % len(a) + a + b"\r\n" + b"%X\r\n" % len(b) + b + b"\r\n" +
                b"0\r\nX-Trailer: yes\r\n\r\n")
        resp, _ = self.one_response(head + body)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["result"]["tracking_id"], tid)
        # a chunked body that is malformed JSON is a normal 400
        resp, _ = self.one_response(raw_request_bytes("POST", GEN, chunked_parts=[b'{"a":', b"}"]))
        self.assertErrorBody(resp, 400, "invalid_json")

    def test_bad_chunking(self):
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (GEN, KEY1)).encode()
        for tail in (b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nabcdefghij\r\n0\r\n\r\n",
                     b"-5\r\nabcde\r\n0\r\n\r\n", b"ffffffffffffffffffff\r\na\r\n0\r\n\r\n"):
            resp, closed = self.one_response(head + tail, timeout=5)
            self.assertTrue(resp is not None or closed, "no answer and no close for %r" % tail)
            if resp is not None:
                self.assertTrue(400 <= resp.status < 500, "4xx for bad chunking %r: %r" % (tail, resp))
        self.assertAlive("bad chunking")

    # ---- garbage on the wire --------------------------------------------------------
    def test_garbage_request_lines(self):
        h = "Host: 127.0.0.1\r\n"
        cases = [  # (bytes, extra allowed statuses)
            (b"GARBAGE\r\n\r\n", ()),
            (b"GET\r\n\r\n", ()),
            (b"GET /\r\n\r\n", ()),
            (b"GET / HTTP/1.1 extra words\r\n\r\n", ()),
            (b"\x00\x01\x02\xff\xfe\xfd\r\n\r\n", ()),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n", ()),  # TLS hello
            (("GET %s HTTP/9.9\r\n%s\r\n" % (HEALTH, h)).encode(), (505,)),
            (("GET %s HTTP/1.1\r\n%sBad Header Without Colon\r\n\r\n" % (HEALTH, h)).encode(), ()),
            (("GET %s HTTP/1.1\r\n%sContent-Length: -5\r\n\r\n" % (HEALTH, h)).encode(), ()),
            (("GET %s HTTP/1.1\r\n%sContent-Length: abc\r\n\r\n" % (HEALTH, h)).encode(), ()),
            (("POST %s HTTP/1.1\r\n%sContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde" % (GEN, h)).encode(),
             ()),
            (("POST %s HTTP/1.1\r\n%sX-API-Key: %s\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
              "0\r\n\r\n" % (GEN, h, KEY1)).encode(), ()),
            (("POST %s HTTP/1.1\r\n%sTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n"
              % (GEN, h)).encode(), (501, MUST_ANSWER)),  # RFC 9112 6.1: chunked not last -> 400 and close
            (b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n" + h.encode() + b"\r\n", ()),
            (("GET %s HTTP/1.1\r\n%sX-Big: %s\r\n\r\n" % (HEALTH, h, "b" * 100000)).encode(), ()),
            (("GET %s HTTP/1.1\r\n%s" % (HEALTH, h)).encode() + b"".join(
                b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n", ()),
            (b"GET /copywriting/v11/he\xffalth HTTP/1.1\r\n" + h.encode() + b"\r\n", ()),
            (b"GET /copywriting/v11/%zz%00%ff HTTP/1.1\r\n" + h.encode() + b"\r\n", ()),
            (b"GET /copywriting/../../../../etc/passwd HTTP/1.1\r\n" + h.encode() + b"\r\n", ()),
            (b"G\x00T /copywriting/v11/health HTTP/1.1\r\n" + h.encode() + b"\r\n", (501,)),
            (b"M" * 5000 + b" / HTTP/1.1\r\n" + h.encode() + b"\r\n", (501,)),  # unknown method
            (b"GET /copywriting/v11/health HTTP/1.1\r\n\r\n", (200,)),  # no Host: 400 by RFC, tolerated
            (b"GET /copywriting/v11/health HTTP/1.1\n" + h.encode()[:-2] + b"\n\n", (200,)),  # bare LF
            (b"GET /copywriting/v11/health HTTP/1.1\r\n" + h.encode() + b" folded: line\r\n\r\n", (200,)),
        ]
        for data, extra in cases:
            with self.subTest(data=data[:60]):
                buf, closed = raw_exchange(self.srv.port, data, timeout=IDLE_TIMEOUT + 4)
                self.assertTrue(buf or closed, "neither an answer nor a close for %r" % data[:60])
                if MUST_ANSWER in extra:
                    self.assertTrue(buf, "an answer (not a timeout) for %r" % data[:90])
                if buf:
                    parsed = parse_http_response_safe(buf)
                    self.assertTrue(parsed, "not an HTTP answer: %r" % buf[:200])
                    st = parsed[0].status
                    self.assertTrue(400 <= st < 500 or st in extra,
                                    "status %d for %r" % (st, data[:60]))
                self.assertAlive("garbage %r" % data[:40])

    def test_client_vanishes_mid_body(self):
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
            data = raw_request_bytes("POST", GEN, body=json.dumps(base_brief()).encode())
            s.sendall(data[: len(data) - 20])
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # RST
        self.assertAlive("clients vanishing mid-body")

    # ---- random mutations -----------------------------------------------------------
    def test_1500_random_mutations(self):
        rng = random.Random(1234)
        seeds = [b for b in sample_briefs() if b.get("language") in ("es", "en")] + [base_brief()]
        jobs = []
        for i in range(1500):
            brief = rng.choice(seeds)
            body = mutate(rng, brief)
            path = PREFIX + ("/generate" if i % 3 == 0 else "/v11/generate")
            jobs.append((i, path, body))
        port = self.srv.port
        failures = []

        def send(job):
            i, path, body = job
            try:
                r = request(port, "POST", path, body=body, timeout=20)
            except (OSError, http.client.HTTPException) as e:
                return (i, body, "no answer: %r" % e)
            if not (r.status == 200 or 400 <= r.status < 500):
                return (i, body, "status %d: %r" % (r.status, r.body[:300]))
            try:
                j = r.json
            except ValueError:
                return (i, body, "not JSON (%d): %r" % (r.status, r.body[:200]))
            if r.status != 200 and not (isinstance(j, dict) and isinstance(j.get("error"), dict)
                                        and j["error"].get("code")):
                return (i, body, "error body without error.code: %r" % r.body[:200])
            if r.status == 200 and not (isinstance(j, dict) and "variants" in (j.get("result") or j)):
                return (i, body, "200 without an output: %r" % r.body[:200])
            return None

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            for res in ex.map(send, jobs):
                if res is not None:
                    failures.append(res)
        self.assertTrue(self.srv.alive(), "copyd died during mutations; log:\n" + self.srv.log_tail())
        if failures:
            lines = ["#%d %s\n   body=%r" % (i, why, body[:200]) for i, body, why in failures[:10]]
            self.fail("%d of 1500 mutations misanswered:\n%s" % (len(failures), "\n".join(lines)))
        self.assertAlive("1500 mutations")

    # ---- slow clients -----------------------------------------------------------
    def test_300_slow_dribblers(self):
        n = 300
        socks = []
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
                s.setblocking(False)
                socks.append(s)
        except OSError as e:
            for s in socks:
                s.close()
            self.fail("could not open %d connections: %r (opened %d)" % (n, e, len(socks)))
        self.addCleanup(lambda: [s.close() for s in socks])
        payload = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: %s\r\n\r\n" % (HEALTH, "z" * 200)).encode()
        stop = threading.Event()
        pos = [0]

        def dribble():
            while not stop.is_set() and pos[0] < len(payload) - 4:
                b = payload[pos[0]:pos[0] + 1]
                for s in socks:
                    try:
                        s.send(b)
                    except OSError:
                        pass  # the server may close slow clients: allowed
                pos[0] += 1
                stop.wait(0.5)

        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        try:
            for _ in range(8):
                time.sleep(0.5)
                try:
                    r = request(self.srv.port, "GET", HEALTH, key=None, timeout=2)
                except (OSError, http.client.HTTPException) as e:
                    self.fail("health did not answer in 2 s with %d slow clients: %r" % (n, e))
                self.assertStatus(r, 200)
                r = request(self.srv.port, "POST", GEN, body=unique_brief("slow"), timeout=5)
                self.assertStatus(r, 200)
        finally:
            stop.set()
            t.join(5)
            for s in socks:
                s.close()
        self.assertGreater(pos[0], 4, "bytes were dribbled")
        self.assertAlive("300 slow clients")

    # ---- keep-alive and pipelining ------------------------------------------------
    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        self.addCleanup(conn.close)
        hdr = {"X-API-Key": KEY1, "Content-Type": "application/json"}
        b = json.dumps(unique_brief("ka")).encode()
        steps = [("GET", HEALTH, None, 200), ("POST", GEN, b, 200), ("GET", PREFIX + "/models", None, 200),
                 ("POST", GEN, b, 200), ("GET", PREFIX + "/task-status/x", None, 200),
                 ("POST", PREFIX + "/generate", b, 200), ("GET", HEALTH, None, 200)]
        first_sock = None
        for method, path, body, st in steps:
            conn.request(method, path, body=body, headers=hdr)
            r = conn.getresponse()
            data = r.read()
            self.assertEqual(r.status, st, "%s %s: %r" % (method, path, data[:200]))
            self.assertNotEqual((r.getheader("Connection") or "").lower(), "close")
            json.loads(data.decode())
            if first_sock is None:
                first_sock = conn.sock
            self.assertIs(conn.sock, first_sock, "the same connection served %s %s" % (method, path))
        self.assertTrue(json.loads(data)["status"])

    def test_pipelining(self):
        one = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % HEALTH).encode()
        two = raw_request_bytes("POST", GEN, body=json.dumps(unique_brief("pipe")).encode())
        three = ("GET %s/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % PREFIX).encode()
        buf, _ = raw_exchange(self.srv.port, one + two + three, timeout=10, read_all=True)
        statuses = []
        rest = buf
        while rest:
            parsed = parse_http_response_safe(rest)
            if not parsed:
                break
            resp, rest = parsed
            statuses.append(resp.status)
            json.loads(resp.body.decode())
        self.assertEqual(statuses, [200, 200, 200], "three pipelined answers in order: %r" % buf[:400])


def pieces_with_pauses(pieces):
    """Empty pieces become 50 ms pauses (a generator, so the pause happens
    between the readiness checks of upload_and_read)."""
    for p in pieces:
        if not p:
            time.sleep(0.05)
        yield p


MUST_ANSWER = -1  # marker in the allowed statuses: a silent close is not enough


def parse_http_response_safe(buf):
    try:
        return parse_http_response(buf)
    except ValueError:
        return None


def split_inside_multibyte(data):
    """Chunks that cut a multi-byte UTF-8 sequence in half."""
    for i, c in enumerate(data):
        if c >= 0xC0:
            return [data[:i + 1], data[i + 1:]]
    return [data]


PALETTE = [b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\x00", b"\xff", b"\xc3", b"\xe2\x82",
           b"\\u0000", b"\\ud800", b"null", b"true", b"1e999", b"-", b"NaN", b"0x10", b"\t", b"\n", b" ",
           b'"tone":', b'"language":"ru",', b"\xf0\x9f\x98\x80", b"//", b"/*", b"'", b"[[[[[[[["]


def random_value(rng, depth=0):
    k = rng.randrange(11)
    if k == 0:
        return None
    if k == 1:
        return rng.choice([True, False])
    if k == 2:
        return rng.choice([0, -1, 1, 2 ** 31, -(2 ** 63), 2 ** 64, 10 ** 30, 7])
    if k == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, 3.14159, 1e-7, 2.5])
    if k == 4:
        return ""
    if k == 5:
        return "".join(rng.choice("ab ñ€😀\"\\/\t\u2028") for _ in range(rng.randrange(1, 40)))
    if k == 6:
        return "x" * rng.choice([1, 100, 801, 2001, 5000])
    if k == 7 and depth < 3:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if k == 8 and depth < 3:
        return {rng.choice(["a", "tone", "max_variants", "formality_level", ""]): random_value(rng, depth + 1)
                for _ in range(rng.randrange(0, 3))}
    if k == 9:
        return rng.choice(["instagram", "Google Ads", "x", "casual", "es", "en", "ru", "creative", "ad_copy"])
    return rng.choice([[], {}, ["Comodidad"] * 16, list(range(3))])


def swap_types(rng, brief):
    b = json.loads(json.dumps(brief))
    keys = list(b.keys()) + ["max_length", "min_length", "variant_settings", "brand_voice", "creativity_level",
                             "keywords", "website_info", "timeout", "tracking_id", "content_type", "use_case"]
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice(keys)
        cur = b.get(key)
        if isinstance(cur, list) and cur and rng.random() < 0.5:
            cur[rng.randrange(len(cur))] = random_value(rng)
        elif isinstance(cur, dict) and cur and rng.random() < 0.5:
            cur[rng.choice(list(cur.keys()))] = random_value(rng)
        elif rng.random() < 0.15:
            b.pop(key, None)
        else:
            b[key] = random_value(rng)
    return json.dumps(b, ensure_ascii=rng.random() < 0.5).encode("utf-8")


def mutate(rng, brief):
    """One seeded mutation of a brief: byte flips, deletions, insertions or
    type swaps of JSON values."""
    kind = rng.randrange(4)
    if kind == 3:
        return swap_types(rng, brief)
    data = bytearray(json.dumps(brief, ensure_ascii=False).encode("utf-8"))
    for _ in range(rng.randrange(1, 4)):
        if not data:
            break
        if kind == 0:      # byte flips
            p = rng.randrange(len(data))
            data[p] = data[p] ^ (1 << rng.randrange(8)) if rng.random() < 0.7 else rng.randrange(256)
        elif kind == 1:    # deletions
            p = rng.randrange(len(data))
            del data[p:p + rng.randrange(1, 24)]
        else:              # insertions
            p = rng.randrange(len(data) + 1)
            ins = rng.choice(PALETTE) if rng.random() < 0.8 else bytes(rng.randrange(256)
                                                                      for _ in range(rng.randrange(1, 8)))
            data[p:p] = ins
    return bytes(data)


if __name__ == "__main__":
    main()
