#!/usr/bin/env python3
"""Every error status of SPEC section 4 and the details of SPEC section 7.

Run alone: python3 tests/integration/test_errors.py
"""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KEY1, KEY2, CopydCase, base_brief, main, raw_exchange,  # noqa: E402
                     parse_http_response, raw_request_bytes, unique_brief)

KEYED = [  # (method, path, body) of every route that needs X-API-Key
    ("POST", "/v11/generate", base_brief()),
    ("POST", "/v11/batch-generate", [base_brief()]),
    ("POST", "/v11/cache/clear", None),
    ("GET", "/v11/cache/stats", None),
    ("GET", "/v11/system-info", None),
    ("POST", "/v11/optimize", {"batch_size": 4}),
    ("POST", "/generate", base_brief()),
    ("POST", "/batch-generate", [base_brief()]),
    ("POST", "/batch-status", ["x"]),
    ("POST", "/feedback", {"variant_id": "v", "feedback": {"type": "human", "score": 0.5}}),
    ("GET", "/feedback", None),
    ("GET", "/variant-history/v", None),
    ("GET", "/optimization-results/t", None),
    ("POST", "/refactor", {"text": "hola"}),
    ("POST", "/optimiza", {"text": "hola"}),
    ("POST", "/optimiza-con-librerias", {"text": "hola"}),
]

OPEN = ["/v11/health", "/v11/performance-stats", "/metrics", "/models", "/task-status/abc"]


