"""Workload identity federation, the way CI authenticates without a stored
secret: env-oidc, file-oidc and github-oidc against workspace-emu's token
exchange, which checks the ID token's signature, issuer, subject, audience
and expiry against a federation policy; github-oidc-azure, the same ID
token as a client assertion at the emulator's Entra ID, for an application
whose federated identity credential trusts the job; the GitHub Actions
ID-token URL is the emulator's stand-in. The official SDK goes the same
way, and the secrets used appear in no output."""

import json
import os
import subprocess
import textwrap

import pytest
import requests

from dbmlops_testenv import BIN, Emu, submit_long_run

PUT = os.path.join(BIN, "dbfs-put")
SP = "7b1c8a52-1f0e-4c7b-9d0e-5a1c2b3d4e5f"          # the service principal
SUBJECT = "repo:team/ml:pull_request"
REQUEST_TOKEN = "gh-request-token-not-to-be-printed"
TENANT = "5f0b6c1d-2e3a-4b5c-8d9e-0a1b2c3d4e5f"
AZ_APP = "0c7d9e2f-3a4b-4c5d-9e6f-7a8b9c0d1e2f"     # Entra ID app, federated only
AZ_OTHER = "1d8e0f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a"   # an app with no credential for it


@pytest.fixture(scope="module")
def fed(mlflow_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("oidc")
    (d / "policies").write_text(
        "# client_id issuer subject [audience]\n%s emu %s\n"
        "%s emu %s api://AzureADTokenExchange\n" % (SP, SUBJECT, AZ_APP, SUBJECT))
    (d / "ghtoken").write_text(REQUEST_TOKEN + "\n")
    (d / "entra").write_text("%s %s -\n%s %s -\n" % (TENANT, AZ_APP, TENANT, AZ_OTHER))
    e = Emu(mlflow_url=mlflow_server.url, extra=[
        "--federation-file", str(d / "policies"), "--entra-file", str(d / "entra"),
        "--github-oidc-token-file", str(d / "ghtoken"),
        "--github-oidc-subject", SUBJECT, "--token-ttl", "4"]).start()
    yield e
    e.cleanup()


def mint(emu, audience=None, lifetime=None):
    """An ID token from the GitHub stand-in, as a job would get one."""
    params = {"api-version": "2.0", "audience": audience or emu.url + "/oidc/v1/token"}
    if lifetime is not None:
        params["lifetime"] = str(lifetime)
    r = requests.get(emu.url + "/github-oidc/token", params=params, timeout=30,
                     headers={"Authorization": "Bearer " + REQUEST_TOKEN})
    r.raise_for_status()
    return r.json()["value"]


def env_for(emu, tmp_path, **kw):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABRICKS_", "ACTIONS_", "ARM_"))}
    env.update(DATABRICKS_HOST=emu.url, HOME=str(tmp_path),
               DATABRICKS_CONFIG_FILE=str(tmp_path / "none"))
    # these tests upload to the DBFS root, which only an older workspace has
    if emu.workspace == "legacy":
        env["DBMLOPS_WORKSPACE"] = "legacy"
    env.update(kw)
    return env


def put(env, tmp_path, name="w.whl"):
    f = tmp_path / name
    f.write_bytes(b"wheel bytes")
    return subprocess.run([PUT, "-f", str(f), "dbfs:/oidc/"], env=env, capture_output=True,
                          text=True, timeout=120)


def exchanges(emu):
    return [x for x in emu.requests() if x["path"] == "/oidc/v1/token"]


def test_github_oidc(fed, tmp_path):
    env = env_for(fed, tmp_path, DATABRICKS_CLIENT_ID=SP,
                  ACTIONS_ID_TOKEN_REQUEST_URL=fed.url + "/github-oidc/token?api-version=2.0",
                  ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN)
    n = len(exchanges(fed))
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(exchanges(fed)) > n
    assert REQUEST_TOKEN not in r.stdout + r.stderr


def test_env_and_file_oidc(fed, tmp_path):
    jwt = mint(fed)
    r = put(env_for(fed, tmp_path, DATABRICKS_OIDC_TOKEN=jwt, DATABRICKS_CLIENT_ID=SP),
            tmp_path)
    assert r.returncode == 0, r.stderr
    # a variable of one's choosing, and an explicit auth type
    r = put(env_for(fed, tmp_path, MY_ID_TOKEN=jwt, DATABRICKS_OIDC_TOKEN_ENV="MY_ID_TOKEN",
                    DATABRICKS_AUTH_TYPE="env-oidc", DATABRICKS_CLIENT_ID=SP), tmp_path)
    assert r.returncode == 0, r.stderr
    (tmp_path / "id.jwt").write_text(jwt + "\n")
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(textwrap.dedent("""\
        [DEFAULT]
        host = %s
        client_id = %s
        oidc_token_filepath = %s
        auth_type = file-oidc
        """ % (fed.url, SP, tmp_path / "id.jwt")))
    env = env_for(fed, tmp_path, DATABRICKS_CONFIG_FILE=str(cfg))
    del env["DATABRICKS_HOST"]
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert jwt not in r.stdout + r.stderr
    # without auth_type, client_id and oidc_token_filepath are two methods
    # to the SDKs (oauth and file-oidc): the same error here
    cfg.write_text(cfg.read_text().replace("auth_type = file-oidc\n", ""))
    r = put(env, tmp_path)
    assert r.returncode == 77
    assert "more than one authorization method configured: file-oidc and oauth" in r.stderr


@pytest.mark.parametrize("case,needle", [
    ("expired", "the subject token has expired"),
    ("audience", "audience is not one the federation policy allows"),
    ("signature", "signature does not verify"),
    ("client", "no federation policy trusts"),
])
def test_refused_tokens(fed, tmp_path, case, needle):
    jwt = mint(fed, lifetime=-60 if case == "expired" else None,
               audience="https://elsewhere.example" if case == "audience" else None)
    if case == "signature":
        head, body, sig = jwt.split(".")
        claims = json.loads(__import__("base64").urlsafe_b64decode(body + "=="))
        claims["sub"] = SUBJECT
        claims["exp"] += 3600          # a longer life, same signature
        import base64
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        jwt = ".".join([head, body, sig])
    client = "someone-else" if case == "client" else SP
    r = put(env_for(fed, tmp_path, DATABRICKS_OIDC_TOKEN=jwt, DATABRICKS_CLIENT_ID=client),
            tmp_path)
    assert r.returncode == 77, r.stderr
    assert needle in r.stderr
    assert "auth env-oidc" in r.stderr and jwt not in r.stderr


def test_sdk_takes_the_same_way(fed, tmp_path):
    """databricks-sdk with env-oidc against the same endpoint: the emulator
    answers the official client too."""
    import sys
    env = env_for(fed, tmp_path, DATABRICKS_OIDC_TOKEN=mint(fed), DATABRICKS_CLIENT_ID=SP,
                  DATABRICKS_AUTH_TYPE="env-oidc")
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        from databricks.sdk import WorkspaceClient
        w = WorkspaceClient()
        print(w.current_user.me().user_name)
        """)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == SP


def test_token_refreshed_during_a_long_wait(fed, tmp_path):
    """Tokens live 4 s here: a run that lasts longer refreshes its token
    while it waits (each refresh a new exchange), and ends green; the run
    is recorded under the service principal."""
    env = env_for(fed, tmp_path, DATABRICKS_CLIENT_ID=SP,
                  ACTIONS_ID_TOKEN_REQUEST_URL=fed.url + "/github-oidc/token?api-version=2.0",
                  ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN)
    n = len(exchanges(fed))
    r, user = submit_long_run(fed, env, tmp_path, "/Shared/oidc",
                              lambda: len(exchanges(fed)), 2)
    assert r.returncode == 0, r.stderr
    assert len(exchanges(fed)) - n >= 2         # the first, and a refresh
    assert user == SP
    assert REQUEST_TOKEN not in r.stdout + r.stderr


def test_readme_github_actions_recipe(fed, tmp_path):
    """The README's GitHub Actions OIDC block: its permissions and
    variables, with the values a job has, authenticate."""
    import yaml
    from test_readme import block
    (text,) = block("ci-github-oidc")
    doc = yaml.safe_load(text)
    assert doc["permissions"]["id-token"] == "write"
    values = {"DATABRICKS_HOST": fed.url, "DATABRICKS_CLIENT_ID": SP}
    env = env_for(fed, tmp_path, ACTIONS_ID_TOKEN_REQUEST_URL=fed.url +
                  "/github-oidc/token?api-version=2.0",
                  ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN)
    for k in doc["env"]:
        env[k] = values[k]
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr


def azure_env(emu, tmp_path, **kw):
    """A GitHub Actions job with id-token: write, ARM_CLIENT_ID naming the
    Entra ID application (no secret anywhere)."""
    kw.setdefault("ARM_CLIENT_ID", AZ_APP)
    return env_for(emu, tmp_path, AZURE_AUTHORITY_HOST=emu.url + "/entra",
                   ACTIONS_ID_TOKEN_REQUEST_URL=emu.url + "/github-oidc/token?api-version=2.0",
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN, **kw)


def entra_calls(emu):
    return [x for x in emu.requests() if x["path"].startswith("/entra/")]


def test_github_oidc_azure(fed, tmp_path):
    """The job's ID token (audience api://AzureADTokenExchange) is the
    client assertion for one Entra ID token, the tenant found from the
    workspace; no management token (the SDKs send none without a
    secret); no token exchange at the workspace."""
    n, x = len(fed.requests()), len(exchanges(fed))
    f = tmp_path / "w.whl"
    f.write_bytes(b"wheel")
    r = subprocess.run([PUT, "--verbose", "-f", str(f), "dbfs:/oidc-azure/"],
                       env=azure_env(fed, tmp_path), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "auth/github-oidc-azure" in r.stderr                  # the User-Agent
    assert "X-Databricks-Azure-SP-Management-Token" not in r.stderr
    paths = [q["path"] for q in fed.requests()[n:]]
    assert paths[:3] == ["/aad/auth", "/github-oidc/token", "/entra/%s/oauth2/token" % TENANT]
    assert len(exchanges(fed)) == x
    assert REQUEST_TOKEN not in r.stdout + r.stderr


@pytest.mark.parametrize("change,status,code", [
    ("", 200, None),
    ("other-app", 400, 70021),       # no federated credential of that app trusts it
    ("audience", 400, 70021),        # minted for the workspace, not for Entra ID
    ("expired", 400, 700024),
    ("signature", 401, 700027),
    ("garbage", 400, 50027),
    ("no-type", 400, 90014),
    ("secret", 401, 7000215),        # a federated-only app has no secret
])
def test_entra_client_assertions(fed, change, status, code):
    # an expired token is minted expired (a minute ago), not waited for
    tok = mint(fed, audience="api://AzureADTokenExchange",
               lifetime=-60 if change == "expired" else None)
    form = {"grant_type": "client_credentials", "client_id": AZ_APP,
            "resource": "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": tok}
    if change == "other-app":
        form["client_id"] = AZ_OTHER
    elif change == "audience":
        form["client_assertion"] = mint(fed)
    elif change == "signature":
        h, p, sig = tok.split(".")
        form["client_assertion"] = "%s.%s.%s" % (h, p, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA"
                                                                  else "BBBB"))
    elif change == "garbage":
        form["client_assertion"] = "not-a-jwt"
    elif change == "no-type":
        del form["client_assertion_type"]
    elif change == "secret":
        del form["client_assertion_type"], form["client_assertion"]
        form["client_secret"] = "-"
    r = requests.post(fed.url + "/entra/%s/oauth2/token" % TENANT, data=form, timeout=30)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error_codes"] == [code]
        assert r.json()["error_description"].startswith("AADSTS%d: " % code)
    if change == "other-app":
        assert ("Assertion Issuer: '%s/github-oidc'. Assertion Subject: '%s'. Assertion "
                "Audience: 'api://AzureADTokenExchange'." % (fed.url, SUBJECT)
                in r.json()["error_description"])
    if change == "":
        h = {"Authorization": "Bearer " + r.json()["access_token"]}
        me = requests.get(fed.url + "/api/2.0/preview/scim/v2/Me", headers=h, timeout=30)
        assert me.status_code == 200 and me.json()["userName"] == AZ_APP


def test_github_oidc_azure_refusals(fed, tmp_path):
    """Entra ID's reason is quoted with the auth type (exit 77); asked for
    outside a job allowed ID tokens, the missing settings are named."""
    r = put(azure_env(fed, tmp_path, ARM_CLIENT_ID=AZ_OTHER, ARM_TENANT_ID=TENANT), tmp_path)
    assert r.returncode == 77
    assert "AADSTS70021: No matching federated identity record found" in r.stderr
    assert "[auth github-oidc-azure." in r.stderr
    env = env_for(fed, tmp_path, ARM_CLIENT_ID=AZ_APP, DATABRICKS_AUTH_TYPE="github-oidc-azure")
    r = put(env, tmp_path)
    assert r.returncode == 77
    assert "auth_type github-oidc-azure: its settings are missing (ARM_CLIENT_ID, and " \
           "ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN" in r.stderr


def test_github_oidc_azure_refreshed_during_a_long_wait(fed, tmp_path):
    """Entra ID tokens live 4 s here: a refresh asks GitHub for a new ID
    token and Entra ID for a new access token while mlflow-submit waits
    (the job runs until it has)."""
    n = len(entra_calls(fed))
    r, user = submit_long_run(fed, azure_env(fed, tmp_path, ARM_TENANT_ID=TENANT), tmp_path,
                              "/Shared/oidc-azure", lambda: len(entra_calls(fed)), 2)
    assert r.returncode == 0, r.stderr
    assert len(entra_calls(fed)) - n >= 2
    assert user == AZ_APP


def test_readme_github_actions_azure_recipe(fed, tmp_path):
    """The README's GitHub Actions block for an Entra ID application: its
    permissions and variables, with the values a job has, authenticate."""
    import yaml
    from test_readme import block
    (text,) = block("ci-github-oidc-azure")
    doc = yaml.safe_load(text)
    assert doc["permissions"]["id-token"] == "write"
    values = {"DATABRICKS_HOST": fed.url, "ARM_TENANT_ID": TENANT, "ARM_CLIENT_ID": AZ_APP}
    env = env_for(fed, tmp_path, AZURE_AUTHORITY_HOST=fed.url + "/entra",
                  ACTIONS_ID_TOKEN_REQUEST_URL=fed.url + "/github-oidc/token?api-version=2.0",
                  ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN)
    for k in doc["env"]:
        env[k] = values[k]
    r = put(env, tmp_path)
    assert r.returncode == 0, r.stderr
