/* test_chat.c -- chat template recognition and rendering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "llm/chat.h"
#include "llm/gguf.h"
#include "test.h"

/* Shortened forms of the Jinja templates real GGUF files carry: the
 * markers are the ones the models use, the control flow is trimmed. */
static const char *T_CHATML =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
static const char *T_LLAMA2 =
    "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + messages[0]['content'] + "
    "'\\n<</SYS>>\\n\\n' %}{% endif %}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% endif %}{% endfor %}";
static const char *T_LLAMA3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}";
static const char *T_ZEPHYR =
    "{% for message in messages %}\\n{% if message['role'] == 'user' %}\\n{{ '<|user|>\\n' + message['content'] "
    "+ eos_token }}\\n{% elif message['role'] == 'system' %}\\n{{ '<|system|>\\n' + message['content'] + "
    "eos_token }}\\n{% endif %}\\n{% if loop.last and add_generation_prompt %}\\n{{ '<|assistant|>' }}\\n{% endif "
    "%}\\n{% endfor %}";
static const char *T_MISTRAL =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + "
    "eos_token}}{% endif %}{% endfor %}";
static const char *T_GEMMA =
    "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim "
    "+ '<end_of_turn>\\n' }}{% endfor %}";

static llm_chat_kind_t detect(const char *t) { return llm_chat_detect(t, strlen(t)); }

static void test_detect(void) {
    CHECK(detect(T_CHATML) == LLM_CHAT_CHATML);
    CHECK(detect(T_LLAMA2) == LLM_CHAT_LLAMA2);
    CHECK(detect(T_LLAMA3) == LLM_CHAT_LLAMA3);
    CHECK(detect(T_ZEPHYR) == LLM_CHAT_ZEPHYR);
    CHECK(detect(T_MISTRAL) == LLM_CHAT_MISTRAL);
    CHECK(detect(T_GEMMA) == LLM_CHAT_UNKNOWN);
    CHECK(detect("") == LLM_CHAT_UNKNOWN);
    CHECK(llm_chat_detect(NULL, 0) == LLM_CHAT_UNKNOWN);
    /* the length is honoured: the marker lies past it */
    CHECK(llm_chat_detect(T_CHATML, 20) == LLM_CHAT_UNKNOWN);

    CHECK(llm_chat_from_name("chatml") == LLM_CHAT_CHATML);
    CHECK(llm_chat_from_name("Llama2") == LLM_CHAT_LLAMA2);
    CHECK(llm_chat_from_name("LLAMA3") == LLM_CHAT_LLAMA3);
    CHECK(llm_chat_from_name("zephyr") == LLM_CHAT_ZEPHYR);
    CHECK(llm_chat_from_name("mistral") == LLM_CHAT_MISTRAL);
    CHECK(llm_chat_from_name("gemma") == LLM_CHAT_UNKNOWN);
    CHECK(llm_chat_from_name(NULL) == LLM_CHAT_UNKNOWN);
    for (int k = LLM_CHAT_CHATML; k <= LLM_CHAT_MISTRAL; k++)
        CHECK(llm_chat_from_name(llm_chat_name((llm_chat_kind_t)k)) == (llm_chat_kind_t)k);
    CHECK_STR(llm_chat_name(LLM_CHAT_UNKNOWN), "unknown");

    char err[256];
    llm_chat_kind_t k = LLM_CHAT_UNKNOWN;
    CHECK(llm_chat_choose(NULL, T_LLAMA3, strlen(T_LLAMA3), &k, err, sizeof err) == 0 && k == LLM_CHAT_LLAMA3);
    /* a forced name wins over the template */
    CHECK(llm_chat_choose("chatml", T_LLAMA3, strlen(T_LLAMA3), &k, err, sizeof err) == 0 && k == LLM_CHAT_CHATML);
    CHECK(llm_chat_choose("", T_MISTRAL, strlen(T_MISTRAL), &k, err, sizeof err) == 0 && k == LLM_CHAT_MISTRAL);
    CHECK(llm_chat_choose("vicuna", T_CHATML, strlen(T_CHATML), &k, err, sizeof err) == -1);
    CHECK(strstr(err, "unknown chat format 'vicuna'") != NULL);
    CHECK(llm_chat_choose(NULL, T_GEMMA, strlen(T_GEMMA), &k, err, sizeof err) == -1);
    CHECK(strstr(err, "unrecognised tokenizer.chat_template") != NULL);
    CHECK(llm_chat_choose(NULL, NULL, 0, &k, err, sizeof err) == -1);
    CHECK(strstr(err, "no tokenizer.chat_template") != NULL);
}

