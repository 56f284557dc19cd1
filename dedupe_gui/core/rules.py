"""Mark by rules: choose, for each duplicate group, which file to keep, with ordered and
combinable rules; preview the outcome (counts, bytes freed); apply it as one undo step.

GUI-free so the dialog only binds to it. Guarantees, whatever the rules say: every group
keeps at least one file (the last copy is never removed), and files in reference folders are
always kept (a group whose files are all in reference folders keeps all of them).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dedupe_gui.core.actions import ActionRefused, Actions
from dedupe_gui.core.results import FileRecord

#: rule kind -> label template (``{arg}`` is the folder or the formats)
RULE_KINDS: dict[str, str] = {
    "highest_resolution": "Highest resolution",
    "largest_file": "Largest file",
    "oldest": "Oldest (modification time)",
    "newest": "Newest (modification time)",
    "prefer_folder": "Prefer folder {arg}",
    "avoid_folder": "Avoid folder {arg}",
    "prefer_format": "Prefer format {arg}",
}
NEEDS_ARG = {"prefer_folder", "avoid_folder", "prefer_format"}

@dataclass(frozen=True)
class Rule:
    """One criterion. ``arg``: a folder (prefer/avoid) or formats ("jpg" or "heic,jpg")."""

    kind: str
    arg: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule {self.kind!r}; known: {', '.join(RULE_KINDS)}")
        if self.kind in NEEDS_ARG and not self.arg:
            raise ValueError(f"rule {self.kind!r} needs a folder or format")

    @property
    def label(self) -> str:
        return RULE_KINDS[self.kind].format(arg=self.arg)

    def key(self, rec: FileRecord) -> float:
        """Lower is better (used in a lexicographic sort over the ordered rules)."""
        k = self.kind
        if k == "highest_resolution":
            return -float(rec.width) * float(rec.height)
        if k == "largest_file":
            return -float(rec.size)
        if k == "oldest":
            return float(rec.mtime_ns)
        if k == "newest":
            return -float(rec.mtime_ns)
        if k in ("prefer_folder", "avoid_folder"):
            inside = _under(rec.path, self.arg)
            return (0.0 if inside else 1.0) if k == "prefer_folder" else (1.0 if inside else 0.0)
        exts = {e.strip().lower().lstrip(".") for e in self.arg.split(",") if e.strip()}
        ext = os.path.splitext(rec.path)[1].lower().lstrip(".")
        if "jpg" in exts or "jpeg" in exts:
            exts |= {"jpg", "jpeg"}
        if "tif" in exts or "tiff" in exts:
            exts |= {"tif", "tiff"}
        return 0.0 if ext in exts else 1.0


#: what most users want: the best picture, then the biggest file, then the original
DEFAULT_RULES = (Rule("highest_resolution"), Rule("largest_file"), Rule("oldest"))


def _under(path: str, folder: str | os.PathLike) -> bool:
    p = os.path.normpath(os.path.abspath(path))
    f = os.path.normpath(os.path.abspath(folder))
    try:
        return os.path.commonpath([p, f]) == f
    except ValueError:
        return False


@dataclass
class GroupPlan:
    """One group's outcome. ``keep`` includes the group's reference files."""

    keep: list[FileRecord]
    remove: list[FileRecord]
    reference: list[FileRecord] = field(default_factory=list)


@dataclass
class Plan:
    """Per-file keep/remove decisions for every group, with the preview figures."""

    groups: list[GroupPlan]
    rules: tuple[Rule, ...] = ()

    @property
    def n_keep(self) -> int:
        return sum(len(g.keep) for g in self.groups)

    @property
    def n_remove(self) -> int:
        return sum(len(g.remove) for g in self.groups)

    @property
    def bytes_freed(self) -> int:
        return sum(r.size for g in self.groups for r in g.remove)

    @property
    def n_groups_changed(self) -> int:
        return sum(1 for g in self.groups if g.remove)

    def decision(self, path: str) -> str | None:
        """'keep', 'reference', 'remove' or None (not in the plan)."""
        return self.decisions().get(path)

    def decisions(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for g in self.groups:
            refs = {r.path for r in g.reference}
            for r in g.keep:
                out[r.path] = "reference" if r.path in refs else "keep"
            for r in g.remove:
                out[r.path] = "remove"
        return out

    def summary(self) -> str:
        return (f"Keep {self.n_keep} files, remove {self.n_remove} from {self.n_groups_changed} "
                f"groups, freeing {_human(self.bytes_freed)}.")


def _human(n: int) -> str:
    x = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if x < 1000 or unit == "TB":
            return f"{int(x)} bytes" if unit == "bytes" else f"{x:.1f} {unit}"
        x /= 1000
    return f"{n} bytes"  # pragma: no cover


def plan(groups: Sequence[Sequence[FileRecord]], rules: Sequence[Rule] = DEFAULT_RULES,
         reference_dirs: Iterable[str | os.PathLike] = (), prefer_reference: bool = False) -> Plan:
    """Keep the best file of each group by the ordered ``rules`` (ties: the shorter, then
    alphabetically first path) and every reference file; mark the others for removal.
    Reference files are kept in any case; by default the rules still pick the best
    non-reference file too, so a better copy outside the reference folder is not lost.
    ``prefer_reference=True``: a reference copy, when the group has one, is "the best" and all
    the others are removed (dupeGuru's behaviour; offer it as an option)."""
    rules = tuple(rules)
    refs = [os.fspath(r) for r in reference_dirs]
    out: list[GroupPlan] = []
    kept_anywhere: set[str] = set()
    for group in groups:
        files = list({r.path: r for r in group}.values())  # a path counts once
        if not files:
            continue
        is_ref = {r.path: any(_under(r.path, d) for d in refs) for r in files}

        best = min(files, key=lambda r, is_ref=is_ref: (
            *((0 if is_ref[r.path] else 1,) if prefer_reference else ()),
            *(rule.key(r) for rule in rules), len(r.path), r.path))
        reference = [r for r in files if is_ref[r.path]]
        keep = [best] + [r for r in reference if r is not best]
        remove = [r for r in files if r is not best and not is_ref[r.path]]
        kept_anywhere.update(r.path for r in keep)
        out.append(GroupPlan(keep=keep, remove=remove, reference=reference))
    for g in out:  # a file kept by one group is never removed by another
        moved = [r for r in g.remove if r.path in kept_anywhere]
        if moved:
            g.remove = [r for r in g.remove if r.path not in kept_anywhere]
            g.keep += moved
    return Plan(out, rules)


@dataclass
class ApplyReport:
    """What ``apply`` did: files acted on (with the new path for moves) and refusals."""

    done: list[tuple[FileRecord, Path | None]] = field(default_factory=list)
    refused: list[tuple[FileRecord, str]] = field(default_factory=list)
    cancelled: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(r.size for r, _ in self.done)


def _root_for(path: str, roots: Sequence[Path]) -> Path | None:
    inside = [r for r in roots if _under(path, r)]
    return max(inside, key=lambda r: len(os.fspath(r))) if inside else None


def apply(plan: Plan, actions: Actions, how: str = "trash", dest: Path | None = None,
          keep_relative_to: Path | Sequence[Path] | None = None, label: str | None = None,
          progress: Callable[[int, int], None] | None = None,
          cancel: threading.Event | None = None) -> ApplyReport:
    """Carry out ``plan`` as ONE undo step: ``how`` = 'trash', 'move' (to ``dest``, under the
    path relative to the containing root of ``keep_relative_to`` if given) or 'delete'
    (permanent; Actions refuses unless enabled). Refusals (changed files, kept copy gone, ...)
    are collected, not raised. Meant for a worker thread: ``progress(done, total)`` and
    ``cancel`` let the GUI follow and stop it."""
    if how not in ("trash", "move", "delete"):
        raise ValueError(f"how must be 'trash', 'move' or 'delete', not {how!r}")
    if how == "move" and dest is None:
        raise ValueError("a move needs a destination folder")
    roots: list[Path] = []
    if keep_relative_to is not None:
        roots = [Path(keep_relative_to)] if isinstance(keep_relative_to, (str, Path)) \
            else [Path(r) for r in keep_relative_to]
    total = plan.n_remove
    report = ApplyReport()
    label = label or {"trash": "Trash", "move": "Move", "delete": "Delete"}[how] + \
        f" {total} duplicates (rules)"
    n = 0
    with actions.batch(label):
        for g in plan.groups:
            keep = g.keep[0] if g.keep else None
            for rec in g.remove:
                if cancel is not None and cancel.is_set():
                    report.cancelled = True
                    return report
                try:
                    if how == "trash":
                        actions.trash(rec, keep=keep)
                        report.done.append((rec, None))
                    elif how == "delete":
                        actions.delete_permanently(rec, keep=keep)
                        report.done.append((rec, None))
                    else:
                        new = actions.move(rec, dest, keep_relative_to=_root_for(rec.path, roots),
                                           keep=keep)
                        report.done.append((rec, new))
                except ActionRefused as exc:
                    report.refused.append((rec, str(exc)))
                n += 1
                if progress is not None:
                    progress(n, total)
    return report


__all__ = ["DEFAULT_RULES", "RULE_KINDS", "ApplyReport", "GroupPlan", "Plan", "Rule", "apply", "plan"]
