"""Regenerates the committed gRPC stubs in src/chronicle_client/_pb from
the project's proto/chronicle/v1/chronicle.proto.

    python scripts/generate_stubs.py          # rewrite the stubs
    python scripts/generate_stubs.py --check  # exit 1 when they are stale

Needs grpcio-tools at the version pinned in requirements-dev.txt (the
stubs record it). The stubs are committed, not generated when the package
is built, so `pip install ./clients/python` needs neither grpcio-tools nor
the repository around the package, and a wheel or sdist built from it is
self-contained. tests/test_stubs.py runs --check, so stale stubs fail CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Dict

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
PROTO_ROOT = PACKAGE.parent.parent / "proto"
PROTO = "chronicle/v1/chronicle.proto"
OUT = PACKAGE / "src" / "chronicle_client" / "_pb"
FILES = ("chronicle_pb2.py", "chronicle_pb2.pyi", "chronicle_pb2_grpc.py")


def generate() -> Dict[str, str]:
    """The stubs as they should be: file name -> text."""
    from grpc_tools import protoc  # only needed here, never at run time

    with tempfile.TemporaryDirectory() as tmp:
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{PROTO_ROOT}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(PROTO_ROOT / PROTO),
            ]
        )
        if code != 0:
            raise SystemExit(f"protoc failed on {PROTO_ROOT / PROTO} (exit {code})")
        gen = Path(tmp) / "chronicle" / "v1"
        out = {name: (gen / name).read_text() for name in FILES}
    # The stubs live in chronicle_client._pb, not in a top-level `chronicle`
    # package, so the service module imports its messages relatively.
    grpc_module = out["chronicle_pb2_grpc.py"]
    absolute = "from chronicle.v1 import chronicle_pb2 as"
    if absolute not in grpc_module:
        raise SystemExit("unexpected grpc_python_out import line; update generate_stubs.py")
    out["chronicle_pb2_grpc.py"] = grpc_module.replace(absolute, "from . import chronicle_pb2 as")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when stale")
    args = parser.parse_args()
    wanted = generate()
    stale = [name for name, text in wanted.items() if not (OUT / name).exists() or (OUT / name).read_text() != text]
    if args.check:
        if stale:
            print(
                f"stale stubs in {OUT}: {', '.join(stale)} differ from {PROTO}; "
                "run `python clients/python/scripts/generate_stubs.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    for name in stale:
        (OUT / name).write_text(wanted[name])
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
