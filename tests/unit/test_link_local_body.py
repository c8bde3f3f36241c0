"""A body on disk, linked into results/ (scripts/link_local_body.py): as it is, or, for a base
model, with the chat template the profile names; refused (nothing published) when it breaks the
body contract."""

import subprocess
import sys

from helpers.checkpoints import body_checkpoint
from helpers.workflow import ROOT


def link(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/link_local_body.py", *args], cwd=ROOT,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})


def test_an_instruct_body_is_linked_as_it_is(tmp_path):
    source = body_checkpoint(tmp_path / "instruct", template=True)
    out = tmp_path / "models" / "vanilla"
    assert link("--path", str(source), "--out", str(out)).returncode == 0
    assert out.is_symlink() and out.resolve() == source.resolve()


def test_a_base_model_gets_the_profiles_template_and_stays_unchanged(tmp_path):
    source = body_checkpoint(tmp_path / "base", template=False)
    out = tmp_path / "models" / "vanilla"
    refused = link("--path", str(source), "--out", str(out))
    assert refused.returncode != 0 and "bodies.vanilla.chat_template" in refused.stderr
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    template = tmp_path / "chatml.jinja"
    template.write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    done = link("--path", str(source), "--out", str(out), "--chat-template", str(template))
    assert done.returncode == 0, done.stderr
    assert (out / "chat_template.jinja").read_text() == template.read_text()
    assert (out / "model.safetensors").read_bytes() == b"weights"
    assert not (source / "chat_template.jinja").exists()
