#!/usr/bin/env python3
"""Rebuild photos/crops/*.png from the Debian packages listed in photos/SOURCES.csv.

Every row of SOURCES.csv names a Debian binary package, its exact version and the
path of one photograph inside it.  For each row this script

  1. opens the file with Pillow, applies the (lossless) EXIF orientation and
     converts it to 8-bit RGB (refusing images with real transparency or more
     than 8 bits per channel),
  2. downscales it with an INTEGER box reduction only: k = floor(min(w, h) / 320),
     Image.reduce(k) (k = 1 means no scaling; a photo under 320 px on a side is
     dropped).  No interpolating resize is ever used, because interpolation leaves
     the periodic resampling traces that the localizers are meant to detect,
  3. takes the centre 320x320 crop of the reduced image (offsets computed on the
     floor-sized reduced grid, so every output pixel is the mean of one full
     k x k box),
  4. writes photos/crops/<id>.png (PNG, optimize=True, no metadata: no ICC
     profile, no text chunks).

It also checks the `split` column against the split rule (see `compute_splits`)
and can rewrite it (`--assign-splits`).

Package files come from one of
  --installed          the packages are installed on this system (dpkg-query must
                       report exactly the listed version);
  --pkgroot DIR        each package is unpacked with `dpkg -x` into
                       DIR/<package>_<version>/ (':' in the version written as
                       '%3a'); add --fetch to let the script download the missing
                       ones with `apt-get download <package>=<version>` through a
                       private apt configuration (deb.debian.org, suites
                       bookworm, bullseye and trixie, main) and unpack them.

Reproducibility: the PNG bytes depend only on the source files and on the Pillow
build (its JPEG decoder and zlib); with the Pillow version pinned in
photos/README.md a rerun gives byte-identical files (`--check` compares instead of
writing).

Usage (from the repository root):
  python3 scripts/photos/extract_photos.py --pkgroot /tmp/photo-debs --fetch
  python3 scripts/photos/extract_photos.py --pkgroot /tmp/photo-debs --check
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import PIL
from PIL import Image, ImageOps, features

Image.MAX_IMAGE_PIXELS = None  # trusted inputs from Debian packages (some are 6000x4000)

REPO = Path(__file__).resolve().parents[2]
HEADER = ["id", "split", "file", "package", "version", "source_file", "license", "attribution"]
CROP = 320
ID_RE = re.compile(r"[a-z0-9_]{1,40}")

# Photographs of the same scene / shooting series must share a split.  Keyed by
# (package, basename of source_file); photos not listed form a group of their own.
SCENE_GROUPS = {
    # Scratch backgrounds: same place from two positions
    ("scratch", "the-movies.jpg"): "scratch_movies",
    ("scratch", "the-movies-inside.jpg"): "scratch_movies",
    ("scratch", "city-with-water.jpg"): "scratch_city_water",
    ("scratch", "city-with-water2.jpg"): "scratch_city_water",
    ("scratch", "brick-wall-and-stairs.jpg"): "scratch_brick_wall",
    ("scratch", "brick-wall2.jpg"): "scratch_brick_wall",
    ("scratch", "train-tracks1.jpg"): "scratch_train_tracks",
    ("scratch", "train-tracks2.jpg"): "scratch_train_tracks",
    # Tux Paint templates shot in the same place
    ("tuxpaint-data", "mossy_bark.jpg"): "tuxpaint_moss",
    ("tuxpaint-data", "mossy_log.jpg"): "tuxpaint_moss",
    ("tuxpaint-data", "ocean_splash.jpg"): "tuxpaint_ocean",
    ("tuxpaint-data", "ocean_waves.jpg"): "tuxpaint_ocean",
    ("tuxpaint-data", "redwoods_above.jpg"): "tuxpaint_canopy",
    ("tuxpaint-data", "trees_above.jpg"): "tuxpaint_canopy",
    # Lomiri: two series by the same photographers
    ("lomiri-wallpapers-16.04", "Picture_0B_by_freespace.jpg"): "lomiri_freespace",
    ("lomiri-wallpapers-16.04", "Picture_1A_by_freespace.jpg"): "lomiri_freespace",
    ("lomiri-wallpapers-16.04", "free_by_Peter_Nerlich.jpg"): "lomiri_nerlich",
    ("lomiri-wallpapers-16.04", "greentock_by_Peter_Nerlich.jpg"): "lomiri_nerlich",
    # LXQt: same evening sky / same meadow
    ("lxqt-themes", "after-the-rain.jpg"): "lxqt_evening_sky",
    ("lxqt-themes", "beam.png"): "lxqt_evening_sky",
    ("lxqt-themes", "butterfly.png"): "lxqt_meadow",
    ("lxqt-themes", "flowers.png"): "lxqt_meadow",
    # Plasma: lake at dusk shot twice
    ("plasma-workspace-wallpapers", "DarkestHour/contents/images/2560x1600.jpg"): "lake_dusk",
    ("plasma-workspace-wallpapers", "summer_1am/contents/images/2560x1600.jpg"): "lake_dusk",
    # The same building facade (The Broad) in two packages
    ("plasma-workspace-wallpapers", "Grey/contents/images/2560x1600.jpg"): "broad_facade",
    ("budgie-backgrounds", "abstract-spiral.jpg"): "broad_facade",
    # MATE: same photographer's flower close-ups, same garden
    ("mate-backgrounds", "Garden.jpg"): "mate_barbin_flowers",
    ("mate-backgrounds", "YellowFlower.jpg"): "mate_barbin_flowers",
}

TEST_FRAC = 0.15
VAL_FRAC = 0.15

APT_SUITES = ["bookworm", "bookworm-updates", "bullseye", "trixie"]


def group_key(row: dict) -> str:
    src = row["source_file"]
    for (pkg, tail), g in SCENE_GROUPS.items():
        if row["package"] == pkg and (src == tail or src.endswith("/" + tail)):
            return g
    return row["id"]


def compute_splits(rows: list[dict]) -> dict[str, str]:
    """Split by photograph (by scene group), deterministically.

    Groups are ordered by sha256(group key); walking that order, groups go to
    `test` until it holds >= ceil(15 % of all photos), then to `val` until it holds
    >= ceil(15 %), and the rest to `train` (about 70 %).
    """
    groups: dict[str, list[str]] = {}
    for r in rows:
        groups.setdefault(group_key(r), []).append(r["id"])
    order = sorted(groups, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    n = len(rows)
    need_test = math.ceil(TEST_FRAC * n)
    need_val = math.ceil(VAL_FRAC * n)
    out: dict[str, str] = {}
    n_test = n_val = 0
    for g in order:
        members = groups[g]
        if n_test < need_test:
            split = "test"
            n_test += len(members)
        elif n_val < need_val:
            split = "val"
            n_val += len(members)
        else:
            split = "train"
        for pid in members:
            out[pid] = split
    return out


def read_sources(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        if rd.fieldnames != HEADER:
            sys.exit(f"{path}: header must be {','.join(HEADER)}, got {rd.fieldnames}")
        rows = list(rd)
    seen_ids, seen_src = set(), set()
    for r in rows:
        pid = r["id"]
        if not ID_RE.fullmatch(pid):
            sys.exit(f"bad id {pid!r}: want [a-z0-9_], at most 40 chars")
        if pid in seen_ids:
            sys.exit(f"duplicate id {pid}")
        seen_ids.add(pid)
        if r["file"] != f"crops/{pid}.png":
            sys.exit(f"{pid}: file must be crops/{pid}.png, got {r['file']}")
        key = (r["package"], r["source_file"])
        if key in seen_src:
            sys.exit(f"{pid}: source listed twice: {key}")
        seen_src.add(key)
    return rows


def write_sources(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=HEADER, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def pkg_dirname(package: str, version: str) -> str:
    return f"{package}_{version.replace(':', '%3a')}"


def fetch_packages(need: set[tuple[str, str]], pkgroot: Path, mirror: str) -> None:
    missing = sorted(p for p in need if not (pkgroot / pkg_dirname(*p)).is_dir())
    if not missing:
        return
    work = Path(tempfile.mkdtemp(prefix="photo-apt-"))
    try:
        (work / "lists" / "partial").mkdir(parents=True)
        (work / "cache" / "archives" / "partial").mkdir(parents=True)
        (work / "debs").mkdir()
        (work / "sources.list").write_text(
            "".join(f"deb {mirror} {s} main\n" for s in APT_SUITES), encoding="utf-8")
        opts = [
            "-o", f"Dir::Etc::SourceList={work / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={work / 'lists'}",
            "-o", f"Dir::Cache={work / 'cache'}",
            "-o", "APT::Sandbox::User=root",
        ]
        subprocess.run(["apt-get", *opts, "update"], check=True)
        specs = [f"{p}={v}" for p, v in missing]
        subprocess.run(["apt-get", *opts, "download", *specs], check=True, cwd=work / "debs")
        for deb in sorted((work / "debs").glob("*.deb")):
            info = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version"],
                                  check=True, capture_output=True, text=True).stdout
            fields = dict(l.split(": ", 1) for l in info.strip().splitlines())
            dest = pkgroot / pkg_dirname(fields["Package"], fields["Version"])
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
            tmp.rename(dest)
            digest = hashlib.sha256(deb.read_bytes()).hexdigest()
            print(f"fetched {deb.name} sha256={digest}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def package_root(package: str, version: str, args) -> Path:
    if args.installed:
        got = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             capture_output=True, text=True).stdout.strip()
        if got != version:
            sys.exit(f"{package}: installed version {got or 'none'}, SOURCES.csv wants {version}")
        return Path("/")
    root = Path(args.pkgroot) / pkg_dirname(package, version)
    if not root.is_dir():
        sys.exit(f"missing {root} (unpack {package} {version} there with dpkg -x, or pass --fetch)")
    return root


def load_rgb(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    im = ImageOps.exif_transpose(im)  # lossless 90-degree steps / flips only
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F", "RGBA;16", "RGB;16"):
        raise ValueError(f"{path}: mode {im.mode} (>8 bits per channel) not supported")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        lo, _ = im.getchannel("A").getextrema()
        if lo < 255:
            raise ValueError(f"{path}: has transparent pixels, not a plain photograph")
    return im.convert("RGB")


def make_crop(path: Path) -> Image.Image | None:
    im = load_rgb(path)
    w, h = im.size
    k = min(w, h) // CROP
    if k < 1:
        return None
    # Equivalent to im.reduce(k).crop(centre 320x320 of the floor-sized grid):
    # Image.reduce's boxes start at (0, 0), so cropping the source at multiples
    # of k first and reducing that box gives the same pixels, faster.
    rw, rh = w // k, h // k
    ox, oy = (rw - CROP) // 2, (rh - CROP) // 2
    box = (ox * k, oy * k, (ox + CROP) * k, (oy + CROP) * k)
    small = im.reduce(k, box=box) if k > 1 else im.crop(box)
    assert small.size == (CROP, CROP), small.size
    # fresh image: carries no info dict, so no ICC profile / text chunk is written
    return Image.frombytes("RGB", small.size, small.tobytes())


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", default=str(REPO / "photos" / "SOURCES.csv"))
    ap.add_argument("--out", default=None, help="crop folder (default: next to SOURCES.csv, per its file column)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--pkgroot", help="folder with one dpkg -x tree per package: <package>_<version>/")
    src.add_argument("--installed", action="store_true", help="read the files of installed packages from /")
    ap.add_argument("--fetch", action="store_true", help="with --pkgroot: apt-get download + dpkg -x missing packages")
    ap.add_argument("--mirror", default="http://deb.debian.org/debian")
    ap.add_argument("--assign-splits", action="store_true", help="rewrite the split column by the split rule")
    ap.add_argument("--check", action="store_true", help="compare with the existing PNGs instead of writing")
    ap.add_argument("--max-total-mb", type=float, default=30.0)
    args = ap.parse_args()
    if args.fetch and not args.pkgroot:
        ap.error("--fetch needs --pkgroot")

    print(f"Pillow {PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}, "
          f"zlib {features.version('zlib')})")
    sources = Path(args.sources)
    rows = read_sources(sources)
    base = Path(args.out).parent if args.out else sources.parent

    splits = compute_splits(rows)
    if args.assign_splits:
        for r in rows:
            r["split"] = splits[r["id"]]
        write_sources(sources, rows)
        print(f"wrote split column of {sources}")
    else:
        bad = [r["id"] for r in rows if r["split"] != splits[r["id"]]]
        if bad:
            sys.exit(f"split column disagrees with the split rule for {bad[:5]}... (run with --assign-splits)")

    if args.pkgroot:
        Path(args.pkgroot).mkdir(parents=True, exist_ok=True)
        if args.fetch:
            fetch_packages({(r["package"], r["version"]) for r in rows}, Path(args.pkgroot), args.mirror)

    total = 0
    dropped, mismatched = [], []
    for r in rows:
        root = package_root(r["package"], r["version"], args)
        srcfile = root / r["source_file"]
        crop = make_crop(srcfile)
        if crop is None:
            dropped.append(r["id"])
            continue
        data = png_bytes(crop)
        total += len(data)
        dest = base / r["file"]
        if args.check:
            if not dest.is_file() or dest.read_bytes() != data:
                mismatched.append(r["id"])
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.is_file() or dest.read_bytes() != data:
                dest.write_bytes(data)
    counts = {s: sum(1 for r in rows if r["split"] == s) for s in ("train", "val", "test")}
    print(f"{len(rows) - len(dropped)} crops, {total / 1e6:.2f} MB; splits {counts}")
    listed = {Path(r["file"]).name for r in rows}
    crop_dir = base / "crops"
    if crop_dir.is_dir():
        stale = sorted(p.name for p in crop_dir.glob("*.png") if p.name not in listed)
        if stale:
            print(f"warning: crops not in SOURCES.csv: {stale}")
    if dropped:
        print(f"error: under {CROP} px on a side, remove from SOURCES.csv: {dropped}")
        return 1
    if total > args.max_total_mb * 1e6:
        print(f"error: crops total {total / 1e6:.2f} MB > {args.max_total_mb} MB")
        return 1
    if args.check:
        if mismatched:
            print(f"error: {len(mismatched)} crops differ: {mismatched[:10]}")
            return 1
        print("all crops byte-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
