# The input and parameter functions of rules/drafter_data.smk.


def instruction_writer_dir(wildcards):
    """Self-synthesised instructions are written by one body (the vanilla one)."""
    return STUDY.served_body(TRAINING["instructions"]["writer"])


def instruction_args(wildcards):
    i = TRAINING["instructions"]
    args = f"--count {i['count']} --temperature {i['temperature']}"
    args += f" --max-tokens {i['max_tokens']} --min-chars {i['min_chars']} --seed {i['seed']}"
    args += f" --concurrency {TRAINING['regenerate']['concurrency']}"
    return args + (" --keep-truncated" if i["keep_truncated"] else "")


def instructions_file(wildcards):
    """A preset (gb10: magpie) is read by regenerate-responses itself; nothing to make."""
    if TRAINING["instructions"]["source"] == "preset":
        return []
    return f"{RESULTS}/drafter_data/instructions.jsonl"


def validation_instructions_arg(wildcards):
    """Where the validation rows' instructions come from: the file, or the preset's rows."""
    i = TRAINING["instructions"]
    if i["source"] == "preset":
        return f"--preset {i['preset']}"
    return f"--instructions {instructions_file(wildcards)}"


def regenerate_dataset_args(wildcards):
    i = TRAINING["instructions"]
    if i["source"] == "preset":
        return f"--preset {i['preset']} --limit {i['count']}"
    return f"--instructions {instructions_file(wildcards)}"


def hidden_state_layer_args():
    ids = TRAINING["hidden_states"]["layer_ids"]
    return f"--layer-ids {' '.join(map(str, ids))}" if ids else ""


def hidden_states_output():
    """The hidden-state folder, temp() unless the config keeps it (they are the largest files)."""
    out = directory(f"{RESULTS}/drafter_data/{{body}}/hidden_states")
    return out if TRAINING["hidden_states"]["keep"] else temp(out)
