"""Authentication as enterprise CI and laptops run it, against
workspace-emu: an Entra ID service principal with a secret
(azure-client-secret: ARM_* variables or azure_* profile keys, the tenant
given or found from the workspace, Entra ID's errors), Azure DevOps OIDC
(the job's ID token exchanged at the workspace), and the Databricks CLI's
login cache (databricks-cli, refreshed with its refresh token and written
back). Tokens live 4 s here, so a long wait refreshes them; no secret used
appears in any output or log."""

import json
import os
import stat
import subprocess
import textwrap

import pytest
import requests

from dbmlops_testenv import BIN, Emu, submit_long_run

PUT = os.path.join(BIN, "dbfs-put")
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "9a1f3c7e-55b2-4e0d-8a64-0c2b7d9e1f30"          # the Entra ID application
SECRET = "entra-secret-value-never-printed~.Q8"
ADO_SP = "3d5e7f90-aaaa-4bbb-8ccc-0d1e2f3a4b5c"
ADO_TOKEN = "ado-system-access-token-never-printed"
ADO_SUBJECT = "sc://contoso/ml/databricks-prod"
REFRESH = "dbcli-refresh-token-never-printed"
SECRETS = (SECRET, ADO_TOKEN, REFRESH)


@pytest.fixture(scope="module")
def az(mlflow_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("azure")
    (d / "entra").write_text("# tenant client_id secret\n%s %s %s\n%s other-app x\n"
                             % (TENANT, APP, SECRET, TENANT))
    (d / "refresh").write_text(REFRESH + "\n")
    (d / "ado").write_text(ADO_TOKEN + "\n")
    (d / "policies").write_text("%s emu-ado %s api://AzureADTokenExchange\n"
                                % (ADO_SP, ADO_SUBJECT))
    e = Emu(mlflow_url=mlflow_server.url, extra=[
        "--entra-file", str(d / "entra"), "--refresh-token-file", str(d / "refresh"),
        "--azure-devops-token-file", str(d / "ado"), "--azure-devops-subject", ADO_SUBJECT,
        "--federation-file", str(d / "policies"), "--token-ttl", "4"]).start()
    yield e
    for s in SECRETS:
        assert s not in open(e.logpath).read()
        assert s not in open(os.path.join(e.dir, "stderr"), errors="replace").read()
    e.cleanup()


def env_for(emu, tmp_path, **kw):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABRICKS_", "ACTIONS_", "ARM_", "SYSTEM_", "AZURE_"))}
    env.update(DATABRICKS_HOST=emu.url, HOME=str(tmp_path),
               DATABRICKS_CONFIG_FILE=str(tmp_path / "none"))
    # these tests upload to the DBFS root, which only an older workspace has
    if emu.workspace == "legacy":
        env["DBMLOPS_WORKSPACE"] = "legacy"
    env.update(kw)
    return env


def azure_env(emu, tmp_path, **kw):
    return env_for(emu, tmp_path, ARM_CLIENT_ID=APP, ARM_CLIENT_SECRET=SECRET,
                   AZURE_AUTHORITY_HOST=emu.url + "/entra", **kw)


def put(env, tmp_path, *flags):
    f = tmp_path / "w.whl"
    f.write_bytes(b"wheel bytes")
    r = subprocess.run([PUT, *flags, "-f", str(f), "dbfs:/azure/"], env=env,
                       capture_output=True, text=True, timeout=120)
    for s in SECRETS:
        assert s not in r.stdout + r.stderr
    return r


def entra_calls(emu):
    return [x for x in emu.requests() if x["path"].startswith("/entra/")]


def test_client_secret_from_variables(az, tmp_path):
    n = len(entra_calls(az))
    r = put(azure_env(az, tmp_path, ARM_TENANT_ID=TENANT), tmp_path, "--verbose")
    assert r.returncode == 0, r.stderr
    calls = entra_calls(az)[n:]
    # two tokens: Azure Databricks and the management endpoint
    assert [c["path"] for c in calls] == ["/entra/%s/oauth2/token" % TENANT] * 2
    # sent as the SDKs send them, the management token redacted in traces
    assert "X-Databricks-Azure-SP-Management-Token: [redacted]" in r.stderr
    assert "auth/azure-client-secret" in r.stderr            # the User-Agent


def test_tenant_found_from_the_workspace(az, tmp_path):
    n = len(az.requests())
    r = put(azure_env(az, tmp_path), tmp_path)
    assert r.returncode == 0, r.stderr
    paths = [x["path"] for x in az.requests()[n:]]
    assert paths[0] == "/aad/auth"
    assert "/entra/%s/oauth2/token" % TENANT in paths


def test_client_secret_from_a_profile(az, tmp_path):
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(textwrap.dedent("""\
        [azure-ci]
        host = %s
        azure_client_id = %s
        azure_client_secret = %s
        azure_tenant_id = %s
        azure_workspace_resource_id = /subscriptions/s/resourceGroups/g/providers/Microsoft.Databricks/workspaces/w
        """ % (az.url, APP, SECRET, TENANT)))
    env = env_for(az, tmp_path, DATABRICKS_CONFIG_FILE=str(cfg),
                  DATABRICKS_CONFIG_PROFILE="azure-ci",
                  AZURE_AUTHORITY_HOST=az.url + "/entra")
    del env["DATABRICKS_HOST"]
    r = put(env, tmp_path, "--verbose")
    assert r.returncode == 0, r.stderr
    assert "X-Databricks-Azure-Workspace-Resource-Id: /subscriptions/s/" in r.stderr


@pytest.mark.parametrize("change,needle", [
    ({"ARM_CLIENT_SECRET": "wrong-secret"}, "AADSTS7000215: Invalid client secret"),
    ({"ARM_TENANT_ID": "00000000-0000-0000-0000-000000000000"}, "AADSTS90002: Tenant"),
    ({"ARM_CLIENT_ID": "not-an-app"}, "AADSTS700016: Application with identifier "
                                      "'not-an-app' was not found"),
])
def test_entra_refusals_say_what_and_where(az, tmp_path, change, needle):
    env = azure_env(az, tmp_path, ARM_TENANT_ID=TENANT)
    env.update(change)
    r = put(env, tmp_path)
    assert r.returncode == 77, r.stderr
    assert needle in r.stderr
    assert "auth azure-client-secret" in r.stderr
    assert "ARM_CLIENT_SECRET" in r.stderr and "azure_client_secret=***" in r.stderr
    assert "wrong-secret" not in r.stderr


def test_workspace_checks_the_tokens(az):
    """A management token as the bearer, or another principal's management
    token beside a good one, is refused as the service refuses it."""
    def tok(client, secret, resource):
        r = requests.post(az.url + "/entra/%s/oauth2/token" % TENANT, timeout=30, data={
            "grant_type": "client_credentials", "client_id": client,
            "client_secret": secret, "resource": resource})
        assert r.status_code == 200, r.text
        assert r.json()["expires_in"] == "4"          # v1: a string
        return r.json()["access_token"]
    db = tok(APP, SECRET, "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d")
    mg = tok(APP, SECRET, "https://management.core.windows.net/")
    other = tok("other-app", "x", "https://management.core.windows.net/")
    me_url = az.url + "/api/2.0/preview/scim/v2/Me"
    r = requests.get(me_url, headers={"Authorization": "Bearer " + db,
                                      "X-Databricks-Azure-SP-Management-Token": mg}, timeout=30)
    assert r.status_code == 200 and r.json()["userName"] == APP
    r = requests.get(me_url, headers={"Authorization": "Bearer " + mg}, timeout=30)
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    r = requests.get(me_url, headers={"Authorization": "Bearer " + db,
                                      "X-Databricks-Azure-SP-Management-Token": other},
                     timeout=30)
    assert r.status_code == 403
    bad = requests.post(az.url + "/entra/%s/oauth2/token" % TENANT, timeout=30, data={
        "grant_type": "client_credentials", "client_id": APP, "client_secret": SECRET,
        "resource": "https://graph.microsoft.com/"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_resource"
    assert bad.json()["error_codes"] == [500011]


def test_tokens_refreshed_during_a_long_wait(az, tmp_path):
    """Tokens live 4 s: a run that lasts until then refreshes both Entra ID
    tokens while mlflow-submit waits, and ends green, recorded under the
    principal."""
    n = len(entra_calls(az))
    r, user = submit_long_run(az, azure_env(az, tmp_path, ARM_TENANT_ID=TENANT), tmp_path,
                              "/Shared/azure", lambda: len(entra_calls(az)), 4)
    assert r.returncode == 0, r.stderr
    assert len(entra_calls(az)) - n >= 4          # the pair, then a refresh of it
    assert user == APP
    for s in SECRETS:
        assert s not in r.stdout + r.stderr


def ado_env(emu, tmp_path, **kw):
    """What an Azure DevOps job has (its predefined variables, the access
    token mapped in) and the service principal's application id."""
    env = env_for(emu, tmp_path, DATABRICKS_CLIENT_ID=ADO_SP, SYSTEM_ACCESSTOKEN=ADO_TOKEN,
                  SYSTEM_TEAMFOUNDATIONCOLLECTIONURI=emu.url + "/azure-devops/contoso/",
                  SYSTEM_TEAMPROJECTID="8f4e-ml", SYSTEM_PLANID="plan-1",
                  SYSTEM_JOBID="job-1", SYSTEM_HOSTTYPE="build")
    env.update(kw)
    return env


def test_azure_devops_oidc(az, tmp_path):
    n = len(az.requests())
    r = put(ado_env(az, tmp_path), tmp_path)
    assert r.returncode == 0, r.stderr
    paths = [x["path"] for x in az.requests()[n:]]
    assert ("/azure-devops/contoso/8f4e-ml/_apis/distributedtask/hubs/build/plans/plan-1/"
            "jobs/job-1/oidctoken") in paths
    assert "/oidc/v1/token" in paths


def test_azure_devops_oidc_refusals(az, tmp_path):
    # the access token not mapped into the step: said, with the fix
    env = ado_env(az, tmp_path, DATABRICKS_AUTH_TYPE="azure-devops-oidc")
    del env["SYSTEM_ACCESSTOKEN"]
    r = put(env, tmp_path)
    assert r.returncode == 77
    assert "SYSTEM_ACCESSTOKEN: $(System.AccessToken)" in r.stderr
    # another service principal: no policy trusts the connection for it
    r = put(ado_env(az, tmp_path, DATABRICKS_CLIENT_ID="someone-else"), tmp_path)
    assert r.returncode == 77
    assert "no federation policy trusts" in r.stderr
    assert "auth azure-devops-oidc" in r.stderr


def cli_cache(tmp_path, token, expiry, refresh=REFRESH, host=None):
    d = tmp_path / ".databricks"
    d.mkdir(exist_ok=True, mode=0o700)
    doc = {"version": 1, "tokens": {
        "https://other.cloud.databricks.com": {"access_token": "x", "token_type": "Bearer",
                                               "refresh_token": "y",
                                               "expiry": "2030-01-01T00:00:00Z"},
        host: {"access_token": token, "token_type": "Bearer", "refresh_token": refresh,
               "expiry": expiry}}}
    f = d / "token-cache.json"
    f.write_text(json.dumps(doc, indent=2))
    f.chmod(0o600)
    return f


def test_databricks_cli_login_refreshed_and_written_back(az, tmp_path):
    f = cli_cache(tmp_path, "expired-access", "2025-01-01T00:00:00.123456+01:00",
                  host=az.url)
    n = len(az.requests())
    r = put(env_for(az, tmp_path), tmp_path)
    assert r.returncode == 0, r.stderr
    assert [x["path"] for x in az.requests()[n:]].count("/oidc/v1/token") == 1
    doc = json.loads(f.read_text())
    mine = doc["tokens"][az.url]
    assert mine["access_token"] != "expired-access"
    assert mine["refresh_token"] != REFRESH            # the new one, for the next run
    assert doc["tokens"]["https://other.cloud.databricks.com"]["refresh_token"] == "y"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    # the next run uses the cached token as long as it is valid (4 s here)
    n = len(az.requests())
    r = put(env_for(az, tmp_path), tmp_path)
    assert r.returncode == 0, r.stderr
    assert [x["path"] for x in az.requests()[n:]].count("/oidc/v1/token") <= 1


def test_databricks_cli_refused_refresh(az, tmp_path):
    cli_cache(tmp_path, "expired", "2025-01-01T00:00:00Z", refresh="revoked",
              host=az.url)
    r = put(env_for(az, tmp_path), tmp_path)
    assert r.returncode == 77
    assert "Refresh token is invalid" in r.stderr
    assert "databricks auth login --host " + az.url in r.stderr
    assert "auth databricks-cli" in r.stderr


def test_two_methods_and_explicit_choice(az, tmp_path):
    env = azure_env(az, tmp_path, ARM_TENANT_ID=TENANT, DATABRICKS_TOKEN=Emu.TOKEN)
    r = put(env, tmp_path)
    assert r.returncode == 77
    assert "more than one authorization method configured: azure and pat" in r.stderr
    env["DATABRICKS_AUTH_TYPE"] = "azure-client-secret"
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr


def run_recipe(emu, tmp_path, kind, values, job_env):
    """A README Azure Pipelines step (a script, or a task's inline script)
    run as written: its env mapping filled from the pipeline's values, the
    job's own variables beside it; `make train` of the example project must
    end green."""
    import re
    import shutil
    import sys
    import yaml
    from dbmlops_testenv import TOP
    from test_readme import block
    (text,) = block(kind)
    (step,) = yaml.safe_load(text)
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(TOP, "templates"), repo / "templates",
                    ignore=shutil.ignore_patterns(".dbmlops", "ci"))
    shutil.copytree(os.path.join(TOP, "mk"), repo / "mk")
    env = env_for(emu, tmp_path, DBMLOPS_BIN=BIN + "/", DBMLOPS_PYTHON=sys.executable,
                  DBMLOPS_POLL_MAX="1", DBMLOPS_BRANCH="main", **job_env)
    del env["DATABRICKS_HOST"]
    for k, v in step["env"].items():
        m = re.fullmatch(r"\$\(([\w.]+)\)", v)
        env[k] = values[m.group(1)] if m else v
    script = step["script"] if "script" in step else step["inputs"]["inlineScript"]
    r = subprocess.run(["bash", "-e", "-c", script], cwd=repo / "templates",
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "TERMINATED SUCCESS" in r.stderr
    for s in SECRETS:
        assert s not in r.stdout + r.stderr
    return r


def test_readme_azure_entra_recipe(az, tmp_path):
    run_recipe(az, tmp_path, "ci-azure-entra", {
        "DATABRICKS_HOST": az.url, "ARM_TENANT_ID": TENANT, "ARM_CLIENT_ID": APP,
        "ARM_CLIENT_SECRET": SECRET}, {"AZURE_AUTHORITY_HOST": az.url + "/entra"})


def test_readme_azure_devops_oidc_recipe(az, tmp_path):
    job = {k: v for k, v in ado_env(az, tmp_path).items() if k.startswith("SYSTEM_")}
    del job["SYSTEM_ACCESSTOKEN"]          # only what the step maps in
    run_recipe(az, tmp_path, "ci-azure-devops-oidc", {
        "DATABRICKS_HOST": az.url, "DATABRICKS_SP_APPLICATION_ID": ADO_SP,
        "System.AccessToken": ADO_TOKEN}, job)


def test_databricks_cli_refreshed_during_a_long_wait(az, tmp_path):
    """The CLI's login outlives its 4 s access tokens: a run that lasts
    until then refreshes it while mlflow-submit waits, each new pair
    written back."""
    f = cli_cache(tmp_path, "expired", "2025-01-01T00:00:00Z", host=az.url)

    def tokens():
        return len([x for x in az.requests() if x["path"] == "/oidc/v1/token"])
    n = tokens()
    r, _ = submit_long_run(az, env_for(az, tmp_path), tmp_path, "/Shared/cli", tokens, 2)
    assert r.returncode == 0, r.stderr
    assert tokens() - n >= 2        # the expired login's, then a refresh
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert json.loads(f.read_text())["tokens"][az.url]["refresh_token"] != REFRESH
    for s in SECRETS:
        assert s not in r.stdout + r.stderr


def test_azure_devops_oidc_from_a_profile(az, tmp_path):
    """The service principal and the auth type in a profile; the job's
    variables from Azure DevOps."""
    cfg = tmp_path / "databrickscfg"
    cfg.write_text("[ado]\nhost = %s\nclient_id = %s\nauth_type = azure-devops-oidc\n"
                   % (az.url, ADO_SP))
    env = ado_env(az, tmp_path, DATABRICKS_CONFIG_FILE=str(cfg),
                  DATABRICKS_CONFIG_PROFILE="ado")
    del env["DATABRICKS_HOST"]
    del env["DATABRICKS_CLIENT_ID"]
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr


def test_no_secret_in_any_file_the_tools_write(az, tmp_path):
    """After the uploads above and here, no secret sits in a file the tools
    or the emulator wrote (the CLI's own cache aside, which holds tokens by
    design): the emulator's data directory, its log, the working folder."""
    r = put(azure_env(az, tmp_path, ARM_TENANT_ID=TENANT), tmp_path, "--verbose")
    assert r.returncode == 0, r.stderr
    for root in (az.dir, str(tmp_path)):
        for d, _, files in os.walk(root):
            if ".databricks" in d:
                continue
            for name in files:
                try:
                    data = open(os.path.join(d, name), "rb").read()
                except OSError:
                    continue
                for s in SECRETS:
                    assert s.encode() not in data, os.path.join(d, name)
