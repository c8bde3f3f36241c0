"""A data client that resumes: appends one row per POST /work until `rows` rows are written."""

import sys
import urllib.request
from pathlib import Path

base_url, out, rows = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
done = len(out.read_text().splitlines()) if out.exists() else 0
for i in range(done, rows):
    urllib.request.urlopen(urllib.request.Request(f"{base_url}/work", data=b"{}"), timeout=3600)
    with out.open("a") as f:
        f.write(f"row {i}\n")
