"""One module per remediation action: its declaration (SPEC, read by sagewatch.remediation.registry) and its
planner, which writes the exact calls the action makes."""
