"""download_body: a body from the Hugging Face Hub, checked loadable (config, tokenizer, weights)
before it is published (lib/hub_download.py).

    python scripts/download_body.py --repo ORG/NAME [--revision REV] --out DIR
"""

from lib import hub_download

if __name__ == "__main__":
    hub_download.main()
