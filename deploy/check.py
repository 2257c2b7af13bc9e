"""Render the kustomize base and overlays and validate every manifest against the Kubernetes schemas.

Runs in the tools virtualenv `.tools/k8s` (made by `make venv`): kustomize itself is the Go library
shipped in the PyPI package `pykustomize`, the schemas come from `kubernetes-validate`.

    .tools/k8s/bin/python deploy/check.py [--kubernetes-version 1.37.0]

Prints {"kubernetes_version": ..., "builds": {"base": [resources], "overlays/dev": [...], ...}} as JSON
on success; exits 1 naming every invalid resource otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import sys

import kubernetes_validate
import pykustomize

DEPLOY = pathlib.Path(__file__).resolve().parent


def builds() -> list[str]:
    return ["base"] + sorted(f"overlays/{p.name}" for p in (DEPLOY / "overlays").iterdir()
                             if (p / "kustomization.yaml").exists())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", default=kubernetes_validate.latest_version())
    args = parser.parse_args()
    out, errors = {}, []
    for name in builds():
        try:
            result = asyncio.run(pykustomize.build_json(str(DEPLOY / name)))
        except pykustomize.KustomizeError as exc:
            errors.append(f"{name}: kustomize build failed: {exc}")
            continue
        for res in result.resources:
            where = f"{name}: {res.get('kind')}/{res.get('metadata', {}).get('name')}"
            try:
                kubernetes_validate.validate(res, args.kubernetes_version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{where}: {exc.message} at {'/'.join(map(str, exc.path))}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
                errors.append(f"{where}: {exc}")
        out[name] = result.resources
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    json.dump({"kubernetes_version": args.kubernetes_version, "builds": out}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
