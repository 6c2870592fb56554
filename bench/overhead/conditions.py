"""What each condition of bench/overhead/run.sh is measured against, for run.sh's summary and for paired.py."""

# A condition's workload is named by its suffix: HTTP by none, the others by these.
WORKLOADS = ("-https", "-paced", "-even", "-h2", "-go")


def baseline(condition):
    """The untraced condition of the same workload: untraced-paced for tattle-paced, untraced for tattle."""
    for suffix in WORKLOADS:
        if condition.endswith(suffix):
            return "untraced" + suffix
    return "untraced"
