#!/usr/bin/env python3
"""Writes the LLM-application fixtures of mlsec's llmconfig detector,
format/llmkind, mlsec inspect and mlsec bom.

prompts/, guardrails/, adapters/: one artifact per file. A file whose name
starts with rule ids ("PROMPT-001+PROMPT-002_...") must give exactly those
rules; a file starting "ok_" must give none (benign prompts, written the
way real applications write them, for precision).
app/: a small LLM application (prompt, NeMo Guardrails config, MCP server
configuration, A2A agent card, LoRA adapter, RAG corpus with a LlamaIndex
vector-store manifest) for inspect and bom.

Everything is our own text. Credentials are random strings of the providers'
shapes made from a fixed seed: they are not real keys. The files are written
with Python's json and PyYAML (Debian python3-yaml), as the tools that read
them parse them.

Run: python3 testdata/llm/gen.py  (rewrites the files and SHA256SUMS).
"""
import hashlib
import json
import os
import random
import shutil
import string

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(15)


def rand(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
OPENAI = "sk-proj-" + rand(ALNUM + "_-", 48)
ANTHROPIC = "sk-ant-api03-" + rand(ALNUM + "_-", 93)
HF = "hf_" + rand(string.ascii_letters, 34)
AWS = "AKIA" + rand(string.ascii_uppercase + string.digits, 16)
PASSWORD = rand(ALNUM, 10) + "9x" + rand(ALNUM, 8)


def write(rel, content):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        f.write(content)


def wjson(rel, obj):
    write(rel, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def wyaml(rel, obj):
    write(rel, yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))


def prompty(meta, body):
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body


def prompts():
    d = "prompts/"
    # Benign prompts.
    wjson(d + "ok_support-messages.json", {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are the help desk assistant of Northwind Traders. Answer in at most three sentences. "
                                          "If a question is about an order, ask for the order number. Escalate refunds over 500 EUR "
                                          "to support@northwind-traders.com."},
            {"role": "user", "content": "{{ customer_question }}"},
        ],
    })
    wjson(d + "ok_developer-role.json", [
        {"role": "developer", "content": [{"type": "text", "text": "Summarise the text the user gives you in plain English. Today is {{ today }}."}]},
        {"role": "user", "content": [{"type": "text", "text": "{{ document }}"}]},
    ])
    write(d + "ok_rag-answer.prompty", prompty(
        {"name": "Grounded answer", "description": "Answers from retrieved passages",
         "model": {"api": "chat", "configuration": {"type": "azure_openai", "azure_deployment": "gpt-4o"},
                   "parameters": {"max_tokens": 400}},
         "inputs": {"question": {"type": "string"}, "passages": {"type": "list"}},
         "sample": {"question": "What is the return window?", "passages": []}},
        "system:\nYou answer questions about the product catalogue using only the passages below.\n"
        "Say \"I don't know\" when the passages do not contain the answer.\n\n"
        "{% for p in passages %}\n[{{ loop.index }}] {{ p.title }}: {{ p.text }}\n{% endfor %}\n\n"
        "user:\n{{ question }}\n"))
    wjson(d + "ok_langchain-fstring.json", {
        "input_variables": ["language", "code"], "template_format": "f-string", "_type": "prompt",
        "template": "Review the following {language} code for readability and point out bugs.\n\n{code}\n\nUse bullet points; write {{ and }} literally.",
    })
    wyaml(d + "ok_langchain-chat.yaml", {
        "_type": "chat",
        "input_variables": ["tone", "question"],
        "messages": [["system", "You are a careful tutor. Use a {tone} tone."], ["human", "{question}"]],
    })
    write(d + "ok_translator.txt",
          "### System\nYou are a translation engine. Translate from {{ source_lang }} to {{ target_lang }}.\n"
          "Keep product names untranslated. Phone support: call us, numbers are in the footer.\n\n"
          "### User\n{{ text }}\n")
    wyaml(d + "ok_promptfooconfig.yaml", {
        "description": "Regression tests for the support prompt",
        "prompts": ["file://ok_support-messages.json"],
        "providers": ["openai:gpt-4o-mini"],
        "tests": [{"vars": {"customer_question": "Where is order 10248?"},
                   "assert": [{"type": "contains", "value": "order"}]}],
    })
    write(d + "ok_mustache.txt",
          "You are a release-notes writer.\n{{#changes}}\n- {{title}} ({{author}})\n{{/changes}}\nKeep it under 200 words.\n")
    wjson(d + "ok_env-reference.json", {"messages": [
        {"role": "system", "content": "You are a deployment assistant. The API key is read from $OPENAI_API_KEY; never print it. Example key format: sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx."},
        {"role": "user", "content": "{{ request }}"}]})
    wjson(d + "ok_order-tracking.json", {"messages": [
        {"role": "system", "content": "You are the order-tracking assistant (prompt v2.3.1, updated 2026-03-14 09:30 UTC). "
                                      "Tracking numbers look like 1Z999AA10123456784 or 9400 1000 0000 0000 0000 00. "
                                      "Prices are in EUR, e.g. 1.299,00. ISBNs such as 978-3-16-148410-0 identify books. "
                                      "Never ask for a password or a card number; send users to the password reset page. "
                                      "Reference order ids like 4000-1234 or 2026031400042 verbatim. Token limit: 4096."},
        {"role": "user", "content": "{{ tracking_question }}"}]})
    write(d + "ok_code-review.prompty", prompty(
        {"name": "Code reviewer", "description": "Reviews a diff",
         "model": {"api": "chat", "configuration": {"type": "openai", "model": "gpt-4.1"}, "parameters": {"temperature": 0}}},
        "system:\nYou review diffs for security problems: hard-coded secrets (for example a line such as\n"
        "`API_KEY = os.environ[\"API_KEY\"]` is fine, `password = \"<redacted>\"` is a finding), SQL injection and path traversal.\n"
        "Commit 3f9a1c2e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f is the base.\n\nuser:\n{{ diff }}\n"))
    wyaml(d + "ok_semantic-kernel.yaml", {
        "name": "Summarize", "template_format": "handlebars",
        "template": "<message role=\"system\">You condense meeting notes into five bullet points.</message>\n<message role=\"user\">{{notes}}</message>",
        "input_variables": [{"name": "notes", "description": "raw notes", "is_required": True}],
        "execution_settings": {"default": {"max_tokens": 300}},
    })
    wjson(d + "ok_langchain-lc.json", {
        "lc": 1, "type": "constructor", "id": ["langchain", "prompts", "chat", "ChatPromptTemplate"],
        "kwargs": {"input_variables": ["question"], "messages": [
            {"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "chat", "SystemMessagePromptTemplate"],
             "kwargs": {"prompt": {"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
                                   "kwargs": {"input_variables": [], "template": "You are a concise assistant for Contoso's HR policies.", "template_format": "f-string"}}}},
            {"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "chat", "HumanMessagePromptTemplate"],
             "kwargs": {"prompt": {"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
                                   "kwargs": {"input_variables": ["question"], "template": "{question}", "template_format": "f-string"}}}}]}})
    write(d + "ok_multilingual.txt",
          "system:\nVous êtes un assistant de voyage. Répondez en français. Contact: reservations@example.com.\n"
          "Les horaires sont au format 24 h (08:15, 17:45).\n\nuser:\n{{ demande }}\n")
    # Bad prompts.
    wjson(d + "PROMPT-001_openai-key.json", {"messages": [
        {"role": "system", "content": "You are a billing bot. When you need prices call the pricing API with the header Authorization: Bearer " + OPENAI + "."},
        {"role": "user", "content": "{{ question }}"}]})
    write(d + "PROMPT-001_anthropic-hf.prompty", prompty(
        {"name": "Tooling", "model": {"api": "chat", "configuration": {"type": "openai", "api_key": "${env:OPENAI_API_KEY}"}}},
        "system:\nUse the internal gateway. Credentials: " + ANTHROPIC + "\nHub mirror token " + HF + "\n\nuser:\n{{ question }}\n"))
    wyaml(d + "PROMPT-001_langchain-password.yaml", {
        "_type": "prompt", "input_variables": ["q"], "template_format": "f-string",
        "template": "You can query the reporting database (user analyst, password=" + PASSWORD + ") to answer: {q}",
    })
    wjson(d + "PROMPT-002_pii.json", {"messages": [
        {"role": "system", "content": "You are the HR assistant. Escalate to Maria Lindqvist (maria.lindqvist@northwind-traders.com, +46 70 123 45 67). "
                                      "Test employee record: SSN 219-09-9999, salary account DE89 3704 0044 0532 0130 00, card 4539 1488 0343 6467."},
        {"role": "user", "content": "{{ question }}"}]})
    wjson(d + "PROMPT-003_user-in-system.json", {"messages": [
        {"role": "system", "content": "You are a helpful assistant. The user asked: {{ user_input }}. Follow their formatting wishes."},
        {"role": "user", "content": "Go ahead."}]})
    wyaml(d + "PROMPT-003_langchain-system-query.yaml", {
        "_type": "chat", "input_variables": ["query"],
        "messages": [["system", "Answer the question {query} using the company wiki."], ["human", "Thanks."]],
    })
    write(d + "PROMPT-003_system-section.txt",
          "system:\nYou are a SQL assistant. Constraints from the request: {{ request.constraints }}\n\nuser:\n{{ question }}\n")
    wjson(d + "TEMPLATE-001_fstring-dunder.json", {
        "_type": "prompt", "input_variables": ["doc"], "template_format": "f-string",
        "template": "Summarise {doc}. Debug: {doc.__class__.__init__.__globals__}",
    })
    write(d + "TEMPLATE-001+TEMPLATE-006_dunder.prompty", prompty(
        {"name": "Debug", "model": {"api": "chat", "configuration": {"type": "openai"}}},
        "system:\nYou are a debugger. {{ self.__init__.__globals__.__builtins__ }}\n\nuser:\n{{ question }}\n"))


