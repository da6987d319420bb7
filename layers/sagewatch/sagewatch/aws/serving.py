"""What the keep-serving checks read (sagewatch.serving judges it): Service Quotas' endpoint instance quotas, each
endpoint's dependencies (config, models, artifacts, images, roles, inference components), and the endpoint's log
for the causes of model errors.

Quotas and dependencies change rarely and cost calls: each is read once a day and kept (the state table for the
scan function, a file for the CLI). A read that is denied is said (a warning, or a dependency "not checked"),
never a finding. The log is read only for endpoints with an `errors` finding, at most a few a scan.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.caches import ScopedJsonFile, batch_put
from sagewatch.aws.clients import error_code, is_not_found
from sagewatch.models import Endpoint
from sagewatch.serving import FILTER_PATTERN, Dependency, DependencyFacts, Quota, classify_lines

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_service_quotas import ServiceQuotasClient

DAILY_PREFIX = "daily#"  # state table ids of the daily checks' answers; finding ids never start so
KEEP = timedelta(days=2)  # an item outlives its day a little (the table's TTL removes it)
FRESH = timedelta(hours=24)  # checked again once a day
DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403")
QUOTA_NAME = re.compile(r"^(ml\.[a-z0-9-]+\.[a-z0-9]+) for endpoint usage$")
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)"
    r"(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
LOG_PAGES = 2
LIFECYCLE_BUCKETS = 50  # data capture destinations read a scan at most (each once a day)
LOG_EVENTS = 500
# calls a scan may spend on dependency checks (~30 s at AWS's pace): each dependency is checked once a day, and
# an endpoint's dependencies are shared reads (a role, an image), so this covers thousands of endpoints a day
# with hourly scans; what is left waits for the next scan, and the scan says so
DEPENDENCY_CALLS = 1000


class DailyCache(Protocol):
    def load(self, scope: str) -> dict[str, tuple[datetime, Any]]: ...
    def save(self, scope: str, docs: Mapping[str, Any], now: datetime) -> None: ...


def kept_for_the_day(
    cache: DailyCache | None, scope: str, key: str, now: datetime, read: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], datetime]:
    """The answer kept under `key` if it is under a day old (with when it was read), else `read()`, kept for the
    day unless it says it may pass at once (`"transient": true`: a throttle, a timeout). A cache is never a source
    of truth: one that cannot be read or written is read again next time."""
    if cache is not None:
        try:
            found = cache.load(scope).get(key)
        except (ClientError, BotoCoreError, OSError):
            found = None
        if found is not None and now - found[0] < FRESH and isinstance(found[1], dict):
            return found[1], found[0]
    doc = read()
    if cache is not None and not doc.get("transient"):
        with contextlib.suppress(ClientError, BotoCoreError, OSError):
            cache.save(scope, {key: doc}, now)
    return doc, now


class TableDailyCache:
    """Answers in the stack's state table, one item each (`daily#SCOPE#KEY`), expiring after two days."""

    def __init__(self, client: DynamoDBClient, table: str):
        self.client = client
        self.table = table

    def load(self, scope: str) -> dict[str, tuple[datetime, Any]]:
        prefix = f"{DAILY_PREFIX}{scope}#"
        out: dict[str, tuple[datetime, Any]] = {}
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="begins_with(#id, :p)",
            ExpressionAttributeNames={"#id": "id"},
            ExpressionAttributeValues={":p": {"S": prefix}},
        )
        for page in pages:
            for item in page.get("Items", []):
                try:
                    doc = json.loads(item["doc"]["S"])
                    out[item["id"]["S"][len(prefix) :]] = (datetime.fromisoformat(doc["at"]), doc["value"])
                except (KeyError, ValueError, TypeError):
                    continue  # a damaged entry is checked again
        return out

    def save(self, scope: str, docs: Mapping[str, Any], now: datetime) -> None:
        expires = str(int((now + KEEP).timestamp()))
        batch_put(
            self.client,
            self.table,
            [
                {
                    "id": {"S": f"{DAILY_PREFIX}{scope}#{key}"},
                    "expires_at": {"N": expires},
                    "doc": {"S": json.dumps({"at": now.isoformat(), "value": value}, default=str)},
                }
                for key, value in docs.items()
            ],
        )


