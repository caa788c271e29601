"""The local LLM engine's command line against recorded references.

`copyd complete` must reproduce llama2.c's recorded stories260K outputs byte
for byte (greedy, and top-p with run.c's sampler and seed), `copyd tokenize`
llama.cpp's tokenizations, and `copyd model info` must describe a model and
refuse a corrupt file with a clear message.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("COPYD_BIN", "/work/main/build/copyd")
MODELS = os.environ.get("COPYD_TEST_MODELS") or os.path.join(
    os.environ.get("COPYD_SHARED") or os.path.join(os.environ.get("COPYD_SOURCE_DIR", "/work/main"), "..", "shared"),
    "models")


def run(args, stdin=b""):
    p = subprocess.run([BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout, p.stderr


def model(*parts):
    return os.path.join(MODELS, *parts)


@unittest.skipUnless(os.path.isdir(MODELS), "SKIP: model files not found at %s (set COPYD_TEST_MODELS)" % MODELS)
class Complete(unittest.TestCase):
    def expect_file(self, args, expected_name):
        with open(model("llama2c", expected_name), "rb") as f:
            expected = f.read()
        rc, out, err = run(args)
        self.assertEqual(rc, 0, err.decode(errors="replace"))
        # run.c prints a final newline after the generated text; copyd prints only the text
        self.assertEqual(out, expected.rstrip(b"\n") if expected.endswith(b"\n") else expected)

    def test_greedy_200(self):
        self.expect_file(["complete", "--model", model("gguf", "stories260K.gguf"), "--prompt", "", "-n", "200",
                          "--temperature", "0"], "stories260K.expected_stdout_t0_n200.txt")

    def test_greedy_256(self):
        self.expect_file(["complete", "--model", model("gguf", "stories260K.gguf"), "--prompt", "", "-n", "256",
                          "--temperature", "0"], "stories260K.expected_stdout_t0_n256.txt")

    def test_top_p_llama2c_sampler(self):
        self.expect_file(["complete", "--model", model("gguf", "stories260K.gguf"), "--prompt", "", "-n", "256",
                          "--temperature", "1.0", "--top-p", "0.9", "--seed", "133742", "--llama2c-sampler"],
                         "stories260K.expected_stdout_t1.0_p0.9_s133742.txt")

    def test_ids_of_greedy_qwen2(self):
        for kind in ("f32", "f16", "q8_0"):
            name = "tiny-random-qwen2-synthetic-%s.gguf" % kind
            ref_name = name + (".reference_llama.cpp_native.txt" if kind == "f32"
                               else ".reference_llama.cpp_exact-dequant-f32.txt")
            with open(model("gguf", "synthetic", ref_name), encoding="utf-8") as f:
                ref = f.read()
            prompt = re.search(r"^prompt=(.*)$", ref, re.M).group(1)
            prompt_ids = re.search(r"^prompt_tokens\(\d+\): ([0-9 ]+)$", ref, re.M).group(1).split()
            seq = re.search(r"^sequence\(steps=\d+\): ([0-9 ]+)$", ref, re.M).group(1).split()
            generated = seq[len(prompt_ids):]
            rc, out, err = run(["complete", "--model", model("gguf", "synthetic", name), "--prompt", prompt,
                                "-n", str(len(generated)), "--temperature", "0", "--ids"])
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.decode().split(), generated, kind)

    def test_bad_usage(self):
        rc, _, err = run(["complete", "--model", model("gguf", "stories260K.gguf"), "-n", "5"])
        self.assertEqual(rc, 2)
        self.assertIn(b"--prompt", err)
        rc, _, err = run(["complete", "--model", "/nonexistent.gguf", "--prompt", "x", "-n", "5"])
        self.assertEqual(rc, 1)
        self.assertIn(b"/nonexistent.gguf", err)
        rc, out, _ = run(["complete", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn(b"--temperature", out)


@unittest.skipUnless(os.path.isdir(MODELS), "SKIP: model files not found at %s" % MODELS)
class Tokenize(unittest.TestCase):
    def test_qwen2_reference(self):
        with open(model("gguf", "synthetic", "tiny-random-qwen2-synthetic-f32.gguf.reference_llama.cpp_native.txt"),
                  encoding="utf-8") as f:
            ref = f.read()
        cases = re.findall(r'^tokenize "(.*)" => ([0-9 ]*)$', ref, re.M)
        self.assertGreaterEqual(len(cases), 5)
        for text, ids in cases:
            text = text.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
            rc, out, err = run(["tokenize", "--model", model("gguf", "synthetic", "tiny-random-qwen2-synthetic-f32.gguf")],
                               stdin=text.encode())
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.decode().split(), ids.split(), "text %r" % text)

    def test_llama_cpp_vocab_sample(self):
        vocab = model("llama.cpp-vocab", "ggml-vocab-gpt-2.gguf")
        with open(vocab + ".inp", encoding="utf-8") as f:
            inp = f.read().split("\n__ggml_vocab_test__\n")[:-1]
        with open(vocab + ".out", encoding="utf-8") as f:
            out_lines = f.read().split("\n")
        for text, ids in list(zip(inp, out_lines))[:12]:
            rc, out, err = run(["tokenize", "--model", vocab], stdin=text.encode())
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.decode().split(), ids.split(), "text %r" % text)


@unittest.skipUnless(os.path.isdir(MODELS), "SKIP: model files not found at %s" % MODELS)
class ModelInfo(unittest.TestCase):
    def test_info(self):
        rc, out, err = run(["model", "info", model("gguf", "stories260K.gguf")])
        self.assertEqual(rc, 0, err)
        text = out.decode()
        self.assertIn("llama", text)
        self.assertIn("runnable: yes", text)
        self.assertIn("512", text)

    def test_corrupt_file(self):
        with open(model("gguf", "stories260K.gguf"), "rb") as f:
            data = f.read()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "truncated.gguf")
            with open(path, "wb") as f:
                f.write(data[:len(data) // 2])
            rc, _, err = run(["model", "info", path])
            self.assertEqual(rc, 1)
            self.assertIn(b"truncated.gguf", err + _)
            path2 = os.path.join(d, "notgguf.gguf")
            with open(path2, "wb") as f:
                f.write(b"this is not a model")
            rc, out, err = run(["model", "info", path2])
            self.assertEqual(rc, 1)
            self.assertTrue(err.strip(), "a clear message on stderr")


if __name__ == "__main__":
    unittest.main(verbosity=2)