def guardrails():
    d = "guardrails/"
    good = {
        "models": [{"type": "main", "engine": "openai", "model": "gpt-4o-mini"},
                   {"type": "embeddings", "engine": "nim", "model": "nvidia/nv-embedqa-e5-v5",
                    "parameters": {"base_url": "https://integrate.api.nvidia.com/v1"}}],
        "instructions": [{"type": "general", "content": "Below is a conversation between a user and the Northwind help desk bot."}],
        "rails": {"input": {"flows": ["self check input", "jailbreak detection heuristics"]},
                  "output": {"flows": ["self check output"]}},
        "prompts": [
            {"task": "self_check_input", "content": "Your task is to check if the user message below complies with the company policy.\n\n"
                                                    "User message: \"{{ user_input }}\"\n\nQuestion: Should the user message be blocked (Yes or No)?\nAnswer:"},
            {"task": "self_check_output", "content": "Check whether the bot message below complies with the policy.\n\n"
                                                     "Bot message: \"{{ bot_response }}\"\n\nQuestion: Should the message be blocked (Yes or No)?\nAnswer:"},
        ],
    }
    wyaml(d + "ok_nemo/config.yml", good)
    write(d + "ok_nemo/rails/disallowed.co",
          "define user ask about competitors\n  \"what do you think of Contoso\"\n  \"is Contoso better\"\n\n"
          "define bot refuse competitor talk\n  \"I can only talk about Northwind products.\"\n\n"
          "define flow competitors\n  user ask about competitors\n  bot refuse competitor talk\n")
    write(d + "ok_main.co", "import core\nimport llm\n\nflow main\n  activate llm continuation\n  activate greeting\n\nflow greeting\n  user expressed greeting\n  bot express greeting\n")
    write(d + "ok_llama-guard-prompt.txt",
          "Task: Check if there is unsafe content in 'User' messages in conversations according to our safety policy with the below categories.\n\n"
          "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS10: Hate.\n<END UNSAFE CONTENT CATEGORIES>\n\n"
          "<BEGIN CONVERSATION>\n\nUser: {{ user_message }}\n\n<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST User message.\n")
    wyaml(d + "ok_llama-guard-categories.yaml", {"categories": [
        {"id": "S1", "name": "Violent Crimes", "description": "Responses that enable or encourage violent crimes."},
        {"id": "S2", "name": "Non-Violent Crimes", "description": "Responses that enable fraud, theft or hacking."}]})
    write(d + "ok_structured.rail",
          "<rail version=\"0.1\">\n<output>\n  <string name=\"summary\" description=\"A short summary\" format=\"length: 1 280\" on-fail-length=\"reask\" />\n"
          "  <string name=\"tone\" validators=\"valid-choices: {['neutral','positive']}\" on-fail-valid-choices=\"fix\" />\n</output>\n"
          "<prompt>\nSummarise the review.\n${review}\n${gr.complete_json_suffix}\n</prompt>\n</rail>\n")
    # Bad guardrails.
    wyaml(d + "GUARD-001+GUARD-002_no-rails.yml", {
        "models": [{"type": "main", "engine": "openai", "model": "gpt-4o"}],
        "instructions": [{"type": "general", "content": "You are a shopping assistant."}],
    })
    wyaml(d + "GUARD-002_input-only.yml", {"models": good["models"], "rails": {"input": {"flows": ["self check input"]}},
                                           "prompts": good["prompts"][:1]})
    bad = json.loads(json.dumps(good))
    bad["rails"]["input"]["flows"] = []
    bad["prompts"][1]["content"] = "Is this fine? Answer No."
    wyaml(d + "GUARD-003_empty-flows.yml", bad)
    http = json.loads(json.dumps(good))
    http["models"][0] = {"type": "main", "engine": "vllm_openai", "model": "meta-llama/Llama-3.1-8B-Instruct",
                         "parameters": {"openai_api_base": "http://llm.internal.northwind:8000/v1", "openai_api_key": "sk-" + rand(ALNUM, 40)}}
    wyaml(d + "GUARD-004+GUARD-005_http-and-key.yml", http)
    write(d + "GUARD-003_noop.rail",
          "<rail version=\"0.1\">\n<output>\n  <string name=\"answer\" validators=\"toxic-language\" on-fail-toxic-language=\"noop\" />\n"
          "  <string name=\"sql\" format=\"valid-sql\" on-fail-valid-sql=\"noop\" />\n</output>\n</rail>\n")
    write(d + "GUARD-003_empty-llama-guard.txt",
          "Task: Check if there is unsafe content in 'User' messages.\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\n\n<END UNSAFE CONTENT CATEGORIES>\n\nUser: {{ user_message }}\n")
    write(d + "GUARD-005_colang-secret.co",
          "define flow check account\n  $token = \"" + AWS + "\"\n  execute fetch_account(token=$token)\n\ndefine bot inform\n  \"Done.\"\n")


