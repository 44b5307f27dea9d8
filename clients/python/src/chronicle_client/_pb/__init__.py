"""Generated from proto/chronicle/v1/chronicle.proto by
scripts/generate_stubs.py (grpcio-tools, version pinned in
requirements-dev.txt). Do not edit; regenerate."""
