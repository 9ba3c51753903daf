"""Build the SAM template and artifacts for one stage in one region.

    python -m infra.package --stage dev --region ap-southeast-1 [--skip-layer] [--out build]

1. the shared layer in <out>/layer/python/: requirements/runtime-lock.txt for the Lambda platform (python3.13,
   arm64), Babel's locale data pruned to the locales served, + chalicelib/
   (--skip-layer: no pip, only chalicelib -- enough to render and lint the template, offline);
2. the merge template (infra/template.py) in <out>/<stage>-<region>/merge.json;
3. `chalice package --merge-template` into <out>/<stage>-<region>/: sam.json + deployment.zip, its REST API
   rewritten as an HTTP API with the same routes (infra/http_api.py).

Deploy with `aws cloudformation package` / `sam deploy` on that sam.json: its CodeUri/ContentUri paths are
relative to the template's directory.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from chalicelib import resources
from chalicelib.journeys import texts
from infra.http_api import as_http_api
from infra.regions import region_settings
from infra.template import merge_template

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements" / "runtime-lock.txt"
CHALICELIB = ROOT / "chalicelib"
FUNCTIONS = ROOT / "functions"


def build_layer(layer_dir: Path, *, install_dependencies: bool) -> Path:
    """Fill <layer_dir>/python/ with the runtime dependencies (unless told not to) and a fresh chalicelib."""
    python_dir = layer_dir / "python"
    if install_dependencies:
        shutil.rmtree(layer_dir, ignore_errors=True)
        python_dir.mkdir(parents=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                # Every package and its hash, resolved for this very target (`make lock`): nothing else.
                "--require-hashes",
                "--no-deps",
                "-r",
                str(RUNTIME_LOCK),
                "--target",
                str(python_dir),
                *(arg for platform in resources.LAYER_PLATFORMS for arg in ("--platform", platform)),
                "--implementation",
                "cp",
                "--python-version",
                resources.LAMBDA_PYTHON,
                "--only-binary=:all:",
                "--no-compile",
            ],
            check=True,
        )
        prune_babel(python_dir, sorted(set(texts.BABEL_LOCALES.values())))
        prune_holidays(python_dir)
        prune_botocore(python_dir, resources.AWS_SERVICES)
    python_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(python_dir / "chalicelib", ignore_errors=True)
    shutil.copytree(
        CHALICELIB, python_dir / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    compile_layer(python_dir)
    return layer_dir


# The `holidays` library's per-country modules (~2.4 MB of bytecode): a care sweep imports the few it greets for,
# compiled then; everything else a cold start imports is shipped compiled.
NOT_COMPILED = r"[/\\]holidays[/\\](countries|financial)[/\\]"


def compile_layer(python_dir: Path) -> bool:
    """Ship the layer's bytecode: Lambda's /opt is read-only, so a module without its .pyc is compiled from source
    at every cold start and never cached. Hash-based and unchecked (a layer's sources never change once built;
    a zip keeps mtimes to 2 s, which would make timestamp checks fail). Only when this is Lambda's Python: another
    version's bytecode would be ignored there. Returns whether it compiled."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != resources.LAMBDA_PYTHON:
        print(
            f"layer not compiled: this is Python {sys.version.split()[0]}, Lambda runs {resources.LAMBDA_PYTHON}"
        )
        return False
    _compile_tree(python_dir, "/opt/python", re.compile(NOT_COMPILED))
    return True


