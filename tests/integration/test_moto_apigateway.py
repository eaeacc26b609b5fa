"""The deploy rehearsal's moto fixes (devstack/moto_apigateway.py): each defect shows on stock moto, and with the
fixes the Swagger document Chalice generates for this app imports as API Gateway would hold it."""

from __future__ import annotations

import copy
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from chalice.deploy.swagger import SwaggerGenerator
from moto import mock_aws

import app as chalice_app
from devstack import moto_apigateway

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:event-feedback-dev"
AUTHORIZER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:event-feedback-dev-cognito_jwt"
POOL_ARN = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_pool"


def invocation_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@pytest.fixture(scope="module")
def swagger() -> dict[str, Any]:
    """The document `chalice deploy --stage dev` uploads, from Chalice's own generator and the deployed ARNs."""
    deployed = {
        "api_handler_arn": API_ARN,
        "api_handler_name": "event-feedback-dev",
        "lambda_functions": {"event-feedback-dev-cognito_jwt": {"arn": AUTHORIZER_ARN}},
    }
    return SwaggerGenerator(REGION, deployed).generate_swagger(chalice_app.app)


@pytest.fixture(scope="module")
def features() -> dict[str, Any]:
    """Chalice features this app does not use (yet): a CORS preflight (a MOCK integration without uri), a Cognito
    user pool authorizer with scopes, and an API key."""
    from chalice import Chalice, CognitoUserPoolAuthorizer

    other = Chalice(app_name="other")
    pool = CognitoUserPoolAuthorizer("pool", provider_arns=[POOL_ARN])

    @other.route("/open", methods=["GET"], cors=True, api_key_required=True)
    def open_view() -> dict[str, str]:
        return {}

    @other.route("/scoped", methods=["GET"], authorizer=pool.with_scopes(["read"]))
    def scoped_view() -> dict[str, str]:
        return {}

    return SwaggerGenerator(REGION, {"api_handler_arn": API_ARN}).generate_swagger(other)


@pytest.fixture
def stock() -> Iterator[Any]:
    assert not moto_apigateway._installed, "these tests need moto as shipped"
    with mock_aws():
        yield boto3.client("apigateway", region_name=REGION)


@pytest.fixture
def patched() -> Iterator[Any]:
    moto_apigateway.install()
    try:
        with mock_aws():
            yield boto3.client("apigateway", region_name=REGION)
    finally:
        moto_apigateway.uninstall()


def as_openapi3(swagger: dict[str, Any]) -> dict[str, Any]:
    """The same document under an "openapi" key, which stock moto accepts, so its handling of the rest shows."""
    doc = copy.deepcopy(swagger)
    del doc["swagger"]
    doc["openapi"] = "3.0.1"
    doc["info"]["description"] = "stock moto reads info.description"
    return doc


def resources(client: Any, api_id: str) -> dict[str, dict[str, Any]]:
    items = client.get_resources(restApiId=api_id, embed=["methods"], limit=500)["items"]
    by_path = {r["path"]: r for r in items}
    assert len(by_path) == len(items), "one resource per path"
    return by_path


