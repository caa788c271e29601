#!/usr/bin/env python3
"""The legacy job queue survives its process: tasks accepted by
POST /batch-generate finish after kill -9 or SIGTERM and a restart on the
same data directory; SIGTERM exits 0 after finishing in-flight work.
Also the durable feedback store and /v11/health after restarts.

Run alone: python3 tests/integration/test_jobs.py
"""

import os
import shutil
import signal
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (PREFIX, CopydCase, CopydServer, _read_response_bytes, make_tmpdir, main, parse_http_response,  # noqa: E402
                     poll_until, raw_request_bytes, remove_tmpdir, unique_brief)
import json  # noqa: E402


def heavy_briefs(n, tag):
    """Briefs that take the engine a little while (20 variants each), each
    with its own tracking_id so results can be matched."""
    return [unique_brief("%s%d" % (tag, i), tracking_id="%s-%d-%s" % (tag, i, uuid.uuid4().hex[:8]),
                         variant_settings={"max_variants": 20}) for i in range(n)]


class Jobs(CopydCase):
    def setUp(self):
        self.data_dir = make_tmpdir("copyd-it-jobs-")
        self.addCleanup(remove_tmpdir, self.data_dir)

    def server(self, **kw):
        s = CopydServer(data_dir=self.data_dir, args=["--job-workers", "1"], **kw)
        self.addCleanup(s.cleanup)
        return s

    def wait_all(self, srv, ids, briefs, timeout=60):
        def all_done():
            r = srv.post("/batch-status", ids, timeout=10)
            if r.status != 200:
                return None
            tasks = r.json["tasks"]
            return tasks if all(t["status"] in ("SUCCESS", "FAILURE") for t in tasks) else None
        tasks = poll_until(all_done, timeout, 0.2)
        if not tasks:
            r = srv.post("/batch-status", ids)
            self.fail("tasks did not finish in %ss: %r\nlog:\n%s"
                      % (timeout, [t["status"] for t in r.json["tasks"]], srv.log_tail()))
        self.assertEqual([t["task_id"] for t in tasks], ids)
        for t, b in zip(tasks, briefs):
            self.assertEqual(t["status"], "SUCCESS", t)
            self.assertIsNone(t["error"])
            self.assertOutput(t["result"], tracking_id=b["tracking_id"])
            # task-status agrees
            r = srv.get("/task-status/" + t["task_id"], key=None)
            self.assertStatus(r, 200)
            self.assertEqual(r.json["status"], "SUCCESS")
            self.assertEqual(r.json["result"]["tracking_id"], b["tracking_id"])
        return tasks

    def assertHealthy(self, srv):
        r = srv.health()
        self.assertStatus(r, 200)
        j = r.json
        self.assertEqual(j["status"], "healthy")
        self.assertEqual(j["version"], "v11")
        self.assertIsInstance(j["engine_status"], dict)
        self.assertSystemStats(j["system_stats"])
        self.assertIsInstance(j["response_time_ms"], (int, float))
        self.assertIsoTime(j["timestamp"])

    def test_kill9_then_restart_finishes_every_task(self):
        srv = self.server().start()
        self.assertHealthy(srv)
        briefs = heavy_briefs(20, "k9")
        r = srv.post("/batch-generate", briefs)
        srv.kill9()  # right away
        self.assertStatus(r, 200)
        ids = r.json["task_ids"]
        self.assertEqual(len(ids), 20)
        srv2 = self.server(port=None).start()
        self.assertHealthy(srv2)
        self.wait_all(srv2, ids, briefs)

    def test_sigterm_during_batch_exits_0_and_tasks_finish(self):
        srv = self.server().start()
        briefs = heavy_briefs(20, "term")
        r = srv.post("/batch-generate", briefs)
        self.assertStatus(r, 200)
        ids = r.json["task_ids"]
        srv.signal(signal.SIGTERM)
        rc = srv.wait_exit(30)
        self.assertEqual(rc, 0, "SIGTERM exits 0; log:\n%s" % srv.log_tail())
        srv2 = self.server().start()
        self.assertHealthy(srv2)
        self.wait_all(srv2, ids, briefs)
        srv2.signal(signal.SIGTERM)
        self.assertEqual(srv2.wait_exit(30), 0)

    def test_sigterm_finishes_in_flight_request(self):
        srv = self.server().start()
        body = json.dumps(heavy_briefs(20, "inflight")).encode()
        data = raw_request_bytes("POST", PREFIX + "/v11/batch-generate", body=body)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        self.addCleanup(s.close)
        s.sendall(data)
        time.sleep(0.3)  # let the server read the request and start on it
        srv.signal(signal.SIGTERM)
        buf, _ = _read_response_bytes(s, 60)
        try:
            parsed = parse_http_response(buf)
        except ValueError:
            parsed = None
        self.assertTrue(parsed, "the in-flight request got its answer: %r" % buf[:300])
        resp = parsed[0]
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["successful_generations"], 20)
        self.assertEqual(srv.wait_exit(30), 0)
        # no longer accepting
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()

    def test_wait_true_survives_and_statuses(self):
        srv = self.server().start()
        briefs = heavy_briefs(3, "wait")
        r = srv.post("/batch-generate?wait=true", briefs, timeout=120)
        self.assertStatus(r, 200)
        res = r.json["results"]
        self.assertEqual([o["tracking_id"] for o in res], [b["tracking_id"] for b in briefs])
        r = srv.post("/batch-generate", briefs[:2])
        ids = r.json["task_ids"]
        self.wait_all(srv, ids, briefs[:2])
        # statuses survive a restart
        srv.stop()
        srv2 = self.server().start()
        r = srv2.post("/batch-status", ids)
        self.assertEqual([t["status"] for t in r.json["tasks"]], ["SUCCESS", "SUCCESS"])

    def test_feedback_is_durable_across_kill9(self):
        srv = self.server().start()
        v = "dur-" + uuid.uuid4().hex[:8]
        hist = {"steps": [1, 2, 3]}
        r = srv.post("/feedback", {"variant_id": v, "feedback": {"type": "human", "score": 0.75, "user_id": "u"},
                                   "variant_history": hist})
        self.assertStatus(r, 202)
        fid = r.json["feedback_id"]
        tid = "dur-" + uuid.uuid4().hex
        self.assertStatus(srv.post("/v11/generate", unique_brief("dur", tracking_id=tid)), 200)
        srv.kill9()
        srv2 = self.server().start()
        r = srv2.get("/feedback?variant_id=" + v)
        self.assertStatus(r, 200)
        self.assertEqual([x["id"] for x in r.json], [fid])
        self.assertEqual(srv2.get("/variant-history/" + v).json, hist)
        r = srv2.get("/optimization-results/" + tid)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["tracking_id"], tid)

    def test_data_dir_created_and_env(self):
        d = os.path.join(self.data_dir, "nested", "dir")
        s = CopydServer(data_dir=d, env={"COPYD_DATA_DIR": "/nonexistent-should-be-overridden"})
        self.addCleanup(s.cleanup)
        s.start()
        self.assertStatus(s.post("/feedback", {"variant_id": "v", "feedback": {"type": "auto", "score": 0}}), 202)
        self.assertTrue(os.path.isdir(d))
        s.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
