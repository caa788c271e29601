#!/usr/bin/env python3
"""The Redis level of the cache with a real redis-server: two copyd processes
share their work; Redis dying mid-run fails no request, health goes
"degraded", and when Redis comes back on the same port both servers reconnect
by themselves and share hits again.

Run alone: python3 tests/integration/test_cache_redis.py
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CopydCase, CopydServer, main, poll_until, redis_errors,  # noqa: E402
                     redis_section, unique_brief)


class RedisShared(CopydCase):
    def gen(self, srv, brief, timeout=30):
        r = srv.post("/v11/generate", brief, timeout=timeout)
        self.assertStatus(r, 200)
        return r.json

    def health_status(self, srv):
        r = srv.health()
        self.assertIn(r.status, (200, 503))
        return r.json["status"]

    def cache_stats(self, srv):
        r = srv.get("/v11/cache/stats")
        self.assertStatus(r, 200)
        return r.json["cache_stats"]

    @staticmethod
    def dbsize(redis):
        reply = redis.command("DBSIZE")  # b":N\r\n"
        return int(reply[1:].split(b"\r\n")[0])

    def assertSharedHit(self, a, b, tag, redis):
        brief = unique_brief(tag)
        before = self.dbsize(redis)
        ja = self.gen(a, brief)
        self.assertFalse(ja["cache_hit"])
        self.assertEqual(ja["result"]["extra_metadata"]["cache"], "none")
        # Redis is written back in the background: wait (bounded) for A's entry.
        self.assertTrue(poll_until(lambda: self.dbsize(redis) > before, 10, 0.05), "A wrote its output to Redis")
        jb = self.gen(b, brief)
        self.assertTrue(jb["cache_hit"], "a brief generated on A is a hit on B")
        self.assertEqual(jb["result"]["extra_metadata"]["cache"], "redis")
        self.assertEqual(jb["result"]["variants"], ja["result"]["variants"])
        jb2 = self.gen(b, brief)
        self.assertTrue(jb2["cache_hit"])
        self.assertEqual(jb2["result"]["extra_metadata"]["cache"], "memory",
                         "a Redis hit is copied into the memory level")

    def test_shared_hits_redis_outage_and_recovery(self):
        redis = self.new_redis()
        a = self.new_server(redis_url=redis.url)
        b = self.new_server(redis_url=redis.url)
        for srv in (a, b):
            self.assertEqual(self.health_status(srv), "healthy")
            sec = redis_section(self.cache_stats(srv))
            self.assertIsNotNone(sec, "cache_stats has a Redis section")
        self.assertSharedHit(a, b, "share", redis)
        # The entry really is in Redis (not only in A's memory).
        self.assertNotEqual(redis.command("DBSIZE"), b":0\r\n", "copyd wrote keys to Redis")
        errors_before = redis_errors(self.cache_stats(a))
        self.assertIsNotNone(errors_before, "cache_stats shows a Redis error counter")

        # Kill Redis while generates with distinct briefs run on both servers.
        failures = []
        done = [0]
        stop = threading.Event()

        def loop(srv, tag):
            i = 0
            while not stop.is_set() and i < 400:
                i += 1
                try:
                    r = srv.post("/v11/generate", unique_brief("%s%d" % (tag, i)), timeout=20)
                    if r.status != 200:
                        failures.append((tag, i, r.status, r.body[:200]))
                except Exception as e:  # noqa: BLE001 - any failure counts
                    failures.append((tag, i, "exception", repr(e)))
                done[0] += 1

        threads = [threading.Thread(target=loop, args=(a, "ka")), threading.Thread(target=loop, args=(b, "kb"))]
        for t in threads:
            t.start()
        try:
            self.assertTrue(poll_until(lambda: done[0] >= 10, 20), "generates are running")
            redis.kill()
            mark = done[0]
            self.assertTrue(poll_until(lambda: done[0] >= mark + 30, 30),
                            "generates go on after Redis died")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(failures, [], "no generate failed while Redis died")

        for srv in (a, b):
            st = poll_until(lambda: self.health_status(srv) == "degraded", 10)
            self.assertTrue(st, "health is degraded with Redis down (got %r)" % self.health_status(srv))
            r = srv.health()
            self.assertEqual(r.status, 200, "degraded still answers 200")
            stats = self.cache_stats(srv)
            errs = redis_errors(stats)
            self.assertIsNotNone(errs)
            self.assertGreater(errs, errors_before if srv is a else 0, "Redis errors are counted: %r" % stats)
            sec = redis_section(stats)
            if "connected" in sec:
                self.assertFalse(sec["connected"])
            # the memory level keeps serving, hits included
            br = unique_brief("down")
            self.assertFalse(self.gen(srv, br)["cache_hit"])
            jr = self.gen(srv, br)
            self.assertTrue(jr["cache_hit"])
            self.assertEqual(jr["result"]["extra_metadata"]["cache"], "memory")

        # Redis back on the same port: both reconnect by themselves.
        redis.start()
        for srv in (a, b):
            ok = poll_until(lambda: self.health_status(srv) == "healthy", 15, 0.25)
            self.assertTrue(ok, "health is healthy again within 15 s (now %r)" % self.health_status(srv))
        ok = poll_until(lambda: redis_section(self.cache_stats(a)).get("connected", True) is True, 15, 0.25)
        self.assertTrue(ok)
        # Shared hits work again (both directions).
        self.assertSharedHit(a, b, "again-ab", redis)
        self.assertSharedHit(b, a, "again-ba", redis)

    def test_starts_with_redis_down_then_connects(self):
        redis_port_holder = self.new_redis()
        port = redis_port_holder.port
        redis_port_holder.stop()  # the port is known and nothing listens on it
        srv = self.new_server(redis_url="redis://127.0.0.1:%d/0" % port)
        self.assertTrue(poll_until(lambda: self.health_status(srv) == "degraded", 10),
                        "degraded while Redis is unreachable")
        self.assertEqual(srv.health().status, 200)
        for i in range(3):
            self.gen(srv, unique_brief("nored%d" % i))
        redis_port_holder.start()
        self.assertTrue(poll_until(lambda: self.health_status(srv) == "healthy", 15, 0.25),
                        "healthy once Redis is up")
        # And it writes through to Redis now.
        br = unique_brief("late")
        before = self.dbsize(redis_port_holder)
        self.gen(srv, br)
        self.assertTrue(poll_until(lambda: self.dbsize(redis_port_holder) > before, 10, 0.05))
        other = self.new_server(redis_url="redis://127.0.0.1:%d/0" % port)
        jo = self.gen(other, br)
        self.assertTrue(jo["cache_hit"])
        self.assertEqual(jo["result"]["extra_metadata"]["cache"], "redis")

    def test_cache_clear_removes_shared_entries(self):
        redis = self.new_redis()
        a = self.new_server(redis_url=redis.url)
        b = self.new_server(redis_url=redis.url)
        br = unique_brief("clr")
        self.gen(a, br)
        r = a.post("/v11/cache/clear")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "cache_cleared")
        jb = self.gen(b, br)
        self.assertFalse(jb["cache_hit"], "clear on A deleted its keys in Redis")

    def test_memory_only_when_no_redis_url(self):
        srv = self.new_server()
        self.assertEqual(self.health_status(srv), "healthy")
        br = unique_brief("mem")
        self.gen(srv, br)
        j = self.gen(srv, br)
        self.assertEqual(j["result"]["extra_metadata"]["cache"], "memory")

    def test_bad_redis_url_refused(self):
        s = CopydServer(redis_url="http://not-redis:xx/zz")
        self.addCleanup(s.cleanup)
        with self.assertRaises(AssertionError):
            s.start(ready_timeout=8)
        self.assertIsNotNone(s.proc.poll(), "copyd exits on a malformed REDIS_URL")
        self.assertNotEqual(s.proc.returncode, 0)

    def test_redis_url_from_env(self):
        redis = self.new_redis()
        a = self.new_server(env={"REDIS_URL": redis.url})
        b = self.new_server(env={"REDIS_URL": redis.url})
        self.assertSharedHit(a, b, "env", redis)


if __name__ == "__main__":
    main()
