"""azure-cli auth against workspace-emu: the tools take the Azure CLI's
login (az login; the AzureCLI task of Azure Pipelines; azure/login in
GitHub Actions) and ask `az account get-access-token` for their tokens as
databricks-sdk asks. The real CLI cannot log in here (no Entra ID), so
tests/pylib/azcli/az stands in for it: the same commands and answers, real
tokens from the emulator's Entra ID endpoint, which the workspace checks.
Tokens live 4 s, so a long wait asks the CLI again."""

import json
import os
import subprocess


from dbmlops_testenv import BIN, submit_long_run
from test_auth_azure import APP, SECRET, TENANT, az, env_for, run_recipe  # noqa: F401

PUT = os.path.join(BIN, "dbfs-put")
AZ_DIR = os.path.join(os.path.dirname(__file__), "..", "pylib", "azcli")
DATABRICKS_APP = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
MGMT = "https://management.core.windows.net/"
SUB = "8c6e3b1a-1111-4222-8333-94a5b6c7d8e9"
RESOURCE = ("/subscriptions/%s/resourceGroups/ml/providers/Microsoft.Databricks/"
            "workspaces/ml-prod" % SUB)


def cli_env(emu, tmp_path, login=True, path=True, **kw):
    """The environment of a CI step after `az login` as the service
    principal (login=False: before it)."""
    info = {"tenant": TENANT, "client_id": APP, "secret": SECRET,
            "authority": emu.url + "/entra", "subscriptions": [SUB]}
    if isinstance(login, dict):
        info.update(login)
    if login:
        (tmp_path / "login.json").write_text(json.dumps(info))
    env = env_for(emu, tmp_path, AZ_TEST_LOGIN=str(tmp_path / "login.json"),
                  AZ_TEST_LOG=str(tmp_path / "az.log"), **kw)
    if path:
        env["PATH"] = os.path.abspath(AZ_DIR) + os.pathsep + env["PATH"]
    return env


