# The input and parameter functions of rules/drafters.smk.


def drafters_from(source):
    return names_regex(STUDY.drafters_from(source))


def drafter_setting(key):
    return lambda wildcards: config["drafters"][wildcards.drafter][key]


def drafter_verifier_dir(wildcards):
    """The served body a drafter is made for (speculators reads its architecture and sizes)."""
    return STUDY.served_body(config["drafters"][wildcards.drafter]["verifier"])


def drafter_training_data(kind):
    """The dataset or hidden states of the body the drafter serves (its verifier)."""

    def path(wildcards):
        body = config["drafters"][wildcards.drafter]["verifier"]
        return f"{RESULTS}/drafter_data/{body}/{kind}"

    return path


def online_training():
    return TRAINING["hidden_states"]["mode"] == "online"


def drafter_hidden_states(wildcards):
    """The verifier's hidden-state files; none online (the trainer asks a server for them)."""
    return (
        [] if online_training() else drafter_training_data("hidden_states")(wildcards)
    )


def hidden_state_source(wildcards):
    """Where the trainer's hidden states come from: the file set (offline), or an extraction
    server of the verifier that train_drafter starts beside the trainer (online), with the data
    servers' settings but its own share of the GPU."""
    if not online_training():
        return f"--hidden-states {drafter_training_data('hidden_states')(wildcards)}"
    share = TRAINING["hidden_states"]["server_gpu_memory_utilization"]
    args = server_args()
    args[args.index("--gpu-memory-utilization") + 1] = str(share)
    log = f"logs/{PROFILE}/train_drafter/{wildcards.drafter}.server.log"
    return (
        f"--online {hidden_state_layer_args()} --max-model-len {config['server']['max_model_len']}"
        f" --server-args-json {shlex.quote(json.dumps(args))}"
        f" --server-env-json {shlex.quote(data_server_env_json())} --server-log {log}"
        f" {watchdog_args()}"
    )


def drafter_start_dir(wildcards):
    start = config["drafters"][wildcards.drafter].get("start_from")
    return STUDY.drafter_dir(start) if start else []


def drafter_start_args(wildcards):
    start = config["drafters"][wildcards.drafter].get("start_from")
    return f"--from-pretrained {STUDY.drafter_dir(start)}" if start else ""


def training_args():
    t = TRAINING["train"]
    args = f"--epochs {t['epochs']} --lr {t['lr']} --ttt-steps {t['ttt_steps']}"
    args += f" --total-seq-len {t['total_seq_len']} --train-data-ratio {t['train_data_ratio']}"
    args += f" --checkpoint-freq {t['checkpoint_freq']} --seed {t['seed']}"
    if t["keep_checkpoints"]:
        args += f" --keep-checkpoints {t['keep_checkpoints']}"
    if t["draft_vocab_size"]:
        args += f" --draft-vocab-size {t['draft_vocab_size']}"
    if TRAINING["hidden_states"]["layer_ids"]:
        # the trainer takes the EAGLE-3 taps without the final layer the extraction appends
        args += " --target-layer-ids " + " ".join(
            map(str, TRAINING["hidden_states"]["layer_ids"][:-1])
        )
    # shlex.quote: a value may hold any character, a quote included
    extra = shlex.quote(json.dumps(t["extra_args"]))
    return f"{args} --extra-args-json {extra}"
