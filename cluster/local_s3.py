"""An S3-compatible server on 127.0.0.1, for trying a sweep in object storage without a cloud
account: moto's server mode (``pip install 'moto[server]'``; resweep's ``dev`` extra has it). The
tests and ``bench/scale.py`` run their object-store sweeps against it::

    server, endpoint = start_s3_server()
    os.environ.update(S3_CREDENTIALS)
    storage = s3_bucket(endpoint, "sweeps")   # s3://sweeps/?endpoint_override=127.0.0.1:PORT&...
    ...
    server.terminate()
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import IO

__all__ = ["S3_CREDENTIALS", "s3_bucket", "start_s3_server"]

# moto accepts any credentials; with these in the environment no SDK goes looking for real ones.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "resweep-local",
    "AWS_SECRET_ACCESS_KEY": "resweep-local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def start_s3_server(
    output: IO[bytes] | None = None, timeout: float = 60
) -> tuple[subprocess.Popen[bytes], str]:
    """Start moto's S3 server on a free port of 127.0.0.1 and wait until it takes connections:
    its process and its endpoint (``127.0.0.1:PORT``). ``output``: where its log goes (default:
    nowhere). The caller stops the process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                server.wait()
                raise RuntimeError(
                    f"moto's S3 server did not start on 127.0.0.1:{port} (is moto[server] installed?)"
                ) from None
            time.sleep(0.2)


def s3_bucket(endpoint: str, bucket: str, prefix: str = "") -> str:
    """Create ``bucket`` on the server at ``endpoint`` (with :data:`S3_CREDENTIALS`); the sweep
    storage URI of ``prefix`` in it, addressed to that server."""
    import pyarrow.fs

    region = S3_CREDENTIALS["AWS_DEFAULT_REGION"]
    pyarrow.fs.S3FileSystem(
        endpoint_override=endpoint,
        scheme="http",
        region=region,
        access_key=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        allow_bucket_creation=True,
    ).create_dir(bucket)
    return f"s3://{bucket}/{prefix}?endpoint_override={endpoint}&scheme=http&region={region}"
