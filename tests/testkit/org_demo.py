"""`make org-demo`: an organization on an embedded moto (three member accounts, two regions, one central
account), its one digest and its weekly cost table, through the real member and central use cases."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from moto import mock_aws

from sagewatch.notify import from_document
from sagewatch.notify.org import render_email, subject
from sagewatch.org import OrgDigest
from sagewatch.orgcost import render_table
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.org_sim import CENTRAL, OrgSimulation, later


def main() -> int:
    moto_ext.install()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = later(now, -180)
    with mock_aws():
        print("Simulating an organization on an embedded moto: 3 member accounts x 2 regions, one central account")
        sim = OrgSimulation(start)
        silent = sorted(sim.members)[-1]
        for key in sim.members:
            sim.scan(key, start)
            sim.weekly(key, start)
        for hours in (1, 2, 3):  # hourly scans; one member breaks after its first
            for key in sim.members:
                if key != silent:
                    sim.scan(key, later(start, 60 * hours))
        sim.deliver(later(now, 1))
        print(f"Member {silent} stopped reporting after its first scan, three hours ago.\n")
        tick = sim.tick(later(now, 12))
        digests = [d for d in map(from_document, sim.central_notifications()) if isinstance(d, OrgDigest)]
        if tick["status"] != "sent" or len(digests) != 1:
            print(f"expected one organization digest, got {tick}", file=sys.stderr)
            return 1
        print(f"Subject: {subject(digests[0])}\n")
        print(render_email(digests[0]))
        print(f"\nSilentMembers metric (the SilentMembersAlarm watches it): {tick['silent_members']}\n")
        fleet.seed_demo_commitments(now, account=CENTRAL)  # the organization's plans, as the payer sees them
        report, result = sim.cost_report(later(now, 15))
        print(render_table(report))
        print("Written to the central bucket: " + ", ".join(result["report"]["keys"].values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