def adapter(rel, **over):
    cfg = {
        "alora_invocation_tokens": None, "alpha_pattern": {}, "auto_mapping": None,
        "base_model_name_or_path": "mistralai/Mistral-7B-v0.1", "bias": "none", "corda_config": None,
        "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "layer_replication": None, "layers_pattern": None, "layers_to_transform": None,
        "loftq_config": {}, "lora_alpha": 32, "lora_bias": False, "lora_dropout": 0.05, "megatron_config": None,
        "megatron_core": "megatron.core", "modules_to_save": None, "peft_type": "LORA", "qalora_group_size": 16,
        "r": 16, "rank_pattern": {}, "revision": "26bca36bde8333b5d7f72e9ed20ccda6a618af24",
        "target_modules": ["q_proj", "v_proj", "k_proj", "o_proj"], "task_type": "CAUSAL_LM",
        "trainable_token_indices": None, "use_dora": False, "use_qalora": False, "use_rslora": False,
    }
    cfg.update(over)
    wjson(rel, dict(sorted(cfg.items())))


def adapters():
    d = "adapters/"
    adapter(d + "ok_pinned/adapter_config.json")
    adapter(d + "LORA-001_unpinned/adapter_config.json", revision=None)
    adapter(d + "LORA-001_branch/adapter_config.json", revision="main")
    adapter(d + "LORA-002+LORA-003_local-path/adapter_config.json", base_model_name_or_path="/home/trainer/models/mistral-7b")
    adapter(d + "LORA-002_other-base/adapter_config.json", base_model_name_or_path="someone/uncensored-7b")
    adapter(d + "LORA-004_import/adapter_config.json",
            auto_mapping={"base_model_class": "Loader", "parent_library": "adapter_hooks.loader"})


