"""Create the token key pairs once (docker-compose's `keygen` one-shot): DIR/{access,service}.{pem,pub}.

Existing keys are kept, so tokens stay valid across restarts. Kubernetes gets its keys from the
crm-secrets Secret and the crm-public-keys ConfigMap instead (docs/deployment.md).
"""

import pathlib
import sys

from crm_platform.auth import generate_keypair


def main(folder: str) -> None:
    keys = pathlib.Path(folder)
    for name in ("access", "service"):
        if (keys / f"{name}.pem").exists() and (keys / f"{name}.pub").exists():
            print(f"{name} key pair kept")
            continue
        generate_keypair(keys / f"{name}.pem", keys / f"{name}.pub")
        print(f"{name} key pair created")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/var/lib/crm/keys")