static void expect(llm_chat_kind_t k, const char *sys, const char *user, const char *eos, const char *want) {
    buf_t b = BUF_INIT;
    char err[128];
    int rc = llm_chat_render(k, sys, user, eos, &b, err, sizeof err);
    CHECK(rc == 0);
    CHECK_STR(b.p ? b.p : "", want);
    buf_free(&b);
}

static void test_render(void) {
    expect(LLM_CHAT_CHATML, "You write ads.", "Sell shoes.", NULL,
           "<|im_start|>system\nYou write ads.<|im_end|>\n<|im_start|>user\nSell shoes.<|im_end|>\n"
           "<|im_start|>assistant\n");
    expect(LLM_CHAT_CHATML, NULL, "Hi", NULL, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    expect(LLM_CHAT_LLAMA2, "You write ads.", "Sell shoes.", NULL,
           "[INST] <<SYS>>\nYou write ads.\n<</SYS>>\n\nSell shoes. [/INST]");
    expect(LLM_CHAT_LLAMA2, "", "Sell shoes.", NULL, "[INST] Sell shoes. [/INST]");
    expect(LLM_CHAT_LLAMA3, "You write ads.", "Sell shoes.", NULL,
           "<|start_header_id|>system<|end_header_id|>\n\nYou write ads.<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nSell shoes.<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect(LLM_CHAT_LLAMA3, NULL, "Hi", NULL,
           "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    expect(LLM_CHAT_ZEPHYR, "You write ads.", "Sell shoes.", NULL,
           "<|system|>\nYou write ads.</s>\n<|user|>\nSell shoes.</s>\n<|assistant|>\n");
    expect(LLM_CHAT_ZEPHYR, NULL, "Hi", "<|endoftext|>", "<|user|>\nHi<|endoftext|>\n<|assistant|>\n");
    expect(LLM_CHAT_MISTRAL, "You write ads.", "Sell shoes.", NULL, "[INST] You write ads.\n\nSell shoes. [/INST]");
    expect(LLM_CHAT_MISTRAL, NULL, "Hi", NULL, "[INST] Hi [/INST]");
    /* text with %-signs and markup goes through untouched */
    expect(LLM_CHAT_CHATML, NULL, "50% off {{x}}", NULL,
           "<|im_start|>user\n50% off {{x}}<|im_end|>\n<|im_start|>assistant\n");

    /* appends: what the buffer held stays */
    buf_t b = BUF_INIT;
    char err[128];
    buf_puts(&b, "X");
    CHECK(llm_chat_render(LLM_CHAT_MISTRAL, NULL, "Hi", NULL, &b, err, sizeof err) == 0);
    CHECK_STR(b.p, "X[INST] Hi [/INST]");
    CHECK(llm_chat_render(LLM_CHAT_UNKNOWN, NULL, "Hi", NULL, &b, err, sizeof err) == -1);
    CHECK(llm_chat_render(LLM_CHAT_CHATML, NULL, NULL, NULL, &b, err, sizeof err) == -1);
    buf_free(&b);
}

/* The Phi-3 vocabulary GGUF carries a real tokenizer.chat_template: its
 * <|user|>/<|assistant|> turns end with <|end|>, a format copyd does not
 * render, so it must be reported as unknown rather than taken for zephyr. */
static void test_real_template(void) {
    const char *env = getenv("COPYD_TEST_MODELS");
    char path[2048], err[256];
    snprintf(path, sizeof path, "%s/llama.cpp-vocab/ggml-vocab-phi-3.gguf",
             env && env[0] ? env : "/work/shared/models");
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("SKIP real chat template: %s is absent\n", path);
        return;
    }
    gguf_t *g = gguf_open(path, 0, err, sizeof err);
    CHECK(g != NULL);
    if (!g) return;
    gguf_str_t t;
    CHECK(gguf_get_str(g, "tokenizer.chat_template", &t) == 0);
    CHECK(t.len > 100 && memmem(t.p, t.len, "<|user|>", 8) != NULL);
    CHECK(llm_chat_detect(t.p, t.len) == LLM_CHAT_UNKNOWN);
    llm_chat_kind_t k;
    CHECK(llm_chat_choose(NULL, t.p, t.len, &k, err, sizeof err) == -1);
    printf("phi-3 template: %s\n", err);
    CHECK(llm_chat_choose("chatml", t.p, t.len, &k, err, sizeof err) == 0 && k == LLM_CHAT_CHATML);
    gguf_close(g);
}

int main(void) {
    test_detect();
    test_render();
    test_real_template();
    TEST_DONE();
}
