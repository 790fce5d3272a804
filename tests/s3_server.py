"""A real S3 API on loopback for tests: moto's server in a thread, one bucket per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    name: str

    @property
    def url(self) -> str:
        return f"s3://{self.name}"

    def client(self) -> Any:  # boto3 ships no types
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> S3Bucket:
    bucket = S3Bucket(s3_endpoint, f"rigbook-{secrets.token_hex(6)}")
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket
