"""The use cases, one module each: what a handler or the CLI calls, with the protocols of what it needs
beside it. sagewatch.aws.wiring builds the real dependencies; tests pass moto-backed or fake ones.

    scan.py       the scheduled scan and the read-only scan the CLI runs
    weekly.py     the cost report and the weekly report function
    monitor.py    Model Monitor runs and endpoint health events -> alerts
    remediate.py  manual remediation: plan (dry run) or carry out one action
    slack.py      the Slack notifier: SNS messages -> Block Kit posts
    ports.py      what several use cases need: sending notices, reading metrics
"""