def methods(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resource.get("resourceMethods", {})


# Stock moto 5.2.5: every defect the fixes name.


def test_stock_import_fails_without_info_description(stock, swagger):
    with pytest.raises(KeyError, match="description"):  # D1: a 500 through the server
        stock.import_rest_api(body=json.dumps(swagger))


def test_stock_refuses_swagger_2(stock, swagger):
    doc = copy.deepcopy(swagger)
    doc["info"]["description"] = "present"
    with pytest.raises(ClientError) as caught:  # D2
        stock.import_rest_api(body=json.dumps(doc))
    assert "OpenAPI" in caught.value.response["Error"]["Message"]


def test_stock_import_drops_authorizers_types_and_parameters(stock, swagger):
    api = stock.import_rest_api(body=json.dumps(as_openapi3(swagger)))
    by_path = resources(stock, api["id"])
    admin = methods(by_path["/admin/events/{event_id}"])["GET"]
    assert stock.get_authorizers(restApiId=api["id"])["items"] == []  # D3
    assert admin.get("authorizationType") is None  # D3: not CUSTOM, not even NONE
    assert api.get("binaryMediaTypes", []) == []  # D4
    assert admin["methodIntegration"]["type"] == "aws_proxy"  # D6: API Gateway says AWS_PROXY
    assert "requestParameters" not in admin  # D7


def test_stock_import_fails_on_a_mock_integration_without_uri(stock, features):
    with pytest.raises(TypeError):  # D6: Chalice's CORS preflight; a 500 through the server
        stock.import_rest_api(body=json.dumps(as_openapi3(features)))


def test_stock_put_rest_api_duplicates_on_merge_and_loses_the_root_on_overwrite(stock, swagger):
    doc = as_openapi3(swagger)
    api = stock.import_rest_api(body=json.dumps(doc))
    stock.put_rest_api(restApiId=api["id"], mode="merge", body=json.dumps(doc))
    items = stock.get_resources(restApiId=api["id"], limit=500)["items"]
    assert len(items) > len({r["path"] for r in items})  # D5: a second resource per path
    stock.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(doc))
    root_id = stock.get_rest_api(restApiId=api["id"])["rootResourceId"]
    assert root_id not in {r["id"] for r in stock.get_resources(restApiId=api["id"], limit=500)["items"]}  # D5


def test_stock_lambda_has_no_get_layer_version_by_arn():
    with mock_aws():
        client = boto3.client("lambda", region_name=REGION)
        with pytest.raises(NotImplementedError):  # L1: a 500 through the server, on every second deploy
            client.get_layer_version_by_arn(Arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:x:1")


# With the fixes.


def test_every_route_and_method_imports_with_its_lambda_integration(patched, swagger):
    api = patched.import_rest_api(body=json.dumps(swagger), parameters={"endpointConfigurationTypes": "EDGE"})
    assert api["name"] == "event-feedback"
    by_path = resources(patched, api["id"])
    for path, views in chalice_app.app.routes.items():
        assert set(methods(by_path[path])) == set(views), path
        for method_type, method in methods(by_path[path]).items():
            integration = method["methodIntegration"]
            assert integration["type"] == "AWS_PROXY", (path, method_type)
            assert integration["httpMethod"] == "POST"
            assert integration["uri"] == invocation_uri(API_ARN)
            for arg in views[method_type].view_args:
                assert method["requestParameters"][f"method.request.path.{arg}"] is True
    assert set(patched.get_rest_api(restApiId=api["id"])["binaryMediaTypes"]) == set(chalice_app.app.api.binary_types)


def test_admin_routes_use_the_cognito_jwt_authorizer_and_the_others_none(patched, swagger):
    api = patched.import_rest_api(body=json.dumps(swagger))
    [authorizer] = patched.get_authorizers(restApiId=api["id"])["items"]
    assert authorizer["name"] == "cognito_jwt"
    assert authorizer["type"] == "TOKEN"
    assert authorizer["authorizerUri"] == invocation_uri(AUTHORIZER_ARN)
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 0  # no cached verdict outlives a sign-out
    public = ("/s/", "/u/", "/r/", "/o/", "/health", "/dashboard")
    seen = {"admin": 0, "public": 0}
    for path, resource in resources(patched, api["id"]).items():
        for method_type, method in methods(resource).items():
            if path.startswith("/admin"):
                assert method["authorizationType"] == "CUSTOM", (path, method_type)
                assert method["authorizerId"] == authorizer["id"]
                seen["admin"] += 1
            else:
                assert path.startswith(public), path
                assert method["authorizationType"] == "NONE", (path, method_type)
                assert "authorizerId" not in method
                seen["public"] += 1
    assert seen["admin"] >= 20 and seen["public"] >= 20


def test_overwrite_removes_a_dropped_route_adds_a_new_one_and_keeps_one_authorizer(patched, swagger):
    api = patched.import_rest_api(body=json.dumps(swagger))
    before = resources(patched, api["id"])
    [authorizer] = patched.get_authorizers(restApiId=api["id"])["items"]
    update = copy.deepcopy(swagger)
    del update["paths"]["/admin/programme"]
    del update["paths"]["/health"]
    update["paths"]["/admin/added/{thing}"] = copy.deepcopy(swagger["paths"]["/admin/events/{event_id}"])

    patched.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(update))

    after = resources(patched, api["id"])
    assert "/admin/programme" not in after and "/health" not in after
    assert set(methods(after["/admin/added/{thing}"])) == {"GET", "PUT"}
    assert after["/admin/events"]["id"] == before["/admin/events"]["id"]  # kept paths keep their ids
    assert patched.get_rest_api(restApiId=api["id"])["rootResourceId"] == before["/"]["id"]
    assert patched.get_authorizers(restApiId=api["id"])["items"] == [authorizer]
    assert methods(after["/admin/added/{thing}"])["GET"]["authorizerId"] == authorizer["id"]