class Errors(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server(args=["--max-body", "65536"])

    # ---- 401 -------------------------------------------------------------
    def test_401_on_every_keyed_route(self):
        for method, path, body in KEYED:
            for key in (None, "wrong-key", "", KEY1 + "x", KEY1.upper()):
                r = self.srv.req(method, path, body, key=key)
                self.assertErrorBody(r, 401, "unauthorized", detail="Invalid or missing API Key")
        # both configured keys work
        for key in (KEY1, KEY2):
            self.assertStatus(self.srv.get("/v11/system-info", key=key), 200)

    def test_open_routes_need_no_key(self):
        for path in OPEN:
            r = self.srv.get(path, key=None)
            self.assertStatus(r, 200, path)

    def test_401_before_body_checks(self):
        # a missing key wins over a malformed body: nothing is parsed for strangers
        r = self.srv.post("/v11/generate", b"{bad json", key=None)
        self.assertErrorBody(r, 401, "unauthorized")

    # ---- 400 invalid_json --------------------------------------------------
    def test_400_invalid_json(self):
        good = '{"product_description":"Zapatos","target_platform":"instagram","tone":"casual"'
        cases = {
            "truncated": good.encode(),
            "trailing comma": (good + ",}").encode(),
            "single quotes": b"{'product_description': 'x'}",
            "bare word": b"hello",
            "empty body": b"",
            "trailing garbage": (good + "} xyz").encode(),
            "two values": (good + "} {}").encode(),
            "invalid utf-8": (good + ',"target_audience":"\xff\xfe\xc3"}').encode("latin-1"),
            "overlong utf-8": (good.encode() + b',"target_audience":"\xc0\xaf"}'),
            "lone surrogate escape": (good + ',"target_audience":"\\ud800"}').encode(),
            "nul escape": (good + ',"target_audience":"a\\u0000b"}').encode(),
            "raw nul": (good + ',"target_audience":"a').encode() + b"\x00" + b'b"}',
            "duplicate keys": (good + ',"tone":"formal"}').encode(),
            "NaN": (good + ',"creativity_level":NaN}').encode(),
            "Infinity": (good + ',"creativity_level":Infinity}').encode(),
            "huge number": (good + ',"max_length":1e999}').encode(),
            "deep nesting": (good + ',"website_info":' + "[" * 200 + "]" * 200 + "}").encode(),
            "control char in string": (good + ',"target_audience":"a\nb"}').encode(),
            "bad escape": (good + ',"target_audience":"a\\qb"}').encode(),
        }
        for name, body in cases.items():
            with self.subTest(case=name):
                r = self.srv.post("/v11/generate", body)
                self.assertErrorBody(r, 400, "invalid_json")
        # The same parser guards the other JSON routes.
        for path in ("/generate", "/v11/batch-generate", "/batch-generate", "/feedback", "/refactor",
                     "/v11/optimize", "/batch-status"):
            with self.subTest(path=path):
                self.assertErrorBody(self.srv.post(path, b'{"a":1,"a":2}'), 400, "invalid_json")
                self.assertErrorBody(self.srv.post(path, b"[1,2"), 400, "invalid_json")

    def test_valid_edge_json_accepted(self):
        # Things a strict parser must still accept.
        b = base_brief(product_description="Caf\u00e9 \U0001F600 con le\u00f1a \\ \"comillas\"")
        r = self.srv.post("/v11/generate", b)
        self.assertStatus(r, 200)
        raw = ('{"product_description":"Caf\\u00e9 \\ud83d\\ude00 ok","target_platform":"facebook",'
               '"tone":"casual","max_length":1000,"language":"es"}').encode()
        self.assertStatus(self.srv.post("/v11/generate", raw), 200)
        # BOM-less, surrounding white space
        self.assertStatus(self.srv.post("/v11/generate", b"  \r\n" + raw + b"\n\t "), 200)
        # nesting of 60 levels in an ignored unknown field is fine (limit is deeper)
        deep = raw[:-1] + b',"unknown_extra":' + b"[" * 60 + b"]" * 60 + b"}"
        self.assertStatus(self.srv.post("/v11/generate", deep), 200)

    # ---- 415 ---------------------------------------------------------------
    def test_415_content_type(self):
        for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                   "application/xml", "json"):
            with self.subTest(ct=ct):
                r = self.srv.post("/v11/generate", base_brief(), content_type=ct)
                self.assertErrorBody(r, 415, "unsupported_media_type")
        for ct in ("application/json", "application/json; charset=utf-8", "Application/JSON",
                   "application/json;charset=UTF-8"):
            with self.subTest(ct=ct):
                r = self.srv.post("/v11/generate", base_brief(), content_type=ct)
                self.assertStatus(r, 200)
        # a missing Content-Type is taken as JSON
        r = self.srv.post("/v11/generate", base_brief(), content_type=None)
        self.assertStatus(r, 200)
        r = self.srv.post("/feedback", {"variant_id": "ct", "feedback": {"type": "auto", "score": 1}},
                          content_type="text/plain")
        self.assertErrorBody(r, 415, "unsupported_media_type")

    # ---- 413 ---------------------------------------------------------------
    def test_413_body_over_configured_limit(self):
        big = base_brief(target_audience="a" * 70000)
        r = self.srv.post("/v11/generate", big)
        self.assertErrorBody(r, 413, "payload_too_large")
        # just under the limit is parsed (and then validated: 422 for the long field)
        ok = base_brief(target_audience="a" * 60000)
        self.assertValidation(self.srv.post("/v11/generate", ok), ["body", "target_audience"])
        self.assertStatus(self.srv.get("/v11/health", key=None), 200)

    # ---- 422 ---------------------------------------------------------------
    def test_422_fastapi_detail(self):
        b = base_brief(key_points=["a", "b", "c", 5])
        j = self.assertValidation(self.srv.post("/v11/generate", b), ["body", "key_points", 3])
        self.assertIn("key_points", j["error"]["field"])
        # several problems: one detail entry each, error names the first
        b = base_brief(tone="angry", max_length=5, key_points=["a", 7])
        del b["product_description"]
        j = self.assertValidation(self.srv.post("/v11/generate", b))
        locs = [d["loc"] for d in j["detail"]]
        for loc in (["body", "product_description"], ["body", "tone"], ["body", "max_length"],
                    ["body", "key_points", 1]):
            self.assertIn(loc, locs)
        self.assertEqual(j["error"]["message"], j["detail"][0]["msg"])
        first = j["detail"][0]["loc"]
        self.assertIn(str(first[1]), j["error"]["field"])
        missing = [d for d in j["detail"] if d["loc"] == ["body", "product_description"]][0]
        self.assertEqual(missing["type"], "missing")

    def test_422_each_field(self):
        long = lambda n: "x" * n  # noqa: E731
        cases = [
            ({"product_description": ""}, ["body", "product_description"]),
            ({"product_description": "   "}, ["body", "product_description"]),
            ({"product_description": long(2001)}, ["body", "product_description"]),
            ({"product_description": 123}, ["body", "product_description"]),
            ({"product_description": None}, ["body", "product_description"]),
            ({"target_platform": "myspace"}, ["body", "target_platform"]),
            ({"target_platform": 3}, ["body", "target_platform"]),
            ({"tone": "angry"}, ["body", "tone"]),
            ({"tone": ["casual"]}, ["body", "tone"]),
            ({"language": "xx"}, ["body", "language"]),
            ({"language": 5}, ["body", "language"]),
            ({"creativity_level": 1.5}, ["body", "creativity_level"]),
            ({"creativity_level": -0.1}, ["body", "creativity_level"]),
            ({"creativity_level": "wild"}, ["body", "creativity_level"]),
            ({"creativity_level": True}, ["body", "creativity_level"]),
            ({"creativity_score": 2}, ["body", "creativity_score"]),
            ({"content_type": "poem"}, ["body", "content_type"]),
            ({"use_case": "world_domination"}, ["body", "use_case"]),
            ({"target_audience": long(801)}, ["body", "target_audience"]),
            ({"key_points": ["k"] * 16}, ["body", "key_points"]),
            ({"key_points": "Comodidad"}, ["body", "key_points"]),
            ({"features_to_highlight": ["f"] * 11}, ["body", "features_to_highlight"]),
            ({"call_to_action": long(101)}, ["body", "call_to_action"]),
            ({"keywords": ["k"] * 21}, ["body", "keywords"]),
            ({"instructions": long(1001)}, ["body", "instructions"]),
            ({"restrictions": ["r"] * 16}, ["body", "restrictions"]),
            ({"compliance_requirements": ["c"] * 11}, ["body", "compliance_requirements"]),
            ({"max_length": 9}, ["body", "max_length"]),
            ({"max_length": 10001}, ["body", "max_length"]),
            ({"max_length": "100"}, ["body", "max_length"]),
            ({"min_length": 9}, ["body", "min_length"]),
            ({"min_length": 5001}, ["body", "min_length"]),
            ({"variant_settings": {"max_variants": 0}}, ["body", "variant_settings", "max_variants"]),
            ({"variant_settings": {"max_variants": 21}}, ["body", "variant_settings", "max_variants"]),
            ({"variant_settings": "five"}, ["body", "variant_settings"]),
            ({"brand_voice": {"formality_level": 1.2}}, ["body", "brand_voice", "formality_level"]),
            ({"brand_voice": {"dont_use": "barato"}}, ["body", "brand_voice", "dont_use"]),
            ({"brand_voice": "formal"}, ["body", "brand_voice"]),
            ({"timeout": 4}, ["body", "timeout"]),
            ({"timeout": 301}, ["body", "timeout"]),
            ({"tracking_id": 12}, ["body", "tracking_id"]),
            ({"translation_settings": "es->en"}, ["body", "translation_settings"]),
            ({"audience_profile": "young"}, ["body", "audience_profile"]),
            ({"seo_optimization": "yes"}, ["body", "seo_optimization"]),
            ({"website_info": "https://example.com"}, ["body", "website_info"]),
        ]
        for over, loc in cases:
            with self.subTest(over=str(over)[:80]):
                b = base_brief(**over)
                self.assertValidation(self.srv.post("/v11/generate", b), loc)
        for field in ("product_description", "target_platform", "tone"):
            b = base_brief()
            del b[field]
            j = self.assertValidation(self.srv.post("/v11/generate", b), ["body", field])
            self.assertEqual(j["detail"][0]["type"], "missing")
        # a body that is valid JSON but not an object
        for body in (b'[{"tone":"casual"}]', b'"a string"', b"42", b"null", b"true"):
            with self.subTest(body=body):
                self.assertValidation(self.srv.post("/v11/generate", body))

    def test_accepted_variants_of_the_brief(self):
        ok = [
            {"unknown_field": {"anything": [1, 2]}},
            {"creativity_level": "conservative"}, {"creativity_level": "innovative"},
            {"creativity_level": 0}, {"creativity_level": 1},
            {"content_type": "ad_copy", "use_case": "product_launch"},
            {"key_points": ["  Comodidad ", "", "   ", "Estilo"]},
            {"translation_settings": {"target": "en"}, "session_id": "s-1",
             "audience_profile": {"age": "18-30"}, "project_context": {"p": 1},
             "platform_settings": {}, "seo_optimization": {}, "engagement_optimization": {},
             "conversion_optimization": {}},
            {"brand_voice": {"tone": "cercano", "voice_style": "directo", "do_use": ["tú"],
                             "dont_use": ["barato"], "preferred_phrases": ["sin límites"],
                             "formality_level": 0.3, "extra_member": True}},
            {"variant_settings": {"max_variants": 1, "extra": "ok"}},
            {"website_info": {"url": "https://example.com", "name": "Ejemplo"}},
            {"timeout": 5}, {"timeout": 300}, {"max_length": 10}, {"min_length": 5000, "max_length": 10000},
            {"user_id": "u1", "campaign_id": "c1", "tracking_id": "t-" + uuid.uuid4().hex},
            {"product_description": "x" * 2000},
        ]
        for over in ok:
            with self.subTest(over=str(over)[:80]):
                r = self.srv.post("/v11/generate", base_brief(**over))
                self.assertStatus(r, 200)

    def test_422_unsupported_language(self):
        for lang in ("ru", "ja"):
            r = self.srv.post("/v11/generate", base_brief(language=lang))
            j = self.assertErrorBody(r, 422, "unsupported_language", field="language")
            msg = j["error"]["message"]
            self.assertIn("template", msg, "message names the engine")
            self.assertIn("es", msg)
            self.assertIn("en", msg)
            self.assertIsInstance(j["detail"], list)
            self.assertEqual(j["detail"][0]["loc"], ["body", "language"])
        r = self.srv.post("/generate", base_brief(language="ru"))
        self.assertErrorBody(r, 422, "unsupported_language", field="language")

    # ---- 404 / 405 -----------------------------------------------------------
    def test_404_unknown_routes(self):
        for path in ("//nope", "/nope", "/v11/nope", "/v12/generate", "/v11/generate/extra",
                     "//copywritingv11/health", "/task-status", "/variant-history/"):
            with self.subTest(path=path):
                r = self.srv.get(path, key=KEY1)
                self.assertErrorBody(r, 404, "not_found")
        r = self.srv.post("/v11/nope", base_brief())
        self.assertErrorBody(r, 404, "not_found")

    def test_405_wrong_method(self):
        for method, path in (("GET", "/v11/generate"), ("DELETE", "/v11/health"), ("POST", "/models"),
                             ("PUT", "/feedback"), ("GET", "/v11/batch-generate"), ("POST", "/metrics"),
                             ("PATCH", "/v11/optimize"), ("POST", "/task-status/abc"),
                             ("GET", "/refactor")):
            with self.subTest(method=method, path=path):
                r = self.srv.req(method, path, key=KEY1)
                self.assertErrorBody(r, 405, "method_not_allowed")

    # ---- 400 unsupported_model / batch_too_large ----------------------------------
    def test_400_unsupported_model_everywhere(self):
        for path, body in (("/generate", base_brief()), ("/batch-generate", [base_brief()]),
                           ("/refactor", {"text": "hola mundo"}), ("/optimiza", {"text": "hola mundo"}),
                           ("/optimiza-con-librerias", {"text": "hola mundo"})):
            with self.subTest(path=path):
                r = self.srv.post(path + "?model_name=llama-999", body)
                self.assertErrorBody(r, 400, "unsupported_model", detail="Modelo 'llama-999' no soportado.")

    def test_batch_too_large_configured(self):
        srv = self.new_server(args=["--max-batch-size", "3"])
        items = [unique_brief("m%d" % i) for i in range(4)]
        self.assertErrorBody(srv.post("/v11/batch-generate", items), 400, "batch_too_large",
                             detail="Batch size exceeds maximum of 3")
        self.assertErrorBody(srv.post("/batch-generate", items), 400, "batch_too_large",
                             detail="El batch máximo permitido es 3.")
        self.assertStatus(srv.post("/v11/batch-generate", items[:3]), 200)
        self.assertStatus(srv.post("/batch-generate", items[:3]), 200)

    # ---- 422 on query parameters -------------------------------------------
    def test_422_query(self):
        r = self.srv.get("/feedback?limit=0")
        j = self.assertValidation(r, ["query", "limit"])
        self.assertEqual(j["error"]["field"], "limit")

    # ---- error answers do not break the connection or the server -------------
    def test_errors_keep_serving(self):
        data = raw_request_bytes("POST", "/copywriting/v11/generate", b"{oops")
        buf, _ = raw_exchange(self.srv.port, data, timeout=5)
        resp, _ = parse_http_response(buf)
        self.assertEqual(resp.status, 400)
        self.assertTrue(resp.header("x-request-id"), "every answer carries X-Request-Id")
        self.assertStatus(self.srv.get("/v11/health", key=None), 200)


