"""The package's data flows one way: data → systems → rewards → grpo → evaluation.

A module of one of these subpackages may import from its own or an earlier one, never a later one
(lazy imports inside functions included): batched decoding, for instance, is a System-1 matter and
lives in ``systems/generation.py``, which GRPO and evaluation both use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import omni_r1_lite

ORDER = ("data", "systems", "rewards", "grpo", "evaluation")


def backward_imports(root: Path) -> list[str]:
    rank = {name: i for i, name in enumerate(ORDER)}
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if len(parts) < 2 or parts[0] not in rank:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for m in modules:
                head = m.split(".")
                if head[0] == "omni_r1_lite" and len(head) > 1 and rank.get(head[1], -1) > rank[parts[0]]:
                    found.append(f"{path.relative_to(root)}:{node.lineno} imports {m}")
    return found


def test_no_subpackage_imports_a_later_one():
    assert backward_imports(Path(omni_r1_lite.__file__).parent) == []


def test_the_check_sees_a_backward_import(tmp_path):
    (tmp_path / "systems").mkdir()
    (tmp_path / "systems" / "x.py").write_text("def f():\n    from omni_r1_lite.grpo.loss import grpo_loss\n")
    (tmp_path / "grpo").mkdir()
    (tmp_path / "grpo" / "y.py").write_text("from omni_r1_lite.systems.x import f\n")
    assert backward_imports(tmp_path) == ["systems/x.py:2 imports omni_r1_lite.grpo.loss"]
