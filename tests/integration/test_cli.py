"""`copyd generate` for people: --pretty indents the JSON, --text prints the
variants as a person reads them, with the best one marked."""
import json
import os
import subprocess
import unittest

BIN = os.environ.get("COPYD_BIN", "/work/main/build/copyd")
BRIEF = {"product_description": "Premium wireless earbuds", "target_platform": "instagram", "tone": "confident",
         "key_points": ["Noise cancellation"], "restrictions": ["no price mentions", "keep it magical"],
         "language": "en", "variant_settings": {"max_variants": 3}}


def gen(*flags, brief=BRIEF):
    p = subprocess.run([BIN, "generate", *flags, "-"], input=json.dumps(brief).encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class GenerateForPeople(unittest.TestCase):
    def test_pretty_is_the_same_json_indented(self):
        rc, plain, _ = gen()
        rc2, pretty, _ = gen("--pretty")
        self.assertEqual((rc, rc2), (0, 0))
        a, b = json.loads(plain), json.loads(pretty)
        for o in (a, b):  # per-run facts
            o.pop("created_at"), o.pop("generation_time"), o.pop("tracking_id")
        self.assertEqual(a, b)
        self.assertIn("\n  ", pretty)

    def test_text(self):
        rc, out, err = gen("--text")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.count("== Variant"), 3)
        self.assertEqual(out.count("[best]"), 1)
        self.assertIn("Noise cancellation", out)
        self.assertIn("compliance: passed", out)
        self.assertIn('not understood: "keep it magical"', out)
        self.assertNotIn("{", out.split("\n")[0])

    def test_bad_brief_still_prints_the_error_json(self):
        rc, out, _ = gen("--text", brief={"tone": "casual"})
        self.assertEqual(rc, 1)
        self.assertEqual(json.loads(out)["error"]["code"], "validation_error")


if __name__ == "__main__":
    unittest.main(verbosity=2)
