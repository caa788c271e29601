"""`copyd serve` with the local LLM engine (COPYD_ENGINE=llm) on a real model
file: variants from the model, restrictions enforced on them, languages the
model does not write handed to the template engine (and reported), and a
model that cannot load leaving the server up on the template engine."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CopydCase, _shared_dir  # noqa: E402

MODELS = os.environ.get("COPYD_TEST_MODELS") or os.path.join(_shared_dir(), "models")
STORIES = os.path.join(MODELS, "gguf", "stories260K.gguf")


@unittest.skipUnless(os.path.exists(STORIES), "SKIP: %s not found (set COPYD_TEST_MODELS)" % STORIES)
class LlmServer(CopydCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.start_server(env={"COPYD_ENGINE": "llm", "COPYD_MODEL": STORIES})

    def brief(self, **over):
        b = {"product_description": "A bouncy red ball for kids", "target_platform": "facebook",
             "tone": "playful", "language": "en", "key_points": ["Bounces high"],
             "variant_settings": {"max_variants": 3}}
        b.update(over)
        return b

    def test_models_lists_the_model(self):
        r = self.srv.get("/models")
        self.assertStatus(r, 200)
        self.assertIn("stories260K", r.json["available_models"])
        self.assertIn("llm", r.json["available_models"])

    def test_v11_generate_from_the_model(self):
        r = self.srv.post("/v11/generate", self.brief())
        self.assertStatus(r, 200)
        out = r.json["result"]
        self.assertOutput(out)
        self.assertEqual(out["model_used"], "stories260K")
        self.assertEqual(out["extra_metadata"]["engine"], "llm")
        self.assertEqual(len(out["variants"]), 3)
        self.assertGreater(out["tokens_used"], 0)
        for v in out["variants"]:
            self.assertTrue(v["compliance"]["passed"], v)
            self.assertIn("Bounces high", v["headline"] + v["primary_text"])
        # the same brief again is a cache hit with the same variants
        r2 = self.srv.post("/v11/generate", self.brief())
        self.assertTrue(r2.json["cache_hit"])
        self.assertEqual(r2.json["result"]["variants"], out["variants"])

    def test_legacy_generate_with_model_name(self):
        r = self.srv.post("/generate?model_name=stories260K", self.brief(tone="friendly"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["model_used"], "stories260K")

    def test_restrictions_hold_on_model_text(self):
        r = self.srv.post("/v11/generate", self.brief(
            target_platform="twitter", restrictions=["no exclamation marks", "no emojis", "no hashtags"]))
        self.assertStatus(r, 200)
        out = r.json["result"]
        for v in out["variants"]:
            text = v["headline"] + v["primary_text"] + v["call_to_action"]
            self.assertNotIn("!", text)
            self.assertNotIn("#", text)
            self.assertEqual(v["hashtags"], [])
            self.assertLessEqual(v["character_count"], 280)

    def test_language_the_model_does_not_write_falls_back(self):
        r = self.srv.post("/v11/generate", self.brief(language="es", product_description="Zapatillas"))
        self.assertStatus(r, 200)
        meta = r.json["result"]["extra_metadata"]
        self.assertEqual(meta["engine"], "template")
        self.assertEqual(meta["fallback_from"], "llm")

    def test_metrics_count_tokens(self):
        self.srv.post("/v11/generate", self.brief(product_description="A kite"))
        text = self.srv.get("/metrics").body.decode()
        self.assertRegex(text, r'copyd_engine_tokens_total\{engine="llm"\} [1-9]')
        self.assertIn('copyd_engine_tokens_per_second{engine="llm"}', text)


class LlmModelMissing(CopydCase):
    def test_server_stays_up_on_template(self):
        srv = self.new_server(env={"COPYD_ENGINE": "llm", "COPYD_MODEL": "/nonexistent/model.gguf"})
        h = srv.get("/v11/health")
        self.assertStatus(h, 200)
        j = h.json
        self.assertEqual(j["status"], "degraded")
        llm = j["engine_status"]["engines"]["llm"]
        self.assertFalse(llm["ready"])
        self.assertIn("/nonexistent/model.gguf", llm["reason"])
        r = srv.post("/v11/generate", {"product_description": "A kite", "target_platform": "facebook",
                                       "tone": "playful", "language": "en"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["result"]["extra_metadata"]["engine"], "template")
        self.assertEqual(r.json["result"]["extra_metadata"]["fallback_from"], "llm")


if __name__ == "__main__":
    unittest.main(verbosity=2)
