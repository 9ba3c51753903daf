"""Build the SAM template and artifacts for one stage in one region.

    python -m infra.package --stage dev --region ap-southeast-1 [--skip-layer] [--out build]

1. the shared layer in <out>/layer/python/: requirements/runtime.txt for the Lambda platform + chalicelib/
   (--skip-layer: no pip, only chalicelib -- enough to render and lint the template, offline);
2. the merge template (infra/template.py) in <out>/<stage>-<region>/merge.json;
3. `chalice package --merge-template` into <out>/<stage>-<region>/: sam.json + deployment.zip.

Deploy with `aws cloudformation package` / `sam deploy` on that sam.json: its CodeUri/ContentUri paths are
relative to the template's directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from chalicelib import resources
from infra.regions import region_settings
from infra.template import merge_template

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
LOCK = ROOT / "requirements" / "lock.txt"
CHALICELIB = ROOT / "chalicelib"
FUNCTIONS = ROOT / "functions"


def build_layer(layer_dir: Path, *, install_dependencies: bool) -> Path:
    """Fill <layer_dir>/python/ with the runtime dependencies (unless told not to) and a fresh chalicelib."""
    python_dir = layer_dir / "python"
    if install_dependencies:
        shutil.rmtree(layer_dir, ignore_errors=True)
        python_dir.mkdir(parents=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        wheels, sources = _split_source_only(layer_dir)
        subprocess.run(
            [
                *pip,
                "-r",
                str(wheels),
                "-c",  # the same versions the venv (and so the tests) run with
                str(LOCK),
                "--target",
                str(python_dir),
                "--platform",
                resources.LAYER_PLATFORM,
                "--implementation",
                "cp",
                "--python-version",
                "3.11",
                "--only-binary=:all:",
                "--no-compile",
            ],
            check=True,
        )
        if sources:  # pure-Python packages published only as sources: built here, the same on any platform
            subprocess.run([*pip, "--no-deps", "--target", str(python_dir), "--no-compile", "-c", str(LOCK),
                            *sources], check=True)
    python_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(python_dir / "chalicelib", ignore_errors=True)
    shutil.copytree(
        CHALICELIB, python_dir / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return layer_dir


# Pure-Python runtime dependencies with no wheel on PyPI (pip cannot cross-install an sdist for another
# platform, so they are built apart; their own dependencies, if any, must be listed in runtime.txt).
SOURCE_ONLY = ("jieba",)


def _split_source_only(layer_dir: Path) -> tuple[Path, list[str]]:
    """runtime.txt without the SOURCE_ONLY lines (written next to, not into, the layer), and those lines."""
    wheels, sources = [], []
    for line in RUNTIME_REQUIREMENTS.read_text().splitlines():
        name = line.split("#", 1)[0].strip().split("==", 1)[0].split("[", 1)[0].strip().lower()
        (sources if name in SOURCE_ONLY else wheels).append(line)
    path = layer_dir.parent / "layer-requirements-wheels.txt"
    path.write_text("\n".join(wheels) + "\n")
    return path, [s.split("#", 1)[0].strip() for s in sources]


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
