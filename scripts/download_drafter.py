"""download_drafter: a published drafter from the Hugging Face Hub, its weights and config
(lib/hub_download.py).

    python scripts/download_drafter.py --repo ORG/NAME --out DIR
"""

import sys

from lib import hub_download

if __name__ == "__main__":
    hub_download.main([*sys.argv[1:], "--weights-only"])