def _compile_tree(tree: Path, deployed_at: str, skip: re.Pattern[str] | None = None) -> None:
    ok = compileall.compile_dir(
        str(tree),
        quiet=2,
        ddir=deployed_at,  # the path tracebacks show on Lambda
        rx=skip,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise RuntimeError(f"compiling {tree} failed")


def compile_deployment_zip(zip_path: Path) -> bool:
    """The API's deployment.zip (Chalice bundles app.py and chalicelib/, which come first on sys.path, so the
    layer's bytecode is not used for them) with the same bytecode as the layer: whatever `__pycache__` the
    checkout had is dropped (timestamp-based, maybe stale) and every module compiled as compile_layer does."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != resources.LAMBDA_PYTHON:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as bundle:
            kept = [info for info in bundle.infolist() if "__pycache__/" not in info.filename]
            for info in kept:
                bundle.extract(info, tree)
            modes = {info.filename: info.external_attr for info in kept}
        _compile_tree(tree, "/var/task")
        rebuilt = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted(p for p in tree.rglob("*") if p.is_file()):
                name = path.relative_to(tree).as_posix()
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = modes.get(name, 0o100644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, path.read_bytes())
        rebuilt.replace(zip_path)
    return True


# Run with the layer's own babel first on sys.path: every locale-data file that loading `locales` (each with
# all it inherits, as formatting does) opens.
_BABEL_FILES_USED = """
import os, sys
sys.path.insert(0, sys.argv[1])
opened = set()
sys.addaudithook(lambda event, args: event == "open" and isinstance(args[0], str) and opened.add(args[0]))
from babel import Locale, localedata
for name in sys.argv[2:]:
    localedata.load(str(Locale.parse(name)))
data = os.path.join(os.path.dirname(localedata.__file__), "locale-data")
print("\\n".join(sorted({os.path.basename(p) for p in opened if os.path.dirname(p) == data})))
"""


def prune_babel(python_dir: Path, locales: list[str]) -> list[str]:
    """Delete Babel's locale data (~30 MB, ~1,000 locales) except what `locales` load; returns what is kept.

    Chairside formats dates in `texts.BABEL_LOCALES` only; a locale outside them then fails loudly
    (babel.core.UnknownLocaleError), which a new entry in BABEL_LOCALES would meet at the next build."""
    data = python_dir / "babel" / "locale-data"
    used = subprocess.run(
        [sys.executable, "-I", "-c", _BABEL_FILES_USED, str(python_dir), *locales],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    keep = {"root.dat", *used}
    if not all((data / name).is_file() for name in keep):
        raise RuntimeError(f"babel's locale data lacks some of {sorted(keep)}")
    for path in data.glob("*.dat"):
        if path.name not in keep:
            path.unlink()
    return sorted(keep)


# chalicelib/care/holiday_dates.py reads public holidays by their English names: the `holidays` library's other
# translations (~3.5 MB of ~160 languages) are never loaded on Lambda.
HOLIDAYS_LANGUAGE = "en_US"


def prune_holidays(python_dir: Path) -> list[str]:
    """Delete the `holidays` library's translations except HOLIDAYS_LANGUAGE; returns what is kept."""
    locale = python_dir / "holidays" / "locale"
    if not (locale / HOLIDAYS_LANGUAGE).is_dir():
        raise RuntimeError(f"the holidays library has no {HOLIDAYS_LANGUAGE} translations")
    for path in locale.iterdir():
        if path.name != HOLIDAYS_LANGUAGE:
            shutil.rmtree(path)
    return sorted(path.name for path in locale.iterdir())


def prune_botocore(python_dir: Path, services: tuple[str, ...]) -> list[str]:
    """Delete botocore's service models (data/<service>/, ~20 MB for ~440 services) except `services`; returns
    the services kept. The shared files beside them (endpoints, partitions, retry and default configuration)
    stay. A client of any other service then fails loudly (botocore's UnknownServiceError), and the container
    refuses to build one before that (bootstrap.Container.client)."""
    data = python_dir / "botocore" / "data"
    missing = [name for name in services if not (data / name).is_dir()]
    if missing:
        raise RuntimeError(f"botocore has no service models for {missing}")
    for path in data.iterdir():
        if path.is_dir() and path.name not in services:
            shutil.rmtree(path)
    return sorted(path.name for path in data.iterdir() if path.is_dir())


def chalice_package(stage: str, region: str, merge_file: Path, out_dir: Path) -> None:
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    subprocess.run(
        [
            str(chalice),
            "--project-dir",
            str(ROOT),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(merge_file),
            str(out_dir),
        ],
        check=True,
        cwd=ROOT,
        env=env,
    )


def _uri(path: Path, template_dir: Path) -> str:
    """`path` as SAM reads it from a template in `template_dir`: relative when both sit in one tree (the
    repo, or the build root), so the build can move; absolute otherwise (e.g. --out in /tmp)."""
    for tree in (template_dir.parent, ROOT):
        if path.is_relative_to(tree) and template_dir.is_relative_to(tree):
            return os.path.relpath(path, template_dir)
    return str(path)


def package(stage: str, region: str, out: Path, *, skip_layer: bool = False) -> Path:
    """Build everything for one stage in one region; returns the path of sam.json."""
    region_settings(region)  # fail before building anything for a region we do not deploy to
    out = out.resolve()
    target = out / f"{stage}-{region}"
    layer_dir = build_layer(out / "layer", install_dependencies=not skip_layer)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    template = merge_template(
        stage, region, layer_uri=_uri(layer_dir, target), code_uri=_uri(FUNCTIONS, target)
    )
    merge_file = target / "merge.json"
    merge_file.write_text(json.dumps(template, indent=2) + "\n")
    chalice_package(stage, region, merge_file, target)
    sam = target / "sam.json"
    sam.write_text(json.dumps(as_http_api(json.loads(sam.read_text())), indent=2) + "\n")
    compile_deployment_zip(target / "deployment.zip")
    return target / "sam.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="build root (default: build/)")
    parser.add_argument(
        "--skip-layer", action="store_true", help="no pip install: the layer holds chalicelib only"
    )
    args = parser.parse_args(argv)
    try:
        sam = package(args.stage, args.region, args.out, skip_layer=args.skip_layer)
    except ValueError as error:
        parser.error(str(error))
    except subprocess.CalledProcessError as error:
        print(f"failed: {' '.join(map(str, error.cmd[:4]))} ... (exit {error.returncode})", file=sys.stderr)
        return error.returncode or 1
    print(f"template: {sam}")
    print(
        f"deploy:   sam deploy --template-file {sam} --stack-name chairside-{args.stage} "
        f"--region {args.region} --capabilities CAPABILITY_IAM --resolve-s3"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
