"""Installed by scripts/setup_env.sh into the shared environment as ``_omni_r1_lite_checkout.py``,
imported at start-up by ``_omni_r1_lite_checkout.pth``.

The environment is shared by every clone with the same lock file, so an editable install can point
at one clone only: a second clone's setup would make the first clone's ``.venv/bin/python`` and its
notebook kernels import the second clone's package. This puts the kit checkout the interpreter is
used from first on ``sys.path``: the one holding the working folder (a JupyterLab kernel runs in
``<clone>/notebooks``), else the one whose ``.venv/bin/python`` was run. ``OMNI_R1_LITE_NO_CHECKOUT=1``
turns it off.
"""

import os
import sys


def _is_checkout(folder):
    return (os.path.isfile(os.path.join(folder, "omni_r1_lite", "__init__.py"))
            and os.path.isfile(os.path.join(folder, "scripts", "kit.sh")))


def _checkout():
    try:
        here = os.getcwd()
    except OSError:
        here = None
    while here:
        if _is_checkout(here):
            return here
        parent = os.path.dirname(here)
        here = None if parent == here else parent
    parts = os.path.abspath(sys.executable).split(os.sep)  # not resolved: <clone>/.venv/bin/python
    if len(parts) > 3 and parts[-3] == ".venv":
        folder = os.sep.join(parts[:-3])
        if _is_checkout(folder):
            return folder
    return None


if not os.environ.get("OMNI_R1_LITE_NO_CHECKOUT"):
    _found = _checkout()
    if _found and sys.path[:1] != [_found]:
        sys.path.insert(0, _found)