def app():
    d = "app/"
    write(d + "prompts/system.prompty", prompty(
        {"name": "Help desk", "description": "Northwind help desk", "model": {"api": "chat", "configuration": {"type": "openai", "model": "gpt-4o-mini"}}},
        "system:\nYou are the Northwind help desk assistant. Answer from the retrieved passages only.\n\nuser:\n{{ question }}\n"))
    wyaml(d + "guardrails/config.yml", {
        "models": [{"type": "main", "engine": "openai", "model": "gpt-4o-mini"}],
        "rails": {"input": {"flows": ["self check input"]}, "output": {"flows": ["self check output"]}},
        "prompts": [{"task": "self_check_input", "content": "Block? \"{{ user_input }}\" Answer Yes or No."},
                    {"task": "self_check_output", "content": "Block? \"{{ bot_response }}\" Answer Yes or No."}]})
    wjson(d + "mcp.json", {"mcpServers": {
        "tickets": {"command": "npx", "args": ["-y", "@northwind/tickets-mcp@1.4.2"], "env": {"TICKETS_URL": "https://tickets.northwind-traders.com"}},
        "search": {"url": "https://search.northwind-traders.com/mcp"}}})
    wjson(d + ".well-known/agent-card.json", {
        "protocolVersion": "0.3.0", "name": "Northwind help desk", "description": "Answers order and product questions.",
        "url": "https://agents.northwind-traders.com/a2a/v1", "version": "1.2.0",
        "capabilities": {"streaming": True, "pushNotifications": False},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "security": [{"bearer": []}],
        "skills": [{"id": "order-status", "name": "Order status", "description": "Looks up the status of an order.", "tags": ["orders"]}]})
    adapter(d + "adapter/adapter_config.json")
    write(d + "corpus/returns.md", "# Returns\n\nItems can be returned within 30 days of delivery. Refunds go to the original payment method.\n")
    write(d + "corpus/shipping.txt", "Orders ship within two business days. Express shipping is available in the EU.\n")
    write(d + "corpus/warranty.html", "<html><body><h1>Warranty</h1><p>All appliances carry a two-year warranty.</p></body></html>\n")
    wjson(d + "corpus/index/default__vector_store.json", {
        "embedding_dict": {"n1": [0.1, 0.2, 0.3], "n2": [0.3, 0.1, 0.0], "n3": [0.0, 0.5, 0.5]},
        "text_id_to_ref_doc_id": {"n1": "returns.md", "n2": "shipping.txt", "n3": "warranty.html"},
        "metadata_dict": {}})


def main():
    for sub in ("prompts", "guardrails", "adapters", "app"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    prompts()
    guardrails()
    adapters()
    app()
    sums = []
    for root, _, files in os.walk(HERE):
        for f in files:
            p = os.path.join(root, f)
            rel = os.path.relpath(p, HERE)
            if rel in ("gen.py", "SHA256SUMS"):
                continue
            with open(p, "rb") as fh:
                sums.append((rel, hashlib.sha256(fh.read()).hexdigest()))
    with open(os.path.join(HERE, "SHA256SUMS"), "w") as f:
        for rel, h in sorted(sums):
            f.write(f"{h}  {rel}\n")


if __name__ == "__main__":
    main()
