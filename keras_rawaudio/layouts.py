"""Dataset layouts → a list of clips to convert, with their labels and split (no TensorFlow).

Each `list_*` function returns a `Listing`: the class vocabulary in index order, the items,
and the entries skipped while listing (unknown label, missing file, duplicate id) with reasons.
"""

import csv
import dataclasses
import os
import pathlib
import random
from collections import defaultdict

from keras_rawaudio.audio_io import AUDIO_EXTENSIONS
from keras_rawaudio.errors import InputError

SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class Item:
    clip_id: str
    path: str
    labels: tuple[str, ...]
    split: str


@dataclasses.dataclass
class Listing:
    vocabulary: list[str]
    items: list[Item]
    skipped: list[dict]
    split_rule: str = (
        ""  # how the items were divided, when a meta file decided it ("test: fold 5; ...")
    )


class LayoutError(InputError):
    """The dataset's layout or meta files do not match the chosen `--layout`."""


def _read_csv(path) -> list[dict]:
    """The rows of a CSV file with a header (blank and # lines skipped), each with its line
    number as "_line"; a row with more or fewer cells than the header is a LayoutError."""
    try:
        with open(
            path, newline="", encoding="utf-8-sig"
        ) as file:  # a spreadsheet's export may start with a BOM
            numbered = [
                (n, line)
                for n, line in enumerate(file, 1)
                if line.strip() and not line.startswith("#")
            ]
    except (OSError, UnicodeDecodeError) as error:
        raise LayoutError(
            f"cannot read {path}: {getattr(error, 'strerror', None) or 'not UTF-8 text'}"
        ) from None
    reader = csv.reader([line for _, line in numbered], skipinitialspace=True)
    header = [name.strip() for name in next(reader, [])]
    rows = []
    for cells in reader:
        line = numbered[reader.line_num - 1][0]
        if len(cells) != len(header):
            raise LayoutError(
                f"{path} line {line}: {len(cells)} cells, the header has {len(header)} "
                f"({','.join(header)})"
            )
        rows.append({**dict(zip(header, cells)), "_line": line})
    return rows


def _fold(row, meta) -> int:
    """The row's fold number ("3", or "3.0" as a spreadsheet may write it)."""
    try:
        fold = float(row["fold"])
    except ValueError:
        fold = None
    if fold is None or not fold.is_integer():
        raise LayoutError(
            f"--meta {meta} line {row['_line']}: fold {row['fold']!r} is not a fold number"
        )
    return int(fold)


