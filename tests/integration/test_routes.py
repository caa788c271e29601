#!/usr/bin/env python3
"""Every route of SPEC section 1 on a real `copyd serve`, plus the command line.

One server is shared by the read-mostly tests; tests that change server state
(/v11/optimize, cache clear) get their own server so that order does not
matter. Run alone: python3 tests/integration/test_routes.py
"""

import os
import re
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KEY1, KEY2, CopydCase, base_brief, cli, find_key, main, poll_until,  # noqa: E402
                     qs, sample_briefs, unique_brief)


class HealthAndStats(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server()

    def test_health_no_key_and_fields(self):
        r = self.srv.get("/v11/health", key=None)
        self.assertStatus(r, 200)
        j = r.json
        self.assertEqual(j["status"], "healthy")
        self.assertEqual(j["version"], "v11")
        self.assertIsInstance(j["engine_status"], dict)
        self.assertTrue(j["engine_status"], "engine_status is not empty")
        self.assertSystemStats(j["system_stats"])
        self.assertIsInstance(j["response_time_ms"], (int, float))
        self.assertGreaterEqual(j["response_time_ms"], 0)
        self.assertIsoTime(j["timestamp"])
        # The template engine is ready: some engine entry says so.
        self.assertIn(True, find_key(j["engine_status"], "ready"), j["engine_status"])

    def test_performance_stats(self):
        # Make at least one generation so the counters have something.
        r = self.srv.post("/v11/generate", unique_brief("perf"))
        self.assertStatus(r, 200)
        r = self.srv.get("/v11/performance-stats", key=None)
        self.assertStatus(r, 200)
        j = r.json
        for k in ("engine_stats", "api_stats", "system_stats", "timestamp"):
            self.assertIn(k, j)
        api = j["api_stats"]
        for k in ("total_requests", "average_response_time", "error_rate", "cache_hit_ratio"):
            self.assertIn(k, api)
        self.assertGreaterEqual(api["total_requests"], 1)
        self.assertSystemStats(j["system_stats"])
        self.assertIsoTime(j["timestamp"])
        self.assertIsInstance(j["engine_stats"], dict)
        self.assertTrue(j["engine_stats"])
        text = str(j["engine_stats"])
        for needle in ("p50", "p95", "p99"):
            self.assertIn(needle, text, "engine_stats has %s latency" % needle)

    def test_request_log_line(self):
        """One log line per request with its id, route, status and duration;
        the API key never appears in the log."""
        r = self.srv.post("/v11/generate", unique_brief("log"))
        self.assertStatus(r, 200)
        rid = r.header("x-request-id")
        self.assertTrue(rid, "answers carry X-Request-Id")
        r404 = self.srv.get("/v11/nothing-here", key=None)
        rid404 = r404.header("x-request-id")

        def line_for(req_id):
            for ln in self.srv.log_text().splitlines():
                if req_id in ln:
                    return ln
            return None
        ln = poll_until(lambda: line_for(rid), 5)
        self.assertTrue(ln, "a log line with request id %s" % rid)
        self.assertIn("/copywriting/v11/generate", ln)
        self.assertRegex(ln, r"\b200\b")
        self.assertIn("duration", ln)
        ln = poll_until(lambda: line_for(rid404), 5)
        self.assertTrue(ln)
        self.assertRegex(ln, r"\b404\b")
        self.assertNotIn(KEY1, self.srv.log_text())
        self.assertNotIn(KEY2, self.srv.log_text())

    def test_models(self):
        r = self.srv.get("/models", key=None)
        self.assertStatus(r, 200)
        models = r.json["available_models"]
        self.assertIsInstance(models, list)
        for m in ("gpt2", "distilgpt2", "template"):
            self.assertIn(m, models)

    def test_metrics_prometheus(self):
        self.assertStatus(self.srv.get("/v11/health", key=None), 200)
        r = self.srv.get("/metrics", key=None)
        self.assertStatus(r, 200)
        self.assertIn("text/plain", r.header("content-type") or "")
        text = r.body.decode("utf-8")
        self.assertIn("# TYPE copyd_http_requests_total counter", text)
        found = False
        for line in text.splitlines():
            m = re.match(r'^copyd_http_requests_total\{([^}]*)\}\s+([0-9.eE+]+)$', line)
            if not m:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            self.assertIn("route", labels)
            self.assertIn("method", labels)
            self.assertIn("status", labels)
            if ("health" in labels["route"] and labels["method"] == "GET" and labels["status"] == "200"
                    and float(m.group(2)) >= 1):
                found = True
        self.assertTrue(found, "a copyd_http_requests_total series for GET health 200:\n" + text[:3000])
        # Latency histograms exist (SPEC 1: latency histograms per route).
        self.assertRegex(text, r'_bucket\{[^}]*le="\+Inf"[^}]*\}')
        # Raw paths never become labels (bounded series).
        self.srv.get("/no/such/route/%s" % uuid.uuid4().hex, key=None)
        text = self.srv.get("/metrics", key=None).body.decode("utf-8")
        self.assertNotRegex(text, r'route="[^"]*no/such/route')


class Generate(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server()

    def test_v11_generate_envelope_and_output(self):
        tid = str(uuid.uuid4())
        b = unique_brief("env", tracking_id=tid)
        r = self.srv.post("/v11/generate", b)
        self.assertStatus(r, 200)
        j = r.json
        out = self.assertEnvelope(j)
        self.assertSystemStats(j["system_stats_before"])
        self.assertSystemStats(j["system_stats_after"])
        self.assertFalse(j["cache_hit"])
        self.assertOutput(out, tracking_id=tid)
        self.assertEqual(out["extra_metadata"]["cache"], "none")
        self.assertEqual(len(out["variants"]), 5, "default max_variants is 5")

    def test_second_key_and_default_tracking_id(self):
        r = self.srv.post("/v11/generate", unique_brief("k2"), key=KEY2)
        self.assertStatus(r, 200)
        out = self.assertOutput(r.json["result"])
        # a new UUID when the brief has none
        uuid.UUID(out["tracking_id"])

    def test_max_variants(self):
        b = unique_brief("mv", variant_settings={"max_variants": 2})
        r = self.srv.post("/v11/generate", b)
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json["result"]["variants"]), 2)

    def test_english_and_creativity_names(self):
        b = unique_brief("en", language="en", tone="confident", key_points=["Noise cancellation"],
                         restrictions=["no price mentions"], creativity_level="creative")
        r = self.srv.post("/v11/generate", b)
        self.assertStatus(r, 200)
        self.assertOutput(r.json["result"])

    def test_platform_spellings(self):
        for p in ("Google Ads", "google-ads", "GOOGLE_ADS", "x", "Twitter", "LinkedIn"):
            r = self.srv.post("/v11/generate", unique_brief("plat", target_platform=p))
            self.assertStatus(r, 200, "platform %r: %r" % (p, r.body[:300]))

    def test_cache_hit_rule(self):
        b = unique_brief("cache", target_platform="Instagram")
        r1 = self.srv.post("/v11/generate", b)
        self.assertStatus(r1, 200)
        self.assertFalse(r1.json["cache_hit"])
        self.assertEqual(r1.json["result"]["extra_metadata"]["cache"], "none")
        # Same brief: keys reordered, enum case changed, white space around values.
        b2 = {}
        for k in reversed(list(b.keys())):
            v = b[k]
            if isinstance(v, str):
                v = "  " + v + " \t"
            if isinstance(v, list):
                v = [" %s  " % x for x in v]
            b2[k] = v
        b2["target_platform"] = " instagram "
        b2["tone"] = "INSPIRATIONAL"
        r2 = self.srv.post("/v11/generate", b2)
        self.assertStatus(r2, 200)
        self.assertTrue(r2.json["cache_hit"], "normalised brief is a hit")
        self.assertEqual(r2.json["result"]["extra_metadata"]["cache"], "memory")
        self.assertEqual(r2.json["result"]["variants"], r1.json["result"]["variants"])
        # A changed key point is a miss.
        b3 = dict(b)
        b3["key_points"] = b["key_points"][:-1] + ["Garantía de por vida"]
        r3 = self.srv.post("/v11/generate", b3)
        self.assertStatus(r3, 200)
        self.assertFalse(r3.json["cache_hit"])
        self.assertEqual(r3.json["result"]["extra_metadata"]["cache"], "none")

    def test_tracking_id_not_part_of_cache_key(self):
        b = unique_brief("trk")
        r1 = self.srv.post("/v11/generate", dict(b, tracking_id="t-%s" % uuid.uuid4()))
        tid2 = "t-%s" % uuid.uuid4()
        r2 = self.srv.post("/v11/generate", dict(b, tracking_id=tid2))
        self.assertStatus(r2, 200)
        self.assertTrue(r2.json["cache_hit"])
        self.assertEqual(r2.json["result"]["tracking_id"], tid2, "a hit carries this request's tracking_id")
        self.assertEqual(r1.json["result"]["variants"], r2.json["result"]["variants"])

    def test_legacy_generate_and_model_names(self):
        r = self.srv.post("/generate", unique_brief("legacy"))
        self.assertStatus(r, 200)
        out = self.assertOutput(r.json)
        self.assertNotIn("version", r.json, "legacy /generate answers the output object itself")
        self.assertIn("variants", out)
        for name in ("gpt2", "distilgpt2", "template"):
            r = self.srv.post("/generate?" + qs({"model_name": name}), unique_brief("m" + name))
            self.assertStatus(r, 200, "model_name=%s" % name)
            self.assertOutput(r.json)
        r = self.srv.post("/generate?model_name=gpt-9000", unique_brief("bad"))
        self.assertErrorBody(r, 400, "unsupported_model", detail="Modelo 'gpt-9000' no soportado.")

    def test_v11_batch_generate_items_fail_alone(self):
        good1 = unique_brief("b1", tracking_id="b1-%s" % uuid.uuid4())
        bad_missing = unique_brief("b2")
        del bad_missing["tone"]
        bad_lang = unique_brief("b3", language="ru")
        good2 = unique_brief("b4", language="en", tone="friendly", tracking_id="b4-%s" % uuid.uuid4())
        r = self.srv.post("/v11/batch-generate", [good1, bad_missing, bad_lang, good2])
        self.assertStatus(r, 200)
        j = r.json
        for k in ("results", "total_processing_time_seconds", "successful_generations",
                  "failed_generations", "success_rate", "average_time_per_request", "timestamp"):
            self.assertIn(k, j)
        self.assertEqual(j.get("version"), "v11")
        self.assertSystemStats(j["system_stats_before"])
        self.assertSystemStats(j["system_stats_after"])
        res = j["results"]
        self.assertEqual([x["index"] for x in res], [0, 1, 2, 3])
        self.assertEqual([x["success"] for x in res], [True, False, False, True])
        for x in res:
            self.assertIn("processing_time_seconds", x)
        self.assertOutput(res[0]["result"], tracking_id=good1["tracking_id"])
        self.assertOutput(res[3]["result"], tracking_id=good2["tracking_id"])
        e1 = res[1]["error"]
        for k in ("code", "message", "field"):
            self.assertIn(k, e1)
        self.assertEqual(e1["code"], "validation_error")
        self.assertIn("tone", e1["field"])
        e2 = res[2]["error"]
        self.assertEqual(e2["code"], "unsupported_language")
        self.assertEqual(e2["field"], "language")
        self.assertEqual(j["successful_generations"], 2)
        self.assertEqual(j["failed_generations"], 2)
        self.assertAlmostEqual(float(j["success_rate"]), 50.0, places=1)

    def test_batch_limits(self):
        items = [unique_brief("lim%d" % i) for i in range(21)]
        r = self.srv.post("/v11/batch-generate", items)
        self.assertErrorBody(r, 400, "batch_too_large", detail="Batch size exceeds maximum of 20")
        r = self.srv.post("/batch-generate", items)
        self.assertErrorBody(r, 400, "batch_too_large", detail="El batch máximo permitido es 20.")
        r = self.srv.post("/v11/batch-generate", items[:20])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["successful_generations"], 20)

    def test_batch_body_must_be_array(self):
        r = self.srv.post("/v11/batch-generate", base_brief())
        self.assertStatus(r, 422)
        r = self.srv.post("/batch-generate", base_brief())
        self.assertStatus(r, 422)


EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u2B50\u2B55\u231A\u231B\u23E9-\u23FA]")
PRICE = re.compile(r"[$€£]\s?\d|\d\s?(€|\$|euros?\b|dólares|usd\b|eur\b)|\d\s?%|\b(precios?|descuentos?|"
                   r"barat[oa]s?|rebajas?|ofertas?|coste|costo|gratis|prices?|pricing|discounts?|cheap|costs?)\b",
                   re.IGNORECASE)


def variant_text(v):
    return "\n".join([v["headline"], v["primary_text"], v["call_to_action"]] + list(v["hashtags"]))


def dropped_mentions(out, v):
    """Text of every member named like 'dropped...' in the variant or output."""
    found = []
    for obj in (v, out):
        for d in [obj] + [x for x in obj.values() if isinstance(x, dict)]:
            for k, val in d.items():
                if "dropped" in k.lower() or "omitted" in k.lower():
                    found.append(str(val))
    return " ".join(found)


class CopyRespectsBrief(CopydCase):
    """SPEC 3 'what the copy must respect', end to end on the sample briefs."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server()

    def check_variant(self, brief, out, v):
        text = variant_text(v)
        low = text.lower()
        restr = " | ".join(brief.get("restrictions", [])).lower()
        for kp in brief.get("key_points", []):
            if kp.lower() not in (v["headline"] + " " + v["primary_text"]).lower():
                self.assertIn(kp, dropped_mentions(out, v),
                              "key point %r is in the variant or reported dropped: %r" % (kp, v))
        if "emoji" in restr:
            self.assertIsNone(EMOJI.search(text), "no emojis: %r" % text)
        if "hashtag" in restr:
            self.assertEqual(v["hashtags"], [])
            self.assertNotRegex(v["primary_text"], r"#\w")
        if "precio" in restr or "price" in restr:
            m = PRICE.search(text)
            self.assertIsNone(m, "no price mentions, found %r in %r" % (m and m.group(0), text))
        if "healthy" in restr:
            self.assertNotIn("healthy", low)
        plat = brief["target_platform"].lower().replace(" ", "_")
        post = v["primary_text"] + "".join(" " + h for h in v["hashtags"] if h not in v["primary_text"])
        if plat in ("twitter", "x"):
            self.assertLessEqual(len(post), 280, "tweet in all ≤ 280: %r" % post)
        if plat == "google_ads":
            self.assertLessEqual(len(v["headline"]), 30, v["headline"])
            self.assertLessEqual(len(v["primary_text"]), 90, v["primary_text"])
        if plat == "instagram":
            self.assertLessEqual(len(post), 2200)
            self.assertLessEqual(len(v["hashtags"]), 30)
        if plat == "linkedin":
            self.assertLessEqual(len(post), 3000)
        if brief.get("max_length"):
            self.assertLessEqual(len(v["primary_text"]), brief["max_length"])
        for w in brief.get("brand_voice", {}).get("dont_use", []):
            self.assertNotRegex(low, r"\b%s\b" % re.escape(w.lower()), "banned word %r" % w)

    def test_sample_briefs(self):
        for i, b in enumerate(sample_briefs()):
            with self.subTest(brief=i, platform=b["target_platform"], language=b.get("language")):
                r = self.srv.post("/v11/generate", b)
                if b.get("language") not in ("es", "en"):
                    # pt/fr/it/de may come later; until then the engine says it cannot
                    if r.status != 200:
                        self.assertErrorBody(r, 422, "unsupported_language", field="language")
                        continue
                self.assertStatus(r, 200)
                out = self.assertOutput(r.json["result"])
                texts = [(v["headline"], v["primary_text"]) for v in out["variants"]]
                self.assertEqual(len(set(texts)), len(texts), "variants differ from each other")
                for v in out["variants"]:
                    self.check_variant(b, out, v)

    def test_banned_words_and_unknown_restriction(self):
        odd = "frobnicar el cuantificador"
        b = unique_brief("ban", brand_voice={"dont_use": ["destacado", "solución", "nuevo", "ahora"]},
                         restrictions=["sin emojis", odd])
        r = self.srv.post("/v11/generate", b)
        self.assertStatus(r, 200)
        out = r.json["result"]
        for v in out["variants"]:
            self.check_variant(b, out, v)
            self.assertIn(odd, json_text(v["compliance"]),
                          "a restriction not understood is reported in compliance: %r" % v["compliance"])

    def test_twitter_and_google_ads_limits_with_long_input(self):
        long_points = ["Punto clave número %d con bastante texto para ocupar espacio" % i for i in range(15)]
        for plat in ("twitter", "google_ads", "email"):
            b = base_brief(target_platform=plat, key_points=long_points,
                           product_description="Plataforma %s " % uuid.uuid4().hex[:8] + "muy completa " * 60)
            r = self.srv.post("/v11/generate", b)
            self.assertStatus(r, 200)
            out = r.json["result"]
            for v in out["variants"]:
                self.check_variant(b, out, v)


def json_text(x):
    import json
    return json.dumps(x, ensure_ascii=False)


class RewriteRoutes(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server()

    def test_rewrite_routes(self):
        text = ("Nuestro nuevo café de especialidad es muy muy bueno y tiene un sabor que es bueno "
                "para las mañanas de todos los días.")
        for route in ("/refactor", "/optimiza", "/optimiza-con-librerias"):
            r = self.srv.post(route, {"text": text})
            self.assertStatus(r, 200, route)
            self.assertOutput(r.json)
            r = self.srv.post(route, {"text": "Fresh roasted coffee for busy mornings, delivered weekly.",
                                      "language": "en", "target_platform": "twitter", "tone": "witty"})
            self.assertStatus(r, 200, route)
            out = self.assertOutput(r.json)
            for v in out["variants"]:
                self.assertLessEqual(len(v["primary_text"]), 280, "twitter limit on %s" % route)
                self.assertLessEqual(v["character_count"], 280, "twitter limit on %s" % route)
            r = self.srv.post(route + "?model_name=gpt2", {"text": text})
            self.assertStatus(r, 200, route)
            r = self.srv.post(route + "?model_name=nope", {"text": text})
            self.assertErrorBody(r, 400, "unsupported_model", detail="Modelo 'nope' no soportado.")
            r = self.srv.post(route, {"texto": text})
            self.assertValidation(r, ["body", "text"])
            r = self.srv.post(route, {"text": 42})
            self.assertValidation(r, ["body", "text"])
            r = self.srv.post(route, {"text": text}, key=None)
            self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")


class LegacyJobs(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server()

    def wait_success(self, tid, timeout=30):
        def done():
            r = self.srv.get("/task-status/" + tid, key=None)
            return r if r.status == 200 and r.json["status"] in ("SUCCESS", "FAILURE") else None
        r = poll_until(done, timeout, 0.1)
        self.assertTrue(r, "task %s did not finish" % tid)
        return r.json

    def test_batch_generate_task_ids_then_status(self):
        briefs = [unique_brief("job%d" % i, tracking_id="job-%s" % uuid.uuid4()) for i in range(3)]
        r = self.srv.post("/batch-generate", briefs)
        self.assertStatus(r, 200)
        ids = r.json["task_ids"]
        self.assertEqual(len(ids), 3)
        self.assertEqual(len(set(ids)), 3)
        for tid, b in zip(ids, briefs):
            st = self.wait_success(tid)
            self.assertEqual(st["status"], "SUCCESS", st)
            self.assertOutput(st["result"], tracking_id=b["tracking_id"])
        # /batch-status: one entry per id, in order, with all four keys.
        unknown = str(uuid.uuid4())
        ask = [ids[2], unknown, ids[0]]
        r = self.srv.post("/batch-status", ask)
        self.assertStatus(r, 200)
        tasks = r.json["tasks"]
        self.assertEqual([t["task_id"] for t in tasks], ask)
        for t in tasks:
            for k in ("task_id", "status", "result", "error"):
                self.assertIn(k, t)
        self.assertEqual(tasks[0]["status"], "SUCCESS")
        self.assertEqual(tasks[0]["result"]["tracking_id"], briefs[2]["tracking_id"])
        self.assertIsNone(tasks[0]["error"])
        self.assertEqual(tasks[1]["status"], "PENDING")
        self.assertIsNone(tasks[1]["result"])
        self.assertIsNone(tasks[1]["error"])
        self.assertEqual(tasks[2]["result"]["tracking_id"], briefs[0]["tracking_id"])
        r = self.srv.post("/batch-status", ask, key=None)
        self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")

    def test_batch_generate_wait_in_order(self):
        briefs = [unique_brief("w%d" % i, tracking_id="w%d-%s" % (i, uuid.uuid4())) for i in range(4)]
        r = self.srv.post("/batch-generate?wait=true", briefs, timeout=60)
        self.assertStatus(r, 200)
        res = r.json["results"]
        self.assertEqual(len(res), 4)
        for out, b in zip(res, briefs):
            self.assertOutput(out, tracking_id=b["tracking_id"])
        r = self.srv.post("/batch-generate?wait=true&model_name=distilgpt2", briefs[:1], timeout=60)
        self.assertStatus(r, 200)
        r = self.srv.post("/batch-generate?model_name=zzz", briefs[:1])
        self.assertErrorBody(r, 400, "unsupported_model", detail="Modelo 'zzz' no soportado.")

    def test_task_status_unknown_is_pending(self):
        r = self.srv.get("/task-status/" + str(uuid.uuid4()), key=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "PENDING"})
        r = self.srv.get("/task-status/not-even-a-uuid", key=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "PENDING")

    def test_batch_with_invalid_item(self):
        """An invalid brief is refused up front (422) or becomes a FAILURE
        task whose error is a string; never a SUCCESS."""
        bad = unique_brief("inv", language="ru")
        r = self.srv.post("/batch-generate", [unique_brief("ok"), bad])
        if r.status == 422:
            self.assertIn(r.json["error"]["code"], ("validation_error", "unsupported_language"))
            self.assertErrorBody(r, 422, r.json["error"]["code"])
            return
        self.assertStatus(r, 200)
        ids = r.json["task_ids"]
        self.assertEqual(self.wait_success(ids[0])["status"], "SUCCESS")
        st = self.wait_success(ids[1])
        self.assertEqual(st["status"], "FAILURE")
        self.assertIsInstance(st["error"], str)
        self.assertTrue(st["error"])


class Feedback(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server()

    def post_fb(self, variant_id, ftype, score, user_id, ts=None, history=None, section=None, key=KEY1):
        fb = {"type": ftype, "score": score, "comments": "c-%s-%s" % (ftype, score), "user_id": user_id}
        if ts:
            fb["timestamp"] = ts
        body = {"variant_id": variant_id, "feedback": fb}
        if history is not None:
            body["variant_history"] = history
        if section is not None:
            body["section_feedback"] = section
        return self.srv.post("/feedback", body, key=key)

    def list_fb(self, **params):
        r = self.srv.get("/feedback?" + qs(params))
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, list, "GET /feedback is a bare array")
        return r.json

    def test_round_trip_filters_paging(self):
        run = uuid.uuid4().hex[:8]
        va, vb = "va-" + run, "vb-" + run
        ua, ub = "ua-" + run, "ub-" + run
        rows = [  # (variant, type, score, user, timestamp) posted oldest first
            (va, "human", 0.10, ua, "2021-01-10T10:00:00Z"),
            (va, "model", 0.50, ub, "2022-03-10T10:00:00Z"),
            (vb, "auto", 0.90, ua, "2023-05-10T10:00:00Z"),
            (va, "ai_analysis", 0.70, ua, "2024-07-10T10:00:00Z"),
            (vb, "human", 0.30, ub, "2025-01-10T10:00:00Z"),
        ]
        ids = []
        for v, t, s, u, ts in rows:
            r = self.post_fb(v, t, s, u, ts, section={"headline": {"score": s}})
            self.assertStatus(r, 202)
            j = r.json
            self.assertEqual(j["status"], "accepted")
            self.assertEqual(j["variant_id"], v)
            self.assertIsInstance(j["feedback_id"], int)
            self.assertNotIsInstance(j["feedback_id"], bool)
            ids.append(j["feedback_id"])
        self.assertEqual(len(set(ids)), 5)

        def mine(items):
            return [x for x in items if x["variant_id"] in (va, vb)]

        # Newest first, every field present.
        items = mine(self.list_fb(limit=100))
        self.assertEqual([x["id"] for x in items], list(reversed(ids)))
        for x in items:
            for k in ("id", "variant_id", "type", "score", "comments", "user_id", "timestamp",
                      "section_feedback", "variant_history"):
                self.assertIn(k, x)
        self.assertEqual(items[-1]["type"], "human")
        self.assertAlmostEqual(items[-1]["score"], 0.10)
        self.assertEqual(items[-1]["comments"], "c-human-0.1")
        self.assertEqual(items[-1]["user_id"], ua)
        self.assertEqual(items[-1]["section_feedback"], {"headline": {"score": 0.1}})
        self.assertEqual(parse_year(items[-1]["timestamp"]), 2021)

        def ids_of(**params):
            return [x["id"] for x in self.list_fb(**params)]

        # variant_id
        self.assertEqual(ids_of(variant_id=va), [ids[3], ids[1], ids[0]])
        self.assertEqual(ids_of(variant_id=vb), [ids[4], ids[2]])
        # user_id
        self.assertEqual(ids_of(user_id=ua), [ids[3], ids[2], ids[0]])
        # type (within our rows)
        self.assertEqual(ids_of(variant_id=va, type="model"), [ids[1]])
        self.assertEqual(ids_of(user_id=ub, type="human"), [ids[4]])
        # scores (bounds inclusive)
        self.assertEqual(ids_of(variant_id=va, score__gte=0.5), [ids[3], ids[1]])
        self.assertEqual(ids_of(variant_id=va, score__lte=0.5), [ids[1], ids[0]])
        self.assertEqual(ids_of(user_id=ua, score__gte=0.2, score__lte=0.8), [ids[3]])
        # timestamps
        self.assertEqual(ids_of(variant_id=va, timestamp__gte="2022-01-01T00:00:00Z"), [ids[3], ids[1]])
        self.assertEqual(ids_of(variant_id=vb, timestamp__lte="2024-01-01T00:00:00Z"), [ids[2]])
        self.assertEqual(ids_of(user_id=ua, timestamp__gte="2021-06-01T00:00:00Z",
                                timestamp__lte="2024-01-01T00:00:00Z"), [ids[2]])
        # paging
        self.assertEqual(ids_of(user_id=ua, skip=1, limit=1), [ids[2]])
        self.assertEqual(ids_of(user_id=ua, skip=1, limit=5), [ids[2], ids[0]])
        self.assertEqual(ids_of(user_id=ua, skip=3), [])
        self.assertEqual(ids_of(variant_id=va, limit=2), [ids[3], ids[1]])
        # default limit is 20
        for i in range(22):
            self.assertStatus(self.post_fb("vp-" + run, "auto", 0.5, "up-" + run), 202)
        self.assertEqual(len(self.list_fb(variant_id="vp-" + run)), 20)
        self.assertEqual(len(self.list_fb(variant_id="vp-" + run, limit=100)), 22)

    def test_bad_queries_422(self):
        for params, name in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"skip": -1}, "skip"),
                             ({"limit": "abc"}, "limit"), ({"score__gte": "high"}, "score__gte")):
            r = self.srv.get("/feedback?" + qs(params))
            self.assertValidation(r, ["query", name])
        r = self.srv.get("/feedback", key=None)
        self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")

    def test_bad_feedback_bodies_422(self):
        v = "vbad-" + uuid.uuid4().hex[:6]
        r = self.srv.post("/feedback", {"feedback": {"type": "human", "score": 0.5}})
        self.assertValidation(r, ["body", "variant_id"])
        r = self.srv.post("/feedback", {"variant_id": v, "feedback": {"type": "robot", "score": 0.5}})
        self.assertValidation(r, ["body", "feedback", "type"])
        r = self.srv.post("/feedback", {"variant_id": v, "feedback": {"type": "human", "score": 1.5}})
        self.assertValidation(r, ["body", "feedback", "score"])
        r = self.srv.post("/feedback", {"variant_id": v, "feedback": {"type": "human", "score": "good"}})
        self.assertValidation(r, ["body", "feedback", "score"])
        r = self.srv.post("/feedback", {"variant_id": v, "feedback": {"type": "human", "score": 0.5}}, key=None)
        self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")

    def test_extra_feedback_fields_accepted(self):
        v = "vx-" + uuid.uuid4().hex[:6]
        body = {"variant_id": v, "feedback": {"type": "model", "score": 0.4, "comments": "ok",
                                              "user_id": "u", "timestamp": "2024-02-03T04:05:06Z",
                                              "processing_time_ms": 12.5}}
        r = self.srv.post("/feedback", body)
        self.assertStatus(r, 202)
        self.assertEqual(self.list_fb(variant_id=v)[0]["id"], r.json["feedback_id"])

    def test_variant_history(self):
        v = "vh-" + uuid.uuid4().hex[:8]
        hist = {"versions": [{"headline": "Uno", "score": 0.2}, {"headline": "Dos", "score": 0.6}],
                "nota": "ñandú"}
        r = self.post_fb(v, "human", 0.6, "u1", history=hist)
        self.assertStatus(r, 202)
        r = self.srv.get("/variant-history/" + v)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, hist)
        r = self.srv.get("/variant-history/" + v, key=None)
        self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")
        r = self.srv.get("/variant-history/nope-" + uuid.uuid4().hex)
        self.assertErrorBody(r, 404, "not_found", detail="No se encontró historial para ese variant_id")

    def test_optimization_results(self):
        tid = "opt-" + uuid.uuid4().hex
        r = self.srv.post("/v11/generate", unique_brief("opt", tracking_id=tid))
        self.assertStatus(r, 200)
        variant_ids = [v["variant_id"] for v in r.json["result"]["variants"]]
        r = self.srv.get("/optimization-results/" + tid)
        self.assertStatus(r, 200)
        j = r.json
        self.assertIsInstance(j, dict)
        self.assertEqual(j.get("tracking_id"), tid)
        text = r.body.decode("utf-8")
        for vid in variant_ids:
            self.assertIn(vid, text, "stored results name every variant")
        r = self.srv.get("/optimization-results/" + tid, key=None)
        self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")
        r = self.srv.get("/optimization-results/none-" + uuid.uuid4().hex)
        self.assertErrorBody(r, 404, "not_found", detail="No se encontraron resultados para ese tracking_id")


def parse_year(ts):
    m = re.match(r"(\d{4})-", ts)
    return int(m.group(1)) if m else None


class CacheAndConfig(CopydCase):
    """Routes that change server state: each test has its own server."""

    def test_cache_stats_and_clear(self):
        srv = self.new_server()
        b = unique_brief("clr")
        self.assertFalse(srv.post("/v11/generate", b).json["cache_hit"])
        self.assertTrue(srv.post("/v11/generate", b).json["cache_hit"])
        r = srv.get("/v11/cache/stats")
        self.assertStatus(r, 200)
        j = r.json
        self.assertIn("cache_stats", j)
        self.assertIn("cache_efficiency", j)
        for k in ("hit_ratio_percent", "miss_ratio_percent", "eviction_rate", "memory_usage_mb"):
            self.assertIn(k, j["cache_efficiency"])
        for k in ("entries", "capacity", "hits", "misses", "evictions", "expirations", "hit_ratio"):
            self.assertTrue(find_key(j["cache_stats"], k), "cache_stats has %r: %r" % (k, j["cache_stats"]))
        self.assertGreaterEqual(max(find_key(j["cache_stats"], "entries")), 1)
        self.assertGreaterEqual(max(find_key(j["cache_stats"], "hits")), 1)
        self.assertAlmostEqual(j["cache_efficiency"]["hit_ratio_percent"] +
                               j["cache_efficiency"]["miss_ratio_percent"], 100.0, delta=0.5)
        self.assertStatus(srv.get("/v11/cache/stats", key=None), 401)

        r = srv.post("/v11/cache/clear")
        self.assertStatus(r, 200)
        j = r.json
        self.assertEqual(j["status"], "cache_cleared")
        self.assertGreaterEqual(max(find_key(j["cache_stats_before"], "entries")), 1)
        self.assertEqual(max(find_key(j["cache_stats_after"], "entries")), 0)
        self.assertFalse(srv.post("/v11/generate", b).json["cache_hit"], "cleared entry is a miss")
        self.assertStatus(srv.post("/v11/cache/clear", key=None), 401)

    def test_system_info_and_optimize(self):
        srv = self.new_server()
        r = srv.get("/v11/system-info")
        self.assertStatus(r, 200)
        j = r.json
        self.assertSystemStats(j["system_stats"])
        cfg = j["engine_config"]
        self.assertIsInstance(cfg, dict)
        for k in ("max_workers", "batch_size", "cache_size", "cache_ttl"):
            self.assertTrue(find_key(cfg, k), "engine_config shows %r" % k)
        self.assertTrue(find_key(j, "version"), "system-info carries version information")
        self.assertStatus(srv.get("/v11/system-info", key=None), 401)

        r = srv.post("/v11/optimize", {"batch_size": 8, "cache_ttl": 60, "gpu_memory_fraction": 0.5,
                                       "bogus": 1})
        self.assertStatus(r, 200)
        j = r.json
        applied = names_of(j["applied_parameters"])
        rejected = j["rejected_parameters"]
        self.assertIn("batch_size", applied)
        self.assertIn("cache_ttl", applied)
        self.assertNotIn("gpu_memory_fraction", applied)
        self.assertIn("gpu_memory_fraction", names_of(rejected))
        self.assertIn("bogus", names_of(rejected))
        for name in ("gpu_memory_fraction", "bogus"):
            self.assertTrue(reason_of(rejected, name), "a reason for rejecting %s: %r" % (name, rejected))
        cfg = srv.get("/v11/system-info").json["engine_config"]
        self.assertIn(8, find_key(cfg, "batch_size"))
        self.assertIn(60, find_key(cfg, "cache_ttl"))

        r = srv.post("/v11/optimize", {"batch_size": -1, "cache_size": 500})
        self.assertStatus(r, 200)
        j = r.json
        self.assertNotIn("batch_size", names_of(j["applied_parameters"]))
        self.assertIn("batch_size", names_of(j["rejected_parameters"]))
        self.assertTrue(reason_of(j["rejected_parameters"], "batch_size"))
        self.assertIn("cache_size", names_of(j["applied_parameters"]))
        cfg = srv.get("/v11/system-info").json["engine_config"]
        self.assertIn(8, find_key(cfg, "batch_size"), "rejected value left the old one")
        self.assertIn(500, find_key(cfg, "cache_size"))
        # the server still generates after the changes
        self.assertStatus(srv.post("/v11/generate", unique_brief("afteropt")), 200)
        self.assertStatus(srv.post("/v11/optimize", {"batch_size": 4}, key=None), 401)


def error_json(data):
    """The error JSON object in a CLI output stream: the whole text, or the
    last line that parses as an object with "error" (logs may precede it)."""
    import json
    text = data.decode("utf-8", "replace").strip()
    cands = [text] + list(reversed(text.splitlines()))
    for c in cands:
        try:
            j = json.loads(c)
        except ValueError:
            continue
        if isinstance(j, dict) and "error" in j:
            return j
    return None


def names_of(x):
    """Parameter names of applied/rejected_parameters, whether a dict keyed by
    name or a list of objects naming the parameter."""
    if isinstance(x, dict):
        return list(x.keys())
    out = []
    for it in x or []:
        if isinstance(it, dict):
            for k in ("parameter", "name", "param", "key"):
                if k in it:
                    out.append(it[k])
                    break
        elif isinstance(it, str):
            out.append(it)
    return out


def reason_of(x, name):
    if isinstance(x, dict):
        v = x.get(name)
        if isinstance(v, dict):
            return v.get("reason") or v.get("message")
        return v if isinstance(v, str) else None
    for it in x or []:
        if isinstance(it, dict) and name in it.values():
            return it.get("reason") or it.get("message")
    return None


class CommandLine(CopydCase):
    def test_help_and_version(self):
        for args in (["--help"], ["--version"], ["serve", "--help"], ["generate", "--help"]):
            p = cli(*args)
            self.assertEqual(p.returncode, 0, "%s: %r" % (args, p.stderr[-500:]))
            self.assertTrue((p.stdout + p.stderr).strip(), "%s prints something" % args)
        self.assertIn(b"--port", cli("serve", "--help").stdout + cli("serve", "--help").stderr)
        self.assertRegex((cli("--version").stdout + cli("--version").stderr).decode(), r"\d+\.\d+")

    def test_generate_file_and_stdin(self):
        import json
        b = base_brief(product_description="Bicicleta eléctrica plegable", tracking_id="cli-1")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(b, f, ensure_ascii=False)
            path = f.name
        self.addCleanup(os.unlink, path)
        p = cli("generate", path)
        self.assertEqual(p.returncode, 0, p.stderr[-800:])
        out = json.loads(p.stdout.decode("utf-8"))
        self.assertOutput(out, tracking_id="cli-1")
        data = json.dumps(b).encode()
        for args in (["generate", "-"], ["generate"]):
            p = cli(*args, stdin_data=data)
            self.assertEqual(p.returncode, 0, p.stderr[-800:])
            self.assertOutput(json.loads(p.stdout.decode("utf-8")), tracking_id="cli-1")
        # bad brief: non-zero exit, the error JSON
        bad = dict(b)
        del bad["tone"]
        p = cli("generate", "-", stdin_data=json.dumps(bad).encode())
        self.assertNotEqual(p.returncode, 0)
        err = error_json(p.stdout) or error_json(p.stderr)
        self.assertTrue(err, "the error JSON is printed: %r %r" % (p.stdout[-300:], p.stderr[-300:]))
        self.assertEqual(err["error"]["code"], "validation_error")
        self.assertIn("tone", str(err["detail"]))
        p = cli("generate", "-", stdin_data=b"{not json")
        self.assertNotEqual(p.returncode, 0)
        p = cli("generate", "/nonexistent/brief-%s.json" % uuid.uuid4().hex)
        self.assertNotEqual(p.returncode, 0)

    def test_bad_flags_fail(self):
        p = cli("serve", "--port", "99999")
        self.assertNotEqual(p.returncode, 0)
        p = cli("serve", "--no-such-flag")
        self.assertNotEqual(p.returncode, 0)
        p = cli("no-such-command")
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    main()
