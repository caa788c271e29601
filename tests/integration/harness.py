"""Shared helpers for the copyd integration tests (Python 3 standard library only).

Every test file imports this module. It starts real processes (`copyd serve`,
`redis-server`) on free ports with their own temporary directories, talks to
them over real sockets, and always stops what it started: the test cases
register the stops with addCleanup/addClassCleanup so a failing assertion
never leaves a process behind.

Environment:
  COPYD_BIN         the copyd binary (default /work/main/build/copyd)
  COPYD_SOURCE_DIR  repository root (set by CTest); the shared dir defaults to
                    $COPYD_SOURCE_DIR/../shared
  COPYD_SHARED      the shared dir (sample briefs), default /work/shared
  COPYD_IT_KEEP=1   keep temporary directories (data dirs and server logs)
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("COPYD_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
COPYD_BIN = os.environ.get("COPYD_BIN") or "/work/main/build/copyd"


def _shared_dir():
    if os.environ.get("COPYD_SHARED"):
        return os.environ["COPYD_SHARED"]
    cand = os.path.abspath(os.path.join(SOURCE_DIR, "..", "shared"))
    if os.path.isdir(cand):
        return cand
    return "/work/shared"


SHARED_DIR = _shared_dir()
PREFIX = "/copywriting"
KEY1 = "it-key-one"
KEY2 = "it-key-two"
KEEP = os.environ.get("COPYD_IT_KEEP") == "1"


# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------

def free_port():
    """A TCP port that was free a moment ago (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    return d


def remove_tmpdir(d):
    if not KEEP:
        shutil.rmtree(d, ignore_errors=True)


def poll_until(fn, timeout, interval=0.1):
    """Calls fn() until it returns a true value or `timeout` seconds pass.
    Returns the last value (false on timeout). Bounded by construction."""
    deadline = time.monotonic() + timeout
    val = None
    while True:
        try:
            val = fn()
        except (OSError, http.client.HTTPException, ValueError):
            val = None
        if val:
            return val
        if time.monotonic() >= deadline:
            return val
        time.sleep(interval)


def sample_briefs():
    with open(os.path.join(SHARED_DIR, "briefs", "sample.json"), encoding="utf-8") as f:
        return json.load(f)


def base_brief(**over):
    """A valid Spanish brief that the template engine (es, en) can write.
    Tests change product_description to get distinct cache keys."""
    b = {
        "product_description": "Zapatos deportivos de alta gama",
        "target_platform": "instagram",
        "tone": "inspirational",
        "target_audience": "Jóvenes activos",
        "key_points": ["Comodidad", "Estilo", "Durabilidad"],
        "instructions": "Enfatiza la innovación.",
        "restrictions": ["no mencionar precio"],
        "creativity_level": 0.8,
        "language": "es",
    }
    b.update(over)
    return b


def unique_brief(tag="", **over):
    """A brief whose product description nobody else uses (a cache miss)."""
    u = uuid.uuid4().hex[:10]
    return base_brief(product_description="Mochila urbana modelo %s %s" % (tag, u), **over)


def find_key(obj, name):
    """All values stored under key `name` anywhere in a JSON value."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == name:
                out.append(v)
            out.extend(find_key(v, name))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(find_key(v, name))
    return out


def find_dict_with(obj, pred):
    """All dicts anywhere in obj (including obj) for which pred(dict, key) holds,
    where key is the member name the dict was found under ('' at the root)."""
    out = []

    def walk(o, k):
        if isinstance(o, dict):
            if pred(o, k):
                out.append(o)
            for kk, vv in o.items():
                walk(vv, kk)
        elif isinstance(o, list):
            for vv in o:
                walk(vv, k)

    walk(obj, "")
    return out


def redis_section(cache_stats):
    """The Redis part of a cache_stats object: a dict found under a key that
    names redis and that carries an error counter."""
    cands = find_dict_with(cache_stats, lambda d, k: "redis" in k.lower() and
                           any("error" in kk for kk in d))
    return cands[0] if cands else None


def redis_errors(cache_stats):
    sec = redis_section(cache_stats)
    if sec is None:
        return None
    for k in ("errors", "redis_errors", "error_count"):
        if isinstance(sec.get(k), (int, float)) and not isinstance(sec.get(k), bool):
            return sec[k]
    for k, v in sec.items():
        if "error" in k and isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return None


# --------------------------------------------------------------------------
# HTTP helpers
# --------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # dict, lower-case names
        self.body = body                # bytes
        self._json = None
        self._json_done = False

    @property
    def json(self):
        if not self._json_done:
            self._json = json.loads(self.body.decode("utf-8"))
            self._json_done = True
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        b = self.body[:600]
        return "<Response %s %r>" % (self.status, b)


def request(port, method, path, body=None, headers=None, key=KEY1, timeout=30,
            content_type="application/json", host="127.0.0.1"):
    """One HTTP/1.1 request on a fresh connection. `body` may be bytes, str or
    a JSON-serialisable value (encoded as JSON). `key` None sends no API key.
    `content_type` None sends no Content-Type header. Returns Response."""
    hdrs = {}
    if key is not None:
        hdrs["X-API-Key"] = key
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if content_type is not None:
            hdrs["Content-Type"] = content_type
    if headers:
        hdrs.update(headers)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, payload)
    finally:
        conn.close()


def qs(params):
    return urllib.parse.urlencode(params)


def raw_exchange(port, data, timeout=5.0, read_all=False, host="127.0.0.1"):
    """Sends raw bytes and reads what comes back. Returns (bytes_received,
    closed) where closed tells whether the server closed the connection.
    Stops reading after one complete response unless read_all is set (then it
    reads until close or timeout). Send errors (the server closed early) are
    tolerated: whatever the server answered is still read."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        try:
            if data:
                s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_response_bytes(s, timeout, read_all)
    finally:
        s.close()


def _read_response_bytes(s, timeout, read_all=False):
    buf = b""
    closed = False
    deadline = time.monotonic() + timeout
    s.settimeout(timeout)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        buf += chunk
        if not read_all and _complete_response(buf):
            break
    return buf, closed


def _complete_response(buf):
    try:
        parsed = parse_http_response(buf)
    except ValueError:
        return False
    return parsed is not None


def parse_http_response(buf):
    """Parses one HTTP/1.x response from bytes. Returns (Response, rest) or
    None when incomplete; raises ValueError when it is not HTTP."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        if len(buf) >= 5 and not buf.startswith(b"HTTP/"):
            raise ValueError("not an HTTP response: %r" % buf[:80])
        return None
    head = buf[:i].decode("iso-8859-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError("bad status line %r" % lines[0])
    status = int(parts[1])
    headers = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    rest = buf[i + 4:]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        pos = 0
        while True:
            j = rest.find(b"\r\n", pos)
            if j < 0:
                return None
            size = int(rest[pos:j].split(b";")[0].strip() or b"0", 16)
            if size == 0:
                k = rest.find(b"\r\n\r\n", j)
                if k < 0:
                    if rest[j:j + 4] == b"\r\n\r\n" or rest.endswith(b"0\r\n\r\n"):
                        return Response(status, headers, body), b""
                    return None
                return Response(status, headers, body), rest[k + 4:]
            if len(rest) < j + 2 + size + 2:
                return None
            body += rest[j + 2:j + 2 + size]
            pos = j + 2 + size + 2
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(rest) < n:
            return None
        return Response(status, headers, rest[:n]), rest[n:]
    if status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b""), rest
    # No length: body runs to close; caller decides.
    return None


def raw_request_bytes(method, path, body=b"", headers=None, key=KEY1, chunked_parts=None):
    """Builds an HTTP/1.1 request as bytes. With chunked_parts (a list of
    bytes) the body is sent with Transfer-Encoding: chunked."""
    h = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if key is not None:
        h.append("X-API-Key: %s" % key)
    h.append("Content-Type: application/json")
    for k, v in (headers or {}).items():
        h.append("%s: %s" % (k, v))
    if chunked_parts is not None:
        h.append("Transfer-Encoding: chunked")
        out = ("\r\n".join(h) + "\r\n\r\n").encode("latin-1")
        for p in chunked_parts:
            out += b"%x\r\n" % len(p) + p + b"\r\n"
        out += b"0\r\n\r\n"
        return out
    h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + body


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------

class CopydServer:
    """One `copyd serve` process on a free port with its own data dir and a
    stderr log file."""

    def __init__(self, args=None, env=None, data_dir=None, keys=(KEY1, KEY2),
                 rate_limit=1000, redis_url=None, port=None, pass_key_flag=True):
        self.port = port or free_port()
        self.own_data_dir = data_dir is None
        self.data_dir = data_dir or make_tmpdir("copyd-it-data-")
        self.log_dir = make_tmpdir("copyd-it-log-")
        self.log_path = os.path.join(self.log_dir, "copyd.log")
        self.args = [COPYD_BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                     "--data-dir", self.data_dir]
        if keys and pass_key_flag:
            self.args += ["--api-key", ",".join(keys)]
        if rate_limit is not None:
            self.args += ["--rate-limit", str(rate_limit)]
        if redis_url:
            self.args += ["--redis-url", redis_url]
        self.args += list(args or [])
        self.env = dict(os.environ)
        for k in ("API_KEY", "COPYWRITING_API_KEY", "REDIS_URL", "PORT", "HOST", "COPYD_DATA_DIR",
                  "MAX_WORKERS", "BATCH_SIZE", "CACHE_SIZE", "CACHE_TTL", "MAX_BATCH_SIZE",
                  "COPYD_MAX_BODY", "COPYD_RATE_LIMIT"):
            self.env.pop(k, None)
        if env:
            self.env.update(env)
        self.proc = None
        self._log = None

    # -- lifecycle -------------------------------------------------------
    def start(self, ready_timeout=30):
        if not os.path.exists(COPYD_BIN):
            raise unittest.SkipTest("copyd binary not found at %s (set COPYD_BIN)" % COPYD_BIN)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, env=self.env)
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("copyd exited with %s before it was ready; log:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                r = request(self.port, "GET", PREFIX + "/v11/health", key=None, timeout=2)
                if r.status in (200, 503):
                    return r
                last = r
            except (OSError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.1)
        raise AssertionError("copyd not ready after %ss (last: %r); log:\n%s"
                             % (timeout, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=20):
        """SIGTERM, wait, SIGKILL if it does not go. Returns the exit code."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
                    rc = None
            else:
                rc = self.proc.returncode
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def cleanup(self):
        """Stop and remove temporary directories (for addCleanup)."""
        try:
            self.stop()
        finally:
            if self.own_data_dir:
                remove_tmpdir(self.data_dir)
            remove_tmpdir(self.log_dir)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- requests --------------------------------------------------------
    def req(self, method, path, body=None, **kw):
        """path is relative to /copywriting unless it starts with '//'
        (then the '//' is replaced by '/', for routes outside the prefix)."""
        if path.startswith("//"):
            full = path[1:]
        else:
            full = PREFIX + path
        return request(self.port, method, full, body=body, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body=body, **kw)

    def health(self, timeout=5):
        return self.req("GET", "/v11/health", key=None, timeout=timeout)


class RedisServer:
    """A real redis-server without persistence on 127.0.0.1."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = make_tmpdir("copyd-it-redis-")
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self, timeout=10):
        exe = shutil.which("redis-server")
        if not exe:
            raise unittest.SkipTest("redis-server not installed")
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen([exe, "--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
                                      "--port", str(self.port), "--dir", self.dir],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        ok = poll_until(self.ping, timeout, 0.05)
        if not ok:
            self.stop()
            raise AssertionError("redis-server did not start on port %d" % self.port)
        return self

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args):
        """Sends one command (RESP) and returns the raw first reply bytes."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(out)
            return s.recv(65536)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def cleanup(self):
        try:
            self.stop()
        finally:
            remove_tmpdir(self.dir)


# --------------------------------------------------------------------------
# test-case base
# --------------------------------------------------------------------------

class CopydCase(unittest.TestCase):
    """Base class with assertion helpers shared by the files."""

    maxDiff = 4000

    @classmethod
    def start_server(cls, **kw):
        s = CopydServer(**kw)
        cls.addClassCleanup(s.cleanup)
        s.start()
        return s

    def new_server(self, **kw):
        s = CopydServer(**kw)
        self.addCleanup(s.cleanup)
        s.start()
        return s

    def new_redis(self, port=None):
        r = RedisServer(port)
        self.addCleanup(r.cleanup)
        r.start()
        return r

    # -- assertions --------------------------------------------------------
    def assertStatus(self, r, status, msg=None):
        self.assertEqual(r.status, status, msg or ("unexpected status; body: %r" % r.body[:1500]))

    def assertErrorBody(self, r, status, code, detail=None, field=None):
        """SPEC 4: {"detail": ..., "error": {"code","message","field"}}."""
        self.assertStatus(r, status)
        ct = r.header("content-type") or ""
        self.assertIn("application/json", ct, "error answers are JSON")
        j = r.json
        self.assertIsInstance(j, dict)
        self.assertIn("detail", j)
        self.assertIn("error", j)
        err = j["error"]
        self.assertIsInstance(err, dict)
        for k in ("code", "message", "field"):
            self.assertIn(k, err, "error object lacks %r: %r" % (k, err))
        self.assertEqual(err["code"], code, "error code; body %r" % j)
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"], "error.message is empty")
        if status == 422:
            self.assertIsInstance(j["detail"], list, "422 detail is a FastAPI list")
            self.assertGreaterEqual(len(j["detail"]), 1)
            for item in j["detail"]:
                self.assertIsInstance(item, dict)
                for k in ("loc", "msg", "type"):
                    self.assertIn(k, item)
                self.assertIsInstance(item["loc"], list)
                self.assertIsInstance(item["msg"], str)
        else:
            self.assertIsInstance(j["detail"], str)
        if detail is not None:
            self.assertEqual(j["detail"], detail)
        if field is not None:
            self.assertEqual(err["field"], field)
        return j

    def assertValidation(self, r, loc=None):
        """422 validation_error whose detail names `loc` (a list such as
        ["body", "key_points", 3]) in one of its entries."""
        j = self.assertErrorBody(r, 422, "validation_error")
        if loc is not None:
            locs = [d["loc"] for d in j["detail"]]
            self.assertIn(loc, locs, "422 detail does not name %r: %r" % (loc, j["detail"]))
        return j

    def assertOutput(self, out, tracking_id=None):
        """SPEC 3 output object."""
        self.assertIsInstance(out, dict)
        for k in ("variants", "best_variant_id", "confidence_score", "model_used", "generation_time",
                  "tokens_used", "tracking_id", "optimization_suggestions", "created_at",
                  "extra_metadata"):
            self.assertIn(k, out, "output lacks %r" % k)
        self.assertIsInstance(out["variants"], list)
        self.assertGreaterEqual(len(out["variants"]), 1)
        ids = []
        for v in out["variants"]:
            for k in ("variant_id", "headline", "primary_text", "call_to_action", "hashtags",
                      "character_count", "word_count", "readability_score", "engagement_prediction",
                      "platform_tips", "evaluation_metrics", "compliance"):
                self.assertIn(k, v, "variant lacks %r" % k)
            self.assertIsInstance(v["hashtags"], list)
            for h in v["hashtags"]:
                self.assertTrue(isinstance(h, str) and h.startswith("#"), "hashtag %r" % h)
            self.assertTrue(0 <= v["readability_score"] <= 100, v["readability_score"])
            self.assertTrue(0 <= v["engagement_prediction"] <= 1, v["engagement_prediction"])
            self.assertIsInstance(v["evaluation_metrics"], list)
            for m in v["evaluation_metrics"]:
                self.assertIn("name", m)
                self.assertIn("value", m)
            self.assertIsInstance(v["compliance"], dict)
            self.assertIn("passed", v["compliance"])
            ids.append(v["variant_id"])
        self.assertEqual(len(ids), len(set(ids)), "variant ids are unique")
        self.assertIn(out["best_variant_id"], ids)
        self.assertIsInstance(out["optimization_suggestions"], list)
        em = out["extra_metadata"]
        self.assertIsInstance(em, dict)
        self.assertIn("engine", em)
        self.assertIn(em.get("cache"), ("none", "memory", "redis"),
                      "extra_metadata.cache names the cache level that answered: %r" % em)
        if tracking_id is not None:
            self.assertEqual(out["tracking_id"], tracking_id)
        else:
            self.assertIsInstance(out["tracking_id"], str)
            self.assertTrue(out["tracking_id"])
        return out

    def assertEnvelope(self, j):
        """SPEC 1 /v11/generate envelope."""
        for k in ("version", "result", "processing_time_seconds", "cache_hit", "timestamp",
                  "system_stats_before", "system_stats_after"):
            self.assertIn(k, j, "envelope lacks %r" % k)
        self.assertEqual(j["version"], "v11")
        self.assertIsInstance(j["cache_hit"], bool)
        self.assertIsInstance(j["processing_time_seconds"], (int, float))
        self.assertIsoTime(j["timestamp"])
        return j["result"]

    def assertIsoTime(self, s):
        self.assertIsInstance(s, str)
        parse_iso(s)  # raises on a bad value

    def assertSystemStats(self, st):
        self.assertIsInstance(st, dict)
        for k in ("cpu_percent", "memory_percent", "memory_available_gb", "disk_percent", "disk_free_gb"):
            self.assertIn(k, st, "system_stats lacks %r" % k)
            self.assertIsInstance(st[k], (int, float))
        self.assertTrue(0 <= st["memory_percent"] <= 100)
        self.assertTrue(0 <= st["disk_percent"] <= 100)


def parse_iso(s):
    """Parses an ISO 8601 timestamp (with Z or an offset, or naive)."""
    import datetime
    t = s.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(t)


def main():
    """unittest.main with its normal summary; exits non-zero on failure."""
    unittest.main(verbosity=2)


def cli(*args, stdin_data=None, timeout=30):
    """Runs the copyd binary (not as a server); returns CompletedProcess."""
    if not os.path.exists(COPYD_BIN):
        raise unittest.SkipTest("copyd binary not found at %s (set COPYD_BIN)" % COPYD_BIN)
    env = dict(os.environ)
    for k in ("API_KEY", "COPYWRITING_API_KEY", "REDIS_URL", "PORT"):
        env.pop(k, None)
    return subprocess.run([COPYD_BIN] + list(args), input=stdin_data, capture_output=True,
                          timeout=timeout, env=env)