def _hidden(path: pathlib.Path, root: pathlib.Path) -> bool:
    """Whether a part of `path` below `root` is hidden (`.git/`, `.DS_Store`, `._x.wav`)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _audio_files(directory: pathlib.Path):
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not _hidden(p, directory)
    )


def stratified_split(keys_by_class: dict, val_fraction: float, test_fraction: float, seed: int):
    """{class: [key, ...]} → {key: split}; each class is shuffled and cut test, val, train."""
    splits = {}
    for name in sorted(keys_by_class):
        keys = sorted(keys_by_class[name])
        random.Random(f"{seed}/{name}").shuffle(keys)
        n_test = round(test_fraction * len(keys))
        n_val = round(val_fraction * len(keys))
        for i, key in enumerate(keys):
            splits[key] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return splits


def _finish(vocabulary, candidates, skipped) -> Listing:
    """Drops items with labels outside the vocabulary, missing files and repeated ids (a path
    normalised first: `a/../a/x.wav` is `a/x.wav`); refuses class names that differ only in case."""
    by_case = defaultdict(list)
    for name in vocabulary:
        by_case[name.casefold()].append(name)
    clashing = [names for names in by_case.values() if len(names) > 1]
    if clashing:
        raise LayoutError(
            "class names differ only in case: "
            + "; ".join(" and ".join(repr(n) for n in names) for names in clashing)
            + " (rename one, or merge them)"
        )
    known, seen, items = set(vocabulary), set(), []
    for item in candidates:
        item = dataclasses.replace(
            item, clip_id=os.path.normpath(item.clip_id), path=os.path.normpath(item.path)
        )
        unknown = [label for label in item.labels if label not in known]
        reason = (
            f"label not in the vocabulary: {', '.join(unknown)}"
            if unknown
            else "no label"
            if not item.labels
            else f"duplicate clip id {item.clip_id!r}"
            if item.clip_id in seen
            else "missing file"
            if not pathlib.Path(item.path).is_file()
            else None
        )
        if reason:
            skipped.append({"file": item.path, "reason": reason})
        else:
            seen.add(item.clip_id)
            items.append(item)
    return Listing(list(vocabulary), items, skipped)


def list_folders(
    input_dir, val_fraction=0.1, test_fraction=0.1, seed=0, vocabulary=None, flag="--input_dir"
):
    """`input_dir/<class>/**/<audio>`; a stratified split by fractions. Errors name the folder as
    `flag`, the caller's command's flag."""
    root = pathlib.Path(input_dir)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    classes = [name for name in folders if not name.startswith(".")]
    if not classes:
        raise LayoutError(f"{flag} {input_dir} has no class folders")
    files = {name: _audio_files(root / name) for name in classes}
    skipped = [
        {"file": str(root / name), "reason": "hidden folder: not a class"}
        for name in folders
        if name.startswith(".")
    ]
    skipped += [
        {"file": str(p), "reason": "symlink not followed (to a folder, a loop or nothing)"}
        for name in classes
        for p in sorted((root / name).rglob("*"))
        if p.is_symlink() and not p.is_file()
    ]
    skipped += [
        {
            "file": str(root / name),
            "reason": "class folder without audio files: the class is left out",
        }
        for name in classes
        if not files[name]
    ]
    classes = [name for name in classes if files[name]]
    files = {name: files[name] for name in classes}
    keys = {name: [str(p.relative_to(root)) for p in paths] for name, paths in files.items()}
    splits = stratified_split(keys, val_fraction, test_fraction, seed)
    candidates = [
        Item(
            str(p.relative_to(root).with_suffix("")),
            str(p),
            (name,),
            splits[str(p.relative_to(root))],
        )
        for name, paths in files.items()
        for p in paths
    ]
    return _finish(vocabulary or classes, candidates, skipped)


def _folds(text, flag):
    try:
        return {int(f) for f in str(text).split(",") if f.strip()}
    except ValueError:
        raise LayoutError(f"{flag} must be comma-separated fold numbers, got {text!r}") from None


def list_esc50(
    input_dir,
    meta,
    val_folds="4",
    test_folds="5",
    vocabulary=None,
    fold_flags=("--val_folds", "--test_folds"),
):
    """ESC-50 / UrbanSound8K / `filename,label,fold` meta CSVs; split by folds. Errors name
    the folds as `fold_flags` (the flags of validation and test folds of the caller's command)."""
    rows = _read_csv(meta)
    if not rows:
        raise LayoutError(f"--meta {meta} has no rows")
    columns = set(rows[0])
    root = pathlib.Path(input_dir)
    if {"slice_file_name", "fold", "classID", "class"} <= columns:  # UrbanSound8K
        entries = [
            (
                root / f"fold{_fold(r, meta)}" / r["slice_file_name"],
                r["class"],
                _fold(r, meta),
                r["classID"],
                r["_line"],
            )
            for r in rows
        ]
    elif {"filename", "fold", "target", "category"} <= columns:  # ESC-50
        entries = [
            (root / r["filename"], r["category"], _fold(r, meta), r["target"], r["_line"])
            for r in rows
        ]
    elif {"filename", "fold", "label"} <= columns:
        entries = [
            (root / r["filename"], r["label"], _fold(r, meta), None, r["_line"]) for r in rows
        ]
    else:
        raise LayoutError(
            f"--meta {meta}: columns {sorted(columns)} are neither ESC-50 (filename,fold,target,"
            "category), UrbanSound8K (slice_file_name,fold,classID,class) nor filename,fold,label"
        )
    for path, label, _, _, line in entries:
        if not label or path == root:
            raise LayoutError(
                f"--meta {meta} line {line}: {'no label' if not label else 'no file name'}"
            )
    val_flag, test_flag = fold_flags
    val, test = _folds(val_folds, val_flag), _folds(test_folds, test_flag)
    if val & test:
        raise LayoutError(f"{val_flag} and {test_flag} share folds {sorted(val & test)}")
    folds = sorted({fold for _, _, fold, _, _ in entries})
    for flag, chosen in ((val_flag, val), (test_flag, test)):
        if chosen - set(folds):
            raise LayoutError(
                f"{flag}: no row of --meta {meta} has fold "
                f"{', '.join(map(str, sorted(chosen - set(folds))))}"
                f" (its folds: {', '.join(map(str, folds))})"
            )
    if vocabulary is None:
        indexed = {label: index for _, label, _, index, _ in entries}
        if all(index is not None for index in indexed.values()):
            vocabulary = sorted(indexed, key=lambda label: int(indexed[label]))
        else:
            vocabulary = sorted(indexed)
    candidates = []
    for path, label, fold, _, _ in entries:
        split = "test" if fold in test else "val" if fold in val else "train"
        clip_id = str(path.relative_to(root).with_suffix(""))
        candidates.append(Item(clip_id, str(path), (label,), split))
    listing = _finish(vocabulary, candidates, [])
    train = [fold for fold in folds if fold not in val | test]
    listing.split_rule = "; ".join(
        f"{split}: {_fold_list(chosen)}"
        for split, chosen in (("test", sorted(test)), ("val", sorted(val)), ("train", train))
    )
    return listing


def _fold_list(folds) -> str:
    if not folds:
        return "no fold"
    return f"fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))}"


def _youtube_id_index(directory) -> dict[str, str]:
    """Maps YTID → file for clips named YTID.ext, YTID_<start>_<end>.ext or Y<YTID>.ext."""
    index = {}
    for path in _audio_files(pathlib.Path(directory)):
        stem = path.stem
        for ytid, rest in (
            (stem[:11], stem[11:]),
            (stem[1:12], stem[12:] if stem[:1] == "Y" else "x"),
        ):
            if len(ytid) == 11 and (rest == "" or rest.startswith("_")):
                index.setdefault(ytid, str(path))
    return index


def list_audioset(input_dir, split_csvs: dict, class_labels):
    """AudioSet segment CSVs per split, `class_labels_indices.csv`, clips named by YTID."""
    classes = _read_csv(class_labels)
    if not classes or not {"index", "mid", "display_name"} <= set(classes[0]):
        raise LayoutError(f"--class_labels {class_labels} needs columns index,mid,display_name")
    for row in classes:
        if not row["index"].strip().isdigit():
            raise LayoutError(
                f"--class_labels {class_labels} line {row['_line']}: index {row['index']!r} is not "
                f"a number"
            )
    classes.sort(key=lambda r: int(r["index"]))
    names = {row["mid"]: row["display_name"] for row in classes}
    files = _youtube_id_index(input_dir)
    candidates, skipped = [], []
    for split, path in split_csvs.items():
        try:
            with open(path, newline="", encoding="utf-8") as file:
                lines = [line for line in file if line.strip() and not line.startswith("#")]
        except (OSError, UnicodeDecodeError) as error:
            raise LayoutError(
                f"--{split}_csv {path} cannot be read: "
                f"{getattr(error, 'strerror', None) or 'not UTF-8 text'}"
            ) from None
        for row in csv.reader(lines, skipinitialspace=True):
            if len(row) < 4:
                skipped.append({"file": path, "reason": f"malformed row {','.join(row)[:80]!r}"})
                continue
            ytid, mids = row[0].strip(), row[3].split(",")
            unknown = [m for m in mids if m not in names]
            if ytid not in files:
                skipped.append({"file": ytid, "reason": "missing file"})
            elif unknown:
                skipped.append(
                    {
                        "file": files[ytid],
                        "reason": f"label not in the vocabulary: {', '.join(unknown)}",
                    }
                )
            else:
                candidates.append(Item(ytid, files[ytid], tuple(names[m] for m in mids), split))
    return _finish([row["display_name"] for row in classes], candidates, skipped)


def list_csv(input_dir, meta, val_fraction=0.1, test_fraction=0.1, seed=0, vocabulary=None):
    """Generic `path,labels[,split]` CSV; labels separated by ';'; paths relative to input_dir."""
    rows = _read_csv(meta)
    if not rows or not {"path", "labels"} <= set(rows[0]):
        raise LayoutError(f"--meta {meta} needs a header with columns path,labels[,split]")
    root = pathlib.Path(input_dir)
    entries = [
        (
            r["path"],
            tuple(label.strip() for label in r["labels"].split(";") if label.strip()),
            r.get("split"),
        )
        for r in rows
    ]
    bad_splits = {s for _, _, s in entries if s and s not in SPLITS}
    if bad_splits:
        raise LayoutError(
            f"--meta {meta}: split values must be train, val or test, got {sorted(bad_splits)}"
        )
    if any(not s for _, _, s in entries):
        by_class = defaultdict(list)
        for path, labels, _ in entries:
            by_class[labels[0] if labels else ""].append(path)
        drawn = stratified_split(by_class, val_fraction, test_fraction, seed)
    vocabulary = vocabulary or sorted({label for _, labels, _ in entries for label in labels})
    candidates = [
        Item(str(pathlib.PurePath(p).with_suffix("")), str(root / p), labels, s or drawn[p])
        for p, labels, s in entries
    ]
    return _finish(vocabulary, candidates, [])
