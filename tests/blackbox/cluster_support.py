"""Several Coffer nodes over one PostgreSQL schema and one S3 key prefix, as DESIGN.md's scale-out
runs them: the pg_server fixture's PostgreSQL (COFFER_TEST_PG_URL) and the s3_rgw fixture's Ceph RGW
(COFFER_TEST_S3_ENDPOINT, COFFER_TEST_S3_BUCKET, AWS_* credentials), both started by ctest.

Every node has its own port and data directory, and the same COFFER_JWT_SECRET, so a token issued
by one is good on all. boto3 looks at the bucket behind Coffer's back."""
import os
import uuid

from coffer_database import PgSchema
from coffer_server import CofferServer
from files_support import run_parallel

SECRET = "coffer-blackbox-cluster-secret-0123456789abcdef"


def s3_fixture():
    """(endpoint, bucket) of the s3_rgw fixture's RGW."""
    endpoint = os.environ.get("COFFER_TEST_S3_ENDPOINT", "")
    bucket = os.environ.get("COFFER_TEST_S3_BUCKET", "")
    if not endpoint or not bucket:
        raise RuntimeError("COFFER_TEST_S3_ENDPOINT/COFFER_TEST_S3_BUCKET are not set: run this test "
                           "with ctest, whose s3_rgw fixture starts Ceph RGW and sets them")
    return endpoint, bucket


def s3_client():
    import boto3
    from botocore.config import Config
    endpoint, _ = s3_fixture()
    return boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


class Cluster:
    """`count` nodes sharing one fresh PostgreSQL schema and one fresh key prefix of the bucket."""

    def __init__(self, count=2, env=None):
        self.endpoint, self.bucket = s3_fixture()
        self.schema = PgSchema()
        self.prefix = "cluster-" + uuid.uuid4().hex[:16]
        self.env = {
            "COFFER_DATABASE_URL": self.schema.url,
            "COFFER_STORAGE_URL": f"s3://{self.bucket}/{self.prefix}",
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "COFFER_S3_PATH_STYLE": "true",
            "COFFER_JWT_SECRET": SECRET,
            "COFFER_ACCESS_LOG": "false",
            **(env or {}),
        }
        self.nodes = [CofferServer(env=self.env) for _ in range(count)]
        self.s3 = s3_client()

    def start(self):
        """Starts every node at once: their migrations race for the advisory lock."""
        run_parallel(len(self.nodes), lambda i: self.nodes[i].start())
        return self

    def close(self):
        for node in self.nodes:
            node.close()
        self.schema.drop()
        for key in self.bucket_keys():
            self.s3.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")
        for key, upload_id in self.unfinished_uploads():
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=f"{self.prefix}/{key}", UploadId=upload_id)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- the bucket, as boto3 sees it; keys relative to the cluster's prefix (as Coffer names them)
    def bucket_keys(self, under=""):
        keys = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/{under}"):
            for o in page.get("Contents", []):
                keys.add(o["Key"][len(self.prefix) + 1:])
        return keys

    def unfinished_uploads(self, under=""):
        """(key, upload id) of the multipart uploads begun and neither completed nor aborted."""
        out = []
        for page in self.s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/{under}"):
            for u in page.get("Uploads", []):
                out.append((u["Key"][len(self.prefix) + 1:], u["UploadId"]))
        return out
