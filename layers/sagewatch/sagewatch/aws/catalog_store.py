"""The stack's price catalog in its bucket: catalog/<region>.json."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.catalog import Catalog, CatalogError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def catalog_key(region: str) -> str:
    return f"catalog/{region}.json"


class CatalogStore:
    def __init__(self, client: S3Client, bucket: str):
        self.client = client
        self.bucket = bucket

    def put(self, catalog: Catalog) -> str:
        key = catalog_key(catalog.region)
        body = json.dumps(catalog.to_document(), indent=1).encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return key

    def get(self, region: str) -> tuple[Catalog | None, str | None]:
        """The stored catalog of `region`, or None and why not (absent, unreadable, malformed)."""
        key = catalog_key(region)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return Catalog.from_document(json.loads(body)), None
        except (ClientError, BotoCoreError) as exc:
            return None, f"s3://{self.bucket}/{key} could not be read ({exc})"[:500]
        except (ValueError, KeyError, TypeError, CatalogError) as exc:  # JSONDecodeError is a ValueError
            return None, f"s3://{self.bucket}/{key} is not a catalog ({exc})"[:500]
