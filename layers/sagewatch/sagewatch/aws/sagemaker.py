"""Endpoint discovery through the SageMaker control plane."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.autoscaling import ScalingReader, component_resource, variant_resource
from sagewatch.aws.clients import MAX_POOL, error_code, error_message, is_not_found
from sagewatch.aws.config_cache import CLOCK_MARGIN, CachedConfigs, ConfigArchive, scope_of, storable
from sagewatch.aws.tagging import EndpointTags, arn_key
from sagewatch.costs import Reservation, reservation_from_api
from sagewatch.inventory import IGNORE_TAG, endpoint_from_api, is_ignored, tags_to_dict
from sagewatch.models import Autoscaling, Discovery, Endpoint, ScanError, Skipped
from sagewatch.progress import ProgressSink, no_progress

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

IN_SERVICE = "InService"
log = logging.getLogger(__name__)
# The tagging API is eventually consistent: an endpoint this young may be listed without its tags yet.
TAGS_SETTLE = timedelta(hours=1)


# Per-endpoint reads (DescribeEndpoint, and the few ListTags and DescribeEndpointConfig) run on threads: at
# ~30 ms a call, 5,000 endpoints take 150 s one by one, ~19 s on 8 threads, ~5 s on 32. The pool grows with
# the fleet (one thread per 100 endpoints, 8 to 32) so a big fleet is bounded by SageMaker's rate, not by
# the pool; the adaptive retry mode's client-side rate limiter backs every thread off together on the first
# throttle. 32 also keeps a scan from taking more than a share of the account's control-plane rate.
MIN_WORKERS, MAX_WORKERS = 8, MAX_POOL


def discovery_workers(endpoints: int) -> int:
    return max(MIN_WORKERS, min(MAX_WORKERS, endpoints // 100))


class _Once:
    """A value computed once even when several threads ask at the same time; a failure is not kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: dict[str, Any] | None = None

    @property
    def known(self) -> dict[str, Any] | None:
        """The value if it was computed, without computing it."""
        with self._lock:
            return self._value

    def get(self, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if self._value is None:
                self._value = compute()
            return self._value


@dataclass
class _Outcome:
    endpoint: Endpoint | None = None
    skipped: Skipped | None = None
    error: ScanError | None = None
    ignored: Endpoint | None = None  # skipped for its tag, described all the same: its cost is still listed
    missing_config: tuple[str, str, str] | None = None  # (endpoint, ARN, config): the config was deleted


def _scan_error(operation: str, exc: ClientError | BotoCoreError, note: str = "") -> ScanError:
    """A failed region-wide read as the report shows it (an AWS error code, or the client-side failure)."""
    code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    message = error_message(exc) if isinstance(exc, ClientError) else str(exc)
    return ScanError(operation, code, message + note)


def _with_scaling(endpoint: Endpoint, scaling: dict[str, Autoscaling]) -> Endpoint:
    variants = tuple(
        replace(v, autoscaling=scaling.get(variant_resource(endpoint.name, v.name))) for v in endpoint.variants
    )
    components = {
        c: scaling[component_resource(c)]
        for v in endpoint.variants
        for c in v.inference_components
        if component_resource(c) in scaling
    }
    return replace(endpoint, variants=variants, component_scaling=components)


# what ListEndpoints' summaries hold (DescribeEndpoint has each), and where a named endpoint's description rides
_SUMMARY_KEYS = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
_DESCRIBED = "_described"


class SageMakerInventory:
    """Lists every endpoint once per scan; endpoint configs (immutable) are fetched once each."""

    def __init__(
        self,
        client: SageMakerClient,
        workers: int | None = None,
        *,
        scaling: ScalingReader | None = None,
        tags: EndpointTags | None = None,
        configs: ConfigArchive | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: ProgressSink = no_progress,
        only: Sequence[str] = (),
        listed: Sequence[Mapping[str, Any]] | None = None,
    ):
        self.client = client
        self.only = tuple(dict.fromkeys(only))  # scan just these endpoints: described by name, never listed
        # a listing already made (the scan's, or a fan-out chunk's share of it): discovery describes these
        self.listed = None if listed is None else [dict(s) for s in listed]
        self.workers = workers  # None: sized to the fleet (discovery_workers)
        self.scaling = scaling
        self.tag_index = tags
        self.archive = configs
        self.clock = clock
        self.progress = progress
        self._lock = threading.Lock()
        self._configs: dict[str, _Once] = {}
        self._cached: dict[str, dict[str, Any]] = {}  # config name -> description, from the archive
        self._described: set[str] = set()  # config names described this scan

    def summaries(self) -> list[dict[str, Any]]:
        """ListEndpoints' summaries of every endpoint of the region (what a scan goes through)."""
        pages = self.client.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100})
        return [dict(s) for page in pages for s in page["Endpoints"]]

    def given(self, summaries: Sequence[Mapping[str, Any]]) -> SageMakerInventory:
        """The same inventory over endpoints already listed: discover() describes these, lists nothing."""
        return SageMakerInventory(
            self.client,
            self.workers,
            scaling=self.scaling,
            tags=self.tag_index,
            configs=self.archive,
            clock=self.clock,
            progress=self.progress,
            listed=summaries,
        )

    def _named(self, found: Discovery) -> list[dict[str, Any]]:
        """The endpoints named (scan --endpoint), one DescribeEndpoint each: a listing's summary of each, carrying
        the description for _read (no second call). One that does not exist is a scan error naming it."""
        out = []
        for name in self.only:
            try:
                description = dict(self.client.describe_endpoint(EndpointName=name))
            except ClientError as exc:
                code = "ResourceNotFound" if is_not_found(exc) else error_code(exc)
                found.errors.append(ScanError("DescribeEndpoint", code, error_message(exc), name))
                continue
            summary = {k: description.get(k) for k in _SUMMARY_KEYS}
            out.append({**summary, _DESCRIBED: description})
        return out

    def _inference_components(self) -> dict[str, dict[str, list[str]]]:
        """endpoint -> variant -> component names, from one paginated listing for the whole region."""
        by_endpoint: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        token: str | None = None
        for _ in range(10_000):  # bounded: 100 per page
            kwargs: dict[str, Any] = {"MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = self.client.list_inference_components(**kwargs)
            for ic in page.get("InferenceComponents", []):
                by_endpoint[ic["EndpointName"]][ic["VariantName"]].append(ic["InferenceComponentName"])
            token = page.get("NextToken")
            if not token:
                break
        return by_endpoint

    def _config(self, name: str) -> dict[str, Any]:
        with self._lock:
            once = self._configs.setdefault(name, _Once())
        return once.get(lambda: self._cached.get(name) or self._describe_config(name))

    def _describe_config(self, name: str) -> dict[str, Any]:
        description = storable(self.client.describe_endpoint_config(EndpointConfigName=name))
        with self._lock:
            self._described.add(name)
        return description

    def _load_cache(self, scope: str) -> None:
        """The archive's configs of `scope`, less any whose name a config created since then has taken."""
        self._cached, self._described = {}, set()
        if self.archive is None:
            return
        try:
            cached: CachedConfigs = self.archive.load(scope)
            if cached.scanned_at is None or not cached.configs:
                return
            since = cached.scanned_at - CLOCK_MARGIN
            pages = self.client.get_paginator("list_endpoint_configs").paginate(
                CreationTimeAfter=since, PaginationConfig={"PageSize": 100}
            )
            recreated = {c["EndpointConfigName"] for page in pages for c in page["EndpointConfigs"]}
        except (ClientError, BotoCoreError, ValueError, KeyError, TypeError) as exc:
            log.warning("endpoint config cache not used: every config is described (%s)", exc)
            return
        self._cached = {name: doc for name, doc in cached.configs.items() if name not in recreated}

    def _save_cache(self, scope: str, started: datetime) -> None:
        if self.archive is None:
            return
        with self._lock:
            onces = dict(self._configs)
        used = {name: value for name, once in onces.items() if (value := once.known) is not None}
        with self._lock:
            new = self._described & set(used)
        try:
            self.archive.save(scope, used, new, started)
        except (ClientError, BotoCoreError, OSError) as exc:
            log.warning("endpoint config cache not saved: the next scan describes them again (%s)", exc)

    def _tags(self, arn: str) -> dict[str, str]:
        pages = self.client.get_paginator("list_tags").paginate(ResourceArn=arn)
        return tags_to_dict(
            [{"Key": t["Key"], "Value": t.get("Value", "")} for page in pages for t in page.get("Tags", [])]
        )

    def _all_tags(self, found: Discovery) -> dict[str, dict[str, str]] | None:
        """The region's endpoint tags in pages, or None (every endpoint then gets its own ListTags)."""
        if self.tag_index is None:
            return None
        try:
            return self.tag_index.by_arn()
        except (ClientError, BotoCoreError) as exc:
            found.errors.append(_scan_error("GetResources", exc, " (read per endpoint with ListTags)"))
            return None

    def _endpoint_tags(self, summary: dict[str, Any], index: dict[str, dict[str, str]] | None) -> dict[str, str]:
        """The indexed tags when they can be trusted, else ListTags: a missed sagewatch:ignore is never an option."""
        created = summary.get("CreationTime")
        settled = isinstance(created, datetime) and created <= self.clock() - TAGS_SETTLE
        if index is not None and settled:
            tags = index.get(arn_key(summary["EndpointArn"]))
            if tags is not None:
                return tags
        return self._tags(summary["EndpointArn"])

    def _read(
        self,
        summary: dict[str, Any],
        components: dict[str, dict[str, list[str]]],
        known: bool,
        index: dict[str, dict[str, str]] | None = None,
    ) -> _Outcome:
        name = summary["EndpointName"]
        operation = "ListTags"
        try:
            tags = self._endpoint_tags(summary, index)
            if is_ignored(tags):
                return self._ignored(summary, tags, components.get(name, {}))
            operation = "DescribeEndpoint"
            description: dict[str, Any] = summary.get(_DESCRIBED) or dict(
                self.client.describe_endpoint(EndpointName=name)
            )
            status = description["EndpointStatus"]
            if status != IN_SERVICE:  # changed since the listing
                since = description.get("LastModifiedTime")
                reason = description.get("FailureReason")
                return _Outcome(
                    skipped=Skipped(name, f"status is {status}", status, summary.get("EndpointArn"), since, reason)
                )
            operation = "DescribeEndpointConfig"
            config = self._config(description["EndpointConfigName"])
        except ClientError as exc:
            code = "ResourceNotFound" if is_not_found(exc) else error_code(exc)
            error = ScanError(operation, code, error_message(exc), name)
            if operation == "DescribeEndpointConfig" and code == "ResourceNotFound":
                # the endpoint serves on; AWS cannot patch or recover it (a broken-dependency finding says so)
                gone = (name, str(description["EndpointArn"]), str(description["EndpointConfigName"]))
                return _Outcome(error=error, missing_config=gone)
            return _Outcome(error=error)
        return _Outcome(endpoint_from_api(description, config, tags, components.get(name, {}), components_known=known))

    def _ignored(self, summary: dict[str, Any], tags: dict[str, str], components: dict[str, list[str]]) -> _Outcome:
        """Skipped, never judged; described so that digests can say what it costs (its cost unknown if not)."""
        name = summary["EndpointName"]
        skipped = Skipped(name, f"tagged {IGNORE_TAG}=true", IN_SERVICE)
        try:
            description: dict[str, Any] = dict(self.client.describe_endpoint(EndpointName=name))
            config = self._config(description["EndpointConfigName"])
        except ClientError:
            return _Outcome(skipped=skipped)
        return _Outcome(skipped=skipped, ignored=endpoint_from_api(description, config, tags, components))

    def discover(self) -> Discovery:
        found = Discovery()
        started = self.clock()
        with self._lock:
            self._configs = {}  # once per scan: a config name could be deleted and reused between scans
        if self.listed is not None:
            summaries = [dict(s) for s in self.listed]
        else:
            summaries = self._named(found) if self.only else self.summaries()
        found.listed = [s["EndpointName"] for s in summaries]
        self.progress("listed", len(summaries), len(summaries))
        components, components_known = self._components_or_unknown(found)
        in_service = [s for s in summaries if s["EndpointStatus"] == IN_SERVICE]
        found.skipped += [self._skipped(s) for s in summaries if s["EndpointStatus"] != IN_SERVICE]
        # a few named endpoints: their own ListTags, not the region's tag pages
        index = self._all_tags(found) if in_service and not self.only else None
        scope = scope_of(in_service[0]["EndpointArn"]) if in_service else ""
        if scope:
            self._load_cache(scope)
        outcomes = self._read_all(in_service, lambda s: self._read(s, components, components_known, index))
        if scope:
            self._save_cache(scope, started)
        scaling = self._scaling(found)
        for outcome in outcomes:  # listing order, whatever order the threads finished in
            if outcome.endpoint:
                found.endpoints.append(_with_scaling(outcome.endpoint, scaling))
            if outcome.skipped:
                found.skipped.append(outcome.skipped)
            if outcome.ignored:
                found.ignored.append(outcome.ignored)
            if outcome.error:
                found.errors.append(outcome.error)
            if outcome.missing_config:
                found.missing_configs.append(outcome.missing_config)
        return found

    def _skipped(self, summary: dict[str, Any]) -> Skipped:
        """An endpoint not judged for its state, with when it entered it; a rollback's failure reason read too
        (DescribeEndpoint, rare): what a stuck-deployment finding says."""
        status = str(summary["EndpointStatus"])
        reason = None
        if status in ("RollingBack", "UpdateRollbackFailed"):
            try:
                reason = self.client.describe_endpoint(EndpointName=summary["EndpointName"]).get("FailureReason")
            except (ClientError, BotoCoreError):
                reason = None  # said as no reason given
        return Skipped(
            summary["EndpointName"],
            f"status is {status}",
            status,
            arn=summary.get("EndpointArn"),
            since=summary.get("LastModifiedTime"),
            failure_reason=reason,
        )

    def _components_or_unknown(self, found: Discovery) -> tuple[dict[str, dict[str, list[str]]], bool]:
        try:
            return self._inference_components(), True
        except (ClientError, BotoCoreError) as exc:
            # Without the listing, component-hosting endpoints' traffic is unknown: never call them idle.
            found.errors.append(_scan_error("ListInferenceComponents", exc))
            return {}, False

    def _read_all(
        self, in_service: list[dict[str, Any]], read_one: Callable[[dict[str, Any]], _Outcome]
    ) -> list[_Outcome]:
        """Every endpoint's reads on a pool sized to the fleet, reporting progress as they finish."""
        done = iter(range(1, len(in_service) + 1))  # next() is atomic under the GIL: a thread-safe counter

        def read(summary: dict[str, Any]) -> _Outcome:
            outcome = read_one(summary)
            self.progress("described", next(done), len(in_service))
            return outcome

        workers = self.workers or discovery_workers(len(in_service))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="discover") as pool:
            return list(pool.map(read, in_service))

    def _scaling(self, found: Discovery) -> dict[str, Autoscaling]:
        """Every variant's auto scaling, in two paginated calls; an error leaves it unknown (and says so)."""
        if self.scaling is None:
            return {}
        try:
            return self.scaling.variant_scaling()
        except (ClientError, BotoCoreError) as exc:
            found.errors.append(_scan_error("DescribeScalableTargets", exc))
            return {}

    def reservations(self, endpoints: list[Endpoint]) -> tuple[dict[str, Reservation], list[ScanError]]:
        """What each inference component of these endpoints reserves (one DescribeInferenceComponent each)."""
        names = [ic for ep in endpoints for v in ep.variants for ic in v.inference_components]

        def describe(name: str) -> Reservation | ScanError:
            try:
                return reservation_from_api(self.client.describe_inference_component(InferenceComponentName=name))
            except ClientError as exc:
                code = "ResourceNotFound" if is_not_found(exc) else error_code(exc)
                return ScanError("DescribeInferenceComponent", code, error_message(exc), name)

        with ThreadPoolExecutor(
            max_workers=self.workers or discovery_workers(len(names)), thread_name_prefix="components"
        ) as pool:
            outcomes = list(pool.map(describe, names))
        found = {o.component: o for o in outcomes if isinstance(o, Reservation)}
        return found, [o for o in outcomes if isinstance(o, ScanError)]