class RateLimit(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server(rate_limit=2)

    def test_429_per_route_and_key(self):
        routes = [("/generate", base_brief()), ("/refactor", {"text": "Texto de prueba para reescribir."}),
                  ("/optimiza", {"text": "Texto de prueba para optimizar."}),
                  ("/optimiza-con-librerias", {"text": "Texto de prueba con librerías."})]
        for path, body in routes:
            with self.subTest(path=path):
                for i in range(2):
                    self.assertStatus(self.srv.post(path, body, key=KEY1), 200, "%s #%d" % (path, i))
                r = self.srv.post(path, body, key=KEY1)
                self.assertErrorBody(r, 429, "rate_limited")
                ra = r.header("retry-after")
                self.assertIsNotNone(ra, "429 carries Retry-After")
                self.assertTrue(ra.isdigit() and 1 <= int(ra) <= 60, "Retry-After %r" % ra)
        # another key has its own budget
        self.assertStatus(self.srv.post("/generate", base_brief(), key=KEY2), 200)
        # v11 routes are not limited
        for i in range(4):
            self.assertStatus(self.srv.post("/v11/generate", base_brief(), key=KEY1), 200)
        # unlimited routes still answer, and the exhausted budget stays exhausted
        self.assertStatus(self.srv.get("/models", key=None), 200)
        r = self.srv.post("/generate", base_brief(), key=KEY1)
        self.assertErrorBody(r, 429, "rate_limited")

    def test_wrong_key_is_401_not_429(self):
        for i in range(4):
            r = self.srv.post("/optimiza", {"text": "hola"}, key="nobody")
            self.assertErrorBody(r, 401, "unauthorized")


class ConfigFromEnv(CopydCase):
    def test_api_key_env(self):
        for var in ("API_KEY", "COPYWRITING_API_KEY"):
            with self.subTest(var=var):
                srv = self.new_server(env={var: " env-a , env-b "}, pass_key_flag=False)
                self.assertStatus(srv.get("/v11/system-info", key="env-a"), 200)
                self.assertStatus(srv.get("/v11/system-info", key="env-b"), 200)
                self.assertErrorBody(srv.get("/v11/system-info", key=KEY1), 401, "unauthorized")
                srv.cleanup()

    def test_flag_overrides_env(self):
        srv = self.new_server(env={"API_KEY": "from-env", "MAX_BATCH_SIZE": "2", "COPYD_RATE_LIMIT": "1000"},
                              args=["--max-batch-size", "4"])
        self.assertStatus(srv.get("/v11/system-info", key=KEY1), 200)
        self.assertErrorBody(srv.get("/v11/system-info", key="from-env"), 401, "unauthorized")
        items = [unique_brief("e%d" % i) for i in range(4)]
        self.assertStatus(srv.post("/v11/batch-generate", items), 200)

    def test_env_limits(self):
        srv = self.new_server(env={"MAX_BATCH_SIZE": "2", "COPYD_MAX_BODY": "2048"})
        self.assertErrorBody(srv.post("/v11/batch-generate", [base_brief()] * 3), 400, "batch_too_large",
                             detail="Batch size exceeds maximum of 2")
        self.assertErrorBody(srv.post("/v11/generate", base_brief(instructions="y" * 900,
                                                                   product_description="p" * 1500)),
                             413, "payload_too_large")


if __name__ == "__main__":
    main()
