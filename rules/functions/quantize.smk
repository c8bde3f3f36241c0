# The input and parameter functions of rules/quantize.smk.


def quantize_recipe_json():
    """The recipe as one JSON param: any change to it reruns quantize_body and its dependants."""
    q = config["quantize"]
    keys = ("scheme", "targets", "ignore", "keep_unquantised")
    return json.dumps({k: q[k] for k in keys}, sort_keys=True)