def az_calls(tmp_path):
    p = tmp_path / "az.log"
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def put(env, tmp_path, *flags):
    f = tmp_path / "w.whl"
    f.write_bytes(b"wheel bytes")
    r = subprocess.run([PUT, *flags, "-f", str(f), "dbfs:/azure-cli/"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert SECRET not in r.stdout + r.stderr
    return r


def test_service_principal_login(az, tmp_path):
    """An Azure workspace (its resource id set), no other credentials:
    the CLI's token for Azure Databricks, asked in the workspace's
    subscription and tenant (found where its /aad/auth redirects, as the
    SDK finds it), and, the login being a service principal's, one for the
    management endpoint, both sent as the SDK sends them."""
    n = len(az.requests())
    r = put(cli_env(az, tmp_path, DATABRICKS_AZURE_RESOURCE_ID=RESOURCE), tmp_path,
            "--verbose")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "dbfs:/azure-cli/w.whl"
    assert "auth/azure-cli" in r.stderr                       # the User-Agent
    assert "X-Databricks-Azure-SP-Management-Token: [redacted]" in r.stderr
    assert "X-Databricks-Azure-Workspace-Resource-Id: %s" % RESOURCE in r.stderr
    assert az.requests()[n]["path"] == "/aad/auth"
    calls = az_calls(tmp_path)
    assert calls == [
        ["account", "show", "--output", "json"],
        ["account", "get-access-token", "--resource", DATABRICKS_APP, "--output", "json",
         "--subscription", SUB, "--tenant", TENANT],
        ["account", "get-access-token", "--resource", MGMT, "--output", "json",
         "--subscription", SUB, "--tenant", TENANT]]
    # the workspace took the CLI's token as the principal's
    put_req = [x for x in az.requests() if x["path"] == "/api/2.0/dbfs/put"][-1]
    assert put_req["status"] == 200


def test_tenant_and_a_subscription_the_login_cannot_see(az, tmp_path):
    """ARM_TENANT_ID goes to the CLI as --tenant (after `az account show`
    says the login is no managed identity); a subscription the login
    cannot see is asked again without it, as the SDK does."""
    env = cli_env(az, tmp_path, login={"subscriptions": ["another-subscription"]},
                  DATABRICKS_AZURE_RESOURCE_ID=RESOURCE, ARM_TENANT_ID=TENANT)
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr
    calls = az_calls(tmp_path)
    assert calls[0] == ["account", "show", "--output", "json"]
    asks = [c for c in calls if c[1] == "get-access-token"]
    assert asks[0][-4:] == ["--subscription", SUB, "--tenant", TENANT]
    assert asks[1][-2:] == ["--tenant", TENANT] and "--subscription" not in asks[1]
    assert sum(c[:2] == ["account", "show"] for c in calls) == 1


def test_managed_identity_login_takes_no_tenant(az, tmp_path):
    """A managed identity's login gets no --tenant. This CLI is older than
    2.54 (expiresOn in local time only), in a zone west of UTC: read as UTC
    each token would look expired and be asked for again per request."""
    env = cli_env(az, tmp_path, login={"user_name": "systemAssignedIdentity",
                                       "old_cli": True},
                  DATABRICKS_AUTH_TYPE="azure-cli", ARM_TENANT_ID=TENANT,
                  TZ="America/New_York")
    for i in range(4):
        (tmp_path / "d" / str(i)).mkdir(parents=True)
        (tmp_path / "d" / str(i) / "x.txt").write_text("x")
    r = subprocess.run([PUT, "-r", str(tmp_path / "d"), "dbfs:/azure-cli/old/"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    calls = az_calls(tmp_path)
    assert all("--tenant" not in c for c in calls)
    assert [c[3] for c in calls if c[1] == "get-access-token"] == [DATABRICKS_APP, MGMT]


def test_a_wrong_tenant_is_entra_ids_error(az, tmp_path):
    n = len([x for x in az.requests() if x["path"].startswith("/api/")])
    env = cli_env(az, tmp_path, DATABRICKS_AUTH_TYPE="azure-cli",
                  ARM_TENANT_ID="00000000-dead-beef-0000-000000000000")
    r = put(env, tmp_path)
    assert r.returncode == 77, r.stderr
    assert "azure-cli: cannot get access token: ERROR: AADSTS90002: Tenant " \
           "'00000000-dead-beef-0000-000000000000' not found" in r.stderr
    assert "auth_type=azure-cli" in r.stderr
    assert len([x for x in az.requests() if x["path"].startswith("/api/")]) == n


def test_not_logged_in(az, tmp_path):
    """Asked for: the CLI's own reason, exit 77, nothing sent to the
    workspace. Not asked for: the next method is tried, as the SDK does,
    and with none left the usual error."""
    n = len(az.requests())
    r = put(cli_env(az, tmp_path, login=False, DATABRICKS_AUTH_TYPE="azure-cli"), tmp_path)
    assert r.returncode == 77
    assert "azure-cli: cannot get access token: ERROR: Please run 'az login' to setup " \
           "account." in r.stderr
    r = put(cli_env(az, tmp_path, login=False, DATABRICKS_AZURE_RESOURCE_ID=RESOURCE),
            tmp_path)
    assert r.returncode == 77
    assert "default auth: cannot configure default credentials" in r.stderr
    # only the tenant was looked up, as the SDK looks it up
    assert {x["path"] for x in az.requests()[n:]} == {"/aad/auth"}


def test_no_az_on_path(az, tmp_path):
    env = cli_env(az, tmp_path, path=False, DATABRICKS_AUTH_TYPE="azure-cli")
    env["PATH"] = "/usr/bin:/bin"
    n = len(az.requests())
    r = put(env, tmp_path)
    assert r.returncode == 77
    assert "azure-cli: no az on PATH: install the Azure CLI and run `az login`" in r.stderr
    assert len(az.requests()) == n


def test_tried_only_where_the_sdk_tries_it(az, tmp_path):
    """A service principal's secret comes before the CLI in the default
    chain, and a workspace not on Azure never asks the CLI."""
    env = cli_env(az, tmp_path, DATABRICKS_AZURE_RESOURCE_ID=RESOURCE, ARM_CLIENT_ID=APP,
                  ARM_CLIENT_SECRET=SECRET, ARM_TENANT_ID=TENANT,
                  AZURE_AUTHORITY_HOST=az.url + "/entra")
    r = put(env, tmp_path, "--verbose")
    assert r.returncode == 0, r.stderr
    assert "auth/azure-client-secret" in r.stderr
    assert az_calls(tmp_path) == []
    r = put(cli_env(az, tmp_path), tmp_path)
    assert r.returncode == 77 and az_calls(tmp_path) == []


def test_refreshed_during_a_long_wait(az, tmp_path):
    """The CLI's tokens live 4 s here: a run that lasts until then asks the
    CLI again while mlflow-submit waits, and the run is recorded under the
    principal."""
    def asks():
        return [c for c in az_calls(tmp_path) if c[1] == "get-access-token"]
    r, user = submit_long_run(az, cli_env(az, tmp_path, DATABRICKS_AUTH_TYPE="azure-cli"),
                              tmp_path, "/Shared/azure-cli",
                              lambda: sum(c[3] == MGMT for c in asks()), 2)
    assert r.returncode == 0, r.stderr
    assert sum(c[3] == DATABRICKS_APP for c in asks()) >= 2
    assert sum(c[3] == MGMT for c in asks()) >= 2
    assert user == APP
    assert SECRET not in r.stdout + r.stderr


def test_readme_azure_cli_recipe(az, tmp_path):
    """The README's AzureCLI task, its inline script run as written after
    the task's login: `make train` ends green on the CLI's tokens."""
    env = cli_env(az, tmp_path)
    run_recipe(az, tmp_path, "ci-azure-cli", {"DATABRICKS_HOST": az.url},
               {k: env[k] for k in ("PATH", "AZ_TEST_LOGIN", "AZ_TEST_LOG")})
    assert [c[3] for c in az_calls(tmp_path) if c[1] == "get-access-token"][:2] == [
        DATABRICKS_APP, MGMT]
