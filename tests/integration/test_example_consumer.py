"""The example application in Examples/OrderService, which depends on this repository's client
library the way docs/clients.md says (scripts/test.sh builds it), run against a hub with the dev
engine: it deploys its model and awaits an instance's outcome through the hub."""
import os
import subprocess

import pytest

from conftest import ROOT

BINARY = os.path.join(ROOT, "Examples", "OrderService", ".build", "debug", "OrderService")


def test_the_example_application_awaits_an_outcome_through_the_library(make_hub):
    if not os.path.exists(BINARY):
        if os.environ.get("CI"):
            pytest.fail("Examples/OrderService is not built (scripts/test.sh builds it)")
        pytest.skip("build it with: swift build --package-path Examples/OrderService")
    hub = make_hub("--dev-engine")
    run = subprocess.run([BINARY, hub.http("")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("outcome completed for instance ") and '{"item":"book","quantity":2}' in run.stdout, run.stdout
