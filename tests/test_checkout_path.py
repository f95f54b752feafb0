"""The shared environment imports the checkout it is used from (scripts/checkout_path.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import omni_r1_lite, sys; print(omni_r1_lite.__file__)"


def _fake_clone(folder: Path) -> Path:
    (folder / "omni_r1_lite").mkdir(parents=True)
    (folder / "omni_r1_lite" / "__init__.py").write_text("FAKE = True\n")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "kit.sh").write_text("")
    (folder / "notebooks").mkdir()
    return folder


def _site_hook() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"]) / "_omni_r1_lite_checkout.pth"


def test_each_clone_imports_its_own_package(tmp_path):
    """A second clone's setup used to make the first clone's kernel import the second's package."""
    assert _site_hook().exists(), "scripts/setup_env.sh installs the checkout hook (bash scripts/kit.sh setup)"
    other = _fake_clone(tmp_path / "other-clone")
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    # a kernel JupyterLab starts in the other clone's notebooks/ imports that clone
    got = subprocess.run([sys.executable, "-c", PROBE], cwd=other / "notebooks", env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert got == str(other / "omni_r1_lite" / "__init__.py")
    # this clone's .venv/bin/python run from anywhere else imports this clone
    venv_python = ROOT / ".venv" / "bin" / "python"
    got = subprocess.run([str(venv_python), "-c", PROBE], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert got == str(ROOT / "omni_r1_lite" / "__init__.py")
    off = subprocess.run([sys.executable, "-c", PROBE], cwd=other / "notebooks",
                         env={**env, "OMNI_R1_LITE_NO_CHECKOUT": "1"}, capture_output=True, text=True).stdout.strip()
    assert off != str(other / "omni_r1_lite" / "__init__.py")