def test_cors_preflight_cognito_pools_and_api_keys_import_as_api_gateway_holds_them(patched, features):
    api = patched.import_rest_api(body=json.dumps(features))
    by_path = resources(patched, api["id"])
    preflight = methods(by_path["/open"])["OPTIONS"]
    assert preflight["methodIntegration"]["type"] == "MOCK"
    allow_origin = "method.response.header.Access-Control-Allow-Origin"
    assert allow_origin in preflight["methodResponses"]["200"]["responseParameters"]
    assert methods(by_path["/open"])["GET"]["apiKeyRequired"] is True
    [authorizer] = patched.get_authorizers(restApiId=api["id"])["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [POOL_ARN]
    scoped = methods(by_path["/scoped"])["GET"]
    assert (scoped["authorizationType"], scoped["authorizerId"], scoped["authorizationScopes"]) == (
        "COGNITO_USER_POOLS",
        authorizer["id"],
        ["read"],
    )


def test_merge_leaves_one_resource_per_path(patched, swagger):
    api = patched.import_rest_api(body=json.dumps(swagger))
    patched.put_rest_api(restApiId=api["id"], mode="merge", body=json.dumps(swagger))
    assert set(resources(patched, api["id"])) == {"/", *swagger["paths"], *ancestors(swagger["paths"])}
    assert len(patched.get_authorizers(restApiId=api["id"])["items"]) == 1


def ancestors(paths: dict[str, Any]) -> set[str]:
    out = set()
    for path in paths:
        parts = path.strip("/").split("/")
        out |= {"/" + "/".join(parts[:i]) for i in range(1, len(parts))}
    return out


def test_get_layer_version_by_arn_finds_a_published_version(patched):
    client = boto3.client("lambda", region_name=REGION)
    published = client.publish_layer_version(LayerName="layer", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    found = client.get_layer_version_by_arn(Arn=published["LayerVersionArn"])
    assert found["Version"] == published["Version"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_layer_version_by_arn(Arn=published["LayerVersionArn"][:-1] + "9")


def test_uninstall_puts_moto_back(swagger):
    moto_apigateway.install()
    moto_apigateway.install()  # idempotent
    moto_apigateway.uninstall()
    from moto.awslambda.responses import LambdaResponse

    assert not hasattr(LambdaResponse, "get_layer_version_by_arn")
    with mock_aws(), pytest.raises(KeyError):
        boto3.client("apigateway", region_name=REGION).import_rest_api(body=json.dumps(swagger))


def test_the_module_serves_patched_moto_until_sigterm(swagger):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    server = subprocess.Popen(  # our interpreter, our module
        [sys.executable, "-m", "devstack.moto_apigateway", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "the server printed no port within 60 s"
        port = int(server.stdout.readline())
        client = boto3.client("apigateway", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}")
        api = client.import_rest_api(body=json.dumps(swagger))
        assert len(client.get_authorizers(restApiId=api["id"])["items"]) == 1
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
