"""The score of the sampling temperature: how a served cell's tokens say what temperature they
were drawn at, from the body's own log-probs (the fidelity gate's sharper statistic).

A token x drawn at temperature T from raw (untempered) log-probs l has
log p_T(x) = l_x / T - log sum_j exp(l_j / T), so its score (the derivative in T) is
    s = -(l_x - E_q[l]) / T^2,   q = softmax(l / T),
and the information it carries about T is Var_q(l) / T^4. At the configured temperature the
score has mean zero whatever the position; a cell drawn hotter has a positive mean (its tokens
are less likely than the tempered distribution expects). Subtracting E_q[l] removes what makes
the mean log-prob of sampled tokens a blunt statistic: how easy each position is. Summed over a
prompt's tokens the score is a martingale, so a prompt is one unit of a standard error whatever
the dependence between its tokens.

vLLM returns, per generated token, the raw log-prob of the sampled token and of the top-k
tokens (`top_logprobs`, raw by default: its `logprobs_mode` is raw_logprobs); q is computed on
those tokens and the sampled one, renormalised. That truncation biases the score slightly, the
same way for a speculative cell and for the body alone at the same temperature, so the gate
compares the two (lib/fidelity.py) instead of testing the score against zero.

Pure Python: bench_cell.py imports it inside the serving environment.
"""

import math


def token_score(sampled_logprob: float, candidates: dict[str, float], sampled: str,
                temperature: float) -> tuple[float, float]:
    """(score, information) of one token drawn at `temperature`; candidates maps the top-k
    tokens to their raw log-probs (the sampled token is added when it is not among them)."""
    logprobs = dict(candidates)
    logprobs[sampled] = sampled_logprob
    values = [v for v in logprobs.values() if math.isfinite(v)]
    top = max(values)
    weights = [math.exp((v - top) / temperature) for v in values]
    total = sum(weights)
    mean = sum(w * v for w, v in zip(weights, values)) / total
    variance = sum(w * (v - mean) ** 2 for w, v in zip(weights, values)) / total
    t2 = temperature * temperature
    return -(sampled_logprob - mean) / t2, variance / (t2 * t2)


def reply_score(content: list[dict], temperature: float) -> tuple[float, float] | None:
    """Sums of score and information over one reply's tokens (an OpenAI-style chat `logprobs`
    content list with `top_logprobs`), or None at T = 0 or without top log-probs."""
    if temperature <= 0 or not content or not all(t.get("top_logprobs") for t in content):
        return None
    score = information = 0.0
    for t in content:
        candidates = {c["token"]: c["logprob"] for c in t["top_logprobs"]}
        s, i = token_score(t["logprob"], candidates, t["token"], temperature)
        score += s
        information += i
    return score, information