class FileDailyCache:
    """The CLI's answers, in one JSON file per user (`~/.cache/sagewatch/daily.json`), per account/region."""

    def __init__(self, path: Path):
        self.file = ScopedJsonFile(path, ".daily-")

    def load(self, scope: str) -> dict[str, tuple[datetime, Any]]:
        out: dict[str, tuple[datetime, Any]] = {}
        for key, doc in (self.file.entry(scope) or {}).items():
            try:
                out[str(key)] = (datetime.fromisoformat(doc["at"]), doc["value"])
            except (KeyError, ValueError, TypeError):
                continue
        return out

    def save(self, scope: str, docs: Mapping[str, Any], now: datetime) -> None:
        def change(old: dict[str, Any] | None) -> dict[str, Any]:
            kept = {k: v for k, v in (old or {}).items() if isinstance(v, dict) and _young(v, now)}
            return kept | {k: {"at": now.isoformat(), "value": v} for k, v in docs.items()}

        self.file.update(scope, change)


def _young(doc: Mapping[str, Any], now: datetime) -> bool:
    try:
        return now - datetime.fromisoformat(str(doc["at"])) < KEEP
    except (KeyError, ValueError, TypeError):
        return False


class ServingReader:
    """The keep-serving checks' reads for one account and region."""

    def __init__(
        self,
        *,
        sagemaker: SageMakerClient,
        quotas: ServiceQuotasClient,
        s3: S3Client,
        ecr: ECRClient,
        iam: IAMClient,
        logs: CloudWatchLogsClient,
        cache: DailyCache,
        scope: str,
        account: str | None,
        dependency_budget: int = DEPENDENCY_CALLS,
    ):
        self.sm = sagemaker
        self.sq = quotas
        self.s3 = s3
        self.ecr = ecr
        self.iam = iam
        self.logs = logs
        self.cache = cache
        self.scope = scope
        self.account = account
        self.dependency_budget = dependency_budget
        self.calls = 0
        self.dependency_calls = 0  # of them, the dependency checks' (once a day: make bench shows them apart)
        self._kept: dict[str, tuple[datetime, Any]] | None = None
        # (what, ref) -> (state, note) of roles, images and artifacts checked this scan: endpoints share them
        self._known: dict[tuple[str, str], tuple[str, str]] = {}

    def _cached(self) -> dict[str, tuple[datetime, Any]]:
        if self._kept is None:
            try:
                self._kept = self.cache.load(self.scope)
            except (ClientError, BotoCoreError):
                self._kept = {}  # a cache is never a source of truth: checked again
        return self._kept

    def _fresh(self, key: str, now: datetime) -> Any | None:
        found = self._cached().get(key)
        return found[1] if found and now - found[0] < FRESH else None

    def _keep(self, docs: Mapping[str, Any], now: datetime) -> list[str]:
        if not docs:
            return []
        try:
            self.cache.save(self.scope, docs, now)
        except (ClientError, BotoCoreError, OSError) as exc:
            return [f"the daily checks could not be kept ({type(exc).__name__}); they run again next scan"]
        return []

    # --- Service Quotas -------------------------------------------------------------------------------
    def quotas(self, now: datetime) -> tuple[dict[str, Quota], list[str]]:
        """Endpoint instance quotas by type: the account's applied values, else AWS's defaults."""
        kept = self._fresh("quotas", now)
        if kept is not None:
            return _quotas_of(kept), []
        try:
            defaults = self._quota_pages("list_aws_default_service_quotas")
            applied = self._quota_pages("list_service_quotas")
        except ClientError as exc:
            why = "not allowed" if error_code(exc) in DENIED else f"failed ({error_code(exc)})"
            return {}, [f"Service Quotas could not be read ({why}): quota-risk not checked this scan"]
        except BotoCoreError as exc:
            return {}, [f"Service Quotas could not be read ({type(exc).__name__}): quota-risk not checked this scan"]
        doc = {t: {"value": v, "source": "default", "code": c} for t, (v, c) in defaults.items()}
        doc |= {t: {"value": v, "source": "applied", "code": c} for t, (v, c) in applied.items()}
        return _quotas_of(doc), self._keep({"quotas": doc}, now)

    def _quota_pages(self, operation: str) -> dict[str, tuple[float, str | None]]:
        out: dict[str, tuple[float, str | None]] = {}
        token: str | None = None
        for _ in range(100):  # bounded: SageMaker has a few thousand quotas, 100 a page
            args: dict[str, Any] = {"ServiceCode": "sagemaker", "MaxResults": 100}
            if token:
                args["NextToken"] = token
            self.calls += 1
            page = getattr(self.sq, operation)(**args)
            for q in page.get("Quotas", []):
                found = QUOTA_NAME.match(str(q.get("QuotaName", "")))
                if found and isinstance(q.get("Value"), int | float):
                    out[found.group(1)] = (float(q["Value"]), q.get("QuotaCode"))
            token = page.get("NextToken")
            if not token:
                break
        return out

    # --- dependencies ---------------------------------------------------------------------------------
    def dependencies(
        self, endpoints: Sequence[Endpoint], now: datetime
    ) -> tuple[dict[str, DependencyFacts], list[str]]:
        """Each endpoint's dependencies as the last day's check found them; endpoints not checked within a day are
        checked now, until the scan has spent `dependency_budget` calls on them (the others on the next scans)."""
        out: dict[str, DependencyFacts] = {}
        fresh: dict[str, Any] = {}
        due: list[Endpoint] = []
        for e in endpoints:
            kept = self._fresh(_dependency_key(e), now)
            try:
                if kept is not None:
                    out[e.name] = DependencyFacts.from_doc(kept)
                    continue
            except (KeyError, ValueError, TypeError):
                pass  # damaged: checked again
            due.append(e)
        started = self.calls
        checked = 0
        for e in due:
            if self.calls - started >= self.dependency_budget:
                break
            facts = self.check(e, now)
            out[e.name] = facts
            fresh[_dependency_key(e)] = facts.to_doc()
            checked += 1
        self.dependency_calls += self.calls - started
        warnings = self._keep(fresh, now)
        if checked < len(due):
            warnings.append(
                f"dependencies of {len(due) - checked} endpoints are checked on the next scans "
                f"({self.dependency_budget} calls a scan)"
            )
        return out, warnings

    def check(self, endpoint: Endpoint, now: datetime) -> DependencyFacts:
        """Whether everything `endpoint` needs to start new instances still exists."""
        deps: list[Dependency] = []
        failures: dict[str, str] = {}
        try:
            config: Any = self._call(self.sm.describe_endpoint_config, EndpointConfigName=endpoint.config_name)
        except _MissingError:
            return DependencyFacts(
                now, (Dependency("endpoint-config", endpoint.config_name, endpoint.name, "missing"),)
            )
        except _UncheckedError as exc:
            return DependencyFacts(
                now, (Dependency("endpoint-config", endpoint.config_name, endpoint.name, "not-checked", str(exc)),)
            )
        models: dict[str, str] = {}
        for v in config.get("ProductionVariants", []):
            if v.get("ModelName"):
                models.setdefault(str(v["ModelName"]), f"variant {v['VariantName']}")
        if config.get("ExecutionRoleArn"):
            deps.append(self._role(str(config["ExecutionRoleArn"]), f"endpoint config {endpoint.config_name}"))
        for name in sorted({c for v in endpoint.variants for c in v.inference_components}):
            deps += self._component(name, models, failures)
        for model, used_by in sorted(models.items()):
            deps += self._model(model, used_by)
        return DependencyFacts(now, tuple(_unique(deps)), failures)

    def _component(self, name: str, models: dict[str, str], failures: dict[str, str]) -> list[Dependency]:
        try:
            doc: Any = self._call(self.sm.describe_inference_component, InferenceComponentName=name)
        except (_MissingError, _UncheckedError):
            return []  # listed a moment ago: gone meanwhile, or not readable (the scan said so)
        if doc.get("InferenceComponentStatus") == "InService" and doc.get("FailureReason"):
            failures[name] = str(doc["FailureReason"])[:1000]
        spec = doc.get("Specification") or {}
        out = []
        if spec.get("ModelName"):
            models.setdefault(str(spec["ModelName"]), f"inference component {name}")
        container = spec.get("Container") or {}
        deployed = container.get("DeployedImage") or {}
        image = deployed.get("ResolvedImage") or deployed.get("SpecifiedImage") or container.get("Image")
        if image:
            out.append(self._image(str(image), f"inference component {name}"))
        if container.get("ArtifactUrl"):
            out.append(self._artifact(str(container["ArtifactUrl"]), f"inference component {name}"))
        return out

    def _model(self, name: str, used_by: str) -> list[Dependency]:
        try:
            doc: Any = self._call(self.sm.describe_model, ModelName=name)
        except _MissingError:
            return [Dependency("model", name, used_by, "missing")]
        except _UncheckedError as exc:
            return [Dependency("model", name, used_by, "not-checked", str(exc))]
        out = [Dependency("model", name, used_by, "present")]
        if doc.get("ExecutionRoleArn"):
            out.append(self._role(str(doc["ExecutionRoleArn"]), f"model {name}"))
        for c in [doc.get("PrimaryContainer") or {}, *(doc.get("Containers") or [])]:
            if c.get("Image"):
                out.append(self._image(str(c["Image"]), f"model {name}"))
            source = ((c.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
            artifact = c.get("ModelDataUrl") or source
            if artifact:
                out.append(self._artifact(str(artifact), f"model {name}"))
        return out

    def _once(self, what: str, ref: str, used_by: str, check: Any) -> Dependency:
        """`check(ref)` once a scan per (what, ref), for every endpoint that uses it."""
        if (what, ref) not in self._known:
            found: Dependency = check(ref)
            self._known[(what, ref)] = (found.state, found.note)
        state, note = self._known[(what, ref)]
        return Dependency(what, ref, used_by, state, note)

    def _role(self, arn: str, used_by: str) -> Dependency:
        return self._once("role", arn, used_by, self._check_role)

    def _image(self, image: str, used_by: str) -> Dependency:
        return self._once("image", image, used_by, self._check_image)

    def _artifact(self, uri: str, used_by: str) -> Dependency:
        return self._once("model-artifact", uri, used_by, self._check_artifact)

    def _check_role(self, arn: str) -> Dependency:
        used_by = ""
        try:
            self._call(self.iam.get_role, RoleName=arn.rsplit("/", 1)[-1])
        except _MissingError:
            return Dependency("role", arn, used_by, "missing")
        except _UncheckedError as exc:
            return Dependency("role", arn, used_by, "not-checked", str(exc))
        return Dependency("role", arn, used_by, "present")

    def _check_image(self, image: str) -> Dependency:
        used_by = ""
        found = ECR_IMAGE.match(image)
        if found is None or (self.account and found["account"] != self.account):
            return Dependency("image", image, used_by, "not-checked", "not an image of this account's ECR")
        if found["region"] != self.ecr.meta.region_name:
            return Dependency("image", image, used_by, "not-checked", f"an image in another region ({found['region']})")
        image_id: dict[str, str] = (
            {"imageDigest": found["digest"]} if found["digest"] else {"imageTag": found["tag"] or "latest"}
        )
        try:
            self._call(self.ecr.describe_images, repositoryName=found["repo"], imageIds=[image_id])
        except _MissingError:
            return Dependency("image", image, used_by, "missing")
        except _UncheckedError as exc:
            return Dependency("image", image, used_by, "not-checked", str(exc))
        return Dependency("image", image, used_by, "present")

    def _check_artifact(self, uri: str) -> Dependency:
        """An S3 object (or, ending in /, a prefix), seen through ListObjectsV2 alone: the scan never reads a model."""
        used_by = ""
        if not uri.startswith("s3://"):
            return Dependency("model-artifact", uri, used_by, "not-checked", "not an S3 URI")
        bucket, _, key = uri[len("s3://") :].partition("/")
        try:
            page: Any = self._call(self.s3.list_objects_v2, Bucket=bucket, Prefix=key, MaxKeys=1)
        except _MissingError:
            return Dependency("model-artifact", uri, used_by, "missing")
        except _UncheckedError as exc:
            return Dependency("model-artifact", uri, used_by, "not-checked", str(exc))
        keys = [str(o.get("Key")) for o in page.get("Contents", [])]
        present = any(k == key or key.endswith("/") or k.startswith(key.rstrip("/") + "/") for k in keys)
        return Dependency("model-artifact", uri, used_by, "present" if present else "missing")

    def _call(self, method: Any, **params: Any) -> Any:
        self.calls += 1
        try:
            return method(**params)
        except ClientError as exc:
            code = error_code(exc)
            if is_not_found(exc) or code in (
                "NoSuchEntity",
                "NoSuchBucket",
                "RepositoryNotFoundException",
                "ImageNotFoundException",
            ):
                raise _MissingError() from None
            if code in DENIED:
                raise _UncheckedError(f"not allowed to read it ({code})") from None
            raise _UncheckedError(f"could not be read ({code})") from None
        except BotoCoreError as exc:
            raise _UncheckedError(f"could not be read ({type(exc).__name__})") from None

    # --- data capture's buckets ---------------------------------------------------------------------------
    def lifecycle_rules(self, buckets: Sequence[str], now: datetime) -> dict[str, bool | None]:
        """Whether each bucket has an enabled lifecycle rule that expires objects (None: could not be read);
        read once a day per bucket."""
        out: dict[str, bool | None] = {}
        kept: dict[str, Any] = {}
        for bucket in list(buckets)[:LIFECYCLE_BUCKETS]:
            key = f"lifecycle/{bucket}"
            fresh = self._fresh(key, now)
            if isinstance(fresh, dict) and "expires" in fresh:
                out[bucket] = fresh["expires"]
                continue
            self.calls += 1
            try:
                rules = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
                expires: bool | None = any(
                    r.get("Status") == "Enabled" and (r.get("Expiration") or r.get("NoncurrentVersionExpiration"))
                    for r in rules
                )
            except ClientError as exc:
                expires = False if error_code(exc) == "NoSuchLifecycleConfiguration" else None
            except BotoCoreError:
                expires = None
            out[bucket] = expires
            if expires is not None:
                kept[key] = {"expires": expires}
        self._keep(kept, now)
        return out

    # --- the log ----------------------------------------------------------------------------------------
    def log_signatures(self, endpoint: str, start: datetime, end: datetime) -> tuple[list[dict[str, Any]], str | None]:
        """The known error signatures in the endpoint's log over [start, end): (signatures, a note when the log
        could not be read)."""
        group = f"/aws/sagemaker/Endpoints/{endpoint}"
        lines: list[str] = []
        token: str | None = None
        for _ in range(LOG_PAGES):
            args: dict[str, Any] = {
                "logGroupName": group,
                "startTime": int(start.timestamp() * 1000),
                "endTime": int(end.timestamp() * 1000),
                "filterPattern": FILTER_PATTERN,
                "limit": LOG_EVENTS,
            }
            if token:
                args["nextToken"] = token
            self.calls += 1
            try:
                page = self.logs.filter_log_events(**args)
            except ClientError as exc:
                code = error_code(exc)
                if code == "ResourceNotFoundException":
                    return [], f"no log group {group}"
                return [], f"the log group {group} could not be read ({code})"
            except BotoCoreError as exc:
                return [], f"the log group {group} could not be read ({type(exc).__name__})"
            lines += [str(e.get("message", "")) for e in page.get("events", [])]
            token = page.get("nextToken")
            if not token:
                break
        return classify_lines(lines), None


class _MissingError(Exception):
    pass


class _UncheckedError(Exception):  # the dependency is said as not checked, with this reason
    pass


def _dependency_key(endpoint: Endpoint) -> str:
    """Per endpoint and deployment: an update (or a recreated endpoint) is checked afresh."""
    return f"deps#{endpoint.name}#{int(endpoint.history_start.timestamp())}"


def _unique(deps: Iterable[Dependency]) -> list[Dependency]:
    seen: dict[tuple[str, str], Dependency] = {}
    for d in deps:
        seen.setdefault((d.what, d.ref), d)
    return list(seen.values())


def _quotas_of(doc: Mapping[str, Any]) -> dict[str, Quota]:
    out = {}
    for instance_type, q in doc.items():
        try:
            out[str(instance_type)] = Quota(str(instance_type), float(q["value"]), str(q["source"]), q.get("code"))
        except (KeyError, TypeError, ValueError):
            continue
    return out
