"""Degenerate output, measured on every reply: how much of it repeats itself.

Part 30's headline was measured where the body's output had collapsed into repetition (its
author's endpoint correction), which a drafter predicts trivially: acceptance then says more
about the output than about the drafter. Two standard measures, from the reply's token ids:
- seq-rep-4, the share of a reply's 4-grams that repeat an earlier 4-gram of the same reply
  (1 - unique 4-grams / 4-grams; Welleck et al., "Neural Text Generation with Unlikelihood
  Training", ICLR 2020, who report 0.006 for human Wikitext continuations and 0.44 for greedy
  GPT-2);
- distinct-2, unique bigrams over bigrams (Li et al., "A Diversity-Promoting Objective Function
  for Neural Conversation Models", NAACL 2016).
Both are kept as counts per reply, so that a series' value is a ratio of sums over its replies
(like every other bench rate) and gets its interval from the same bootstrap over prompts.
"""

N = 4  # seq-rep-n's n, Welleck et al.'s


def ngrams(tokens: list[int], n: int) -> list[tuple[int, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def repetition_counts(tokens: list[int]) -> dict[str, int]:
    """Per reply: its 4-grams and how many of them repeat an earlier one; its bigrams and how
    many distinct ones."""
    fours, twos = ngrams(tokens, N), ngrams(tokens, 2)
    return {"ngrams_4": len(fours), "repeated_4": len(fours) - len(set(fours)),
            "bigrams": len(twos), "distinct_bigrams": len(set(twos))}


def rates(counts: dict) -> dict[str, float]:
    """seq_rep_4 and distinct_2 of summed counts (NaN without n-grams)."""
    nan = float("nan")
    return {"seq_rep_4": counts["repeated_4"] / counts["ngrams_4"] if counts["ngrams_4"] else nan,
            "distinct_2": (counts["distinct_bigrams"] / counts["bigrams"]
                           if counts["bigrams"] else nan)}


def degenerate(cells, threshold: float):
    """Each bench row's flag: its replies' seq-rep-4 above `threshold` (False without one)."""
    if "seq_rep_4" not in cells:
        return [False] * len(cells)
    return (cells["seq_rep_4"] > threshold).fillna(False)
