"""Local-only fixes to moto 5.2.5's API Gateway, so that a real ``chalice deploy`` can be rehearsed in moto.

Chalice creates its REST API from a Swagger 2.0 document (ImportRestApi) and updates it with
``PutRestApi mode=overwrite``. moto 5.2.5 (moto/apigateway/models.py) gets that wrong in several ways, each
fixed here and named where it is fixed:

- D1 ``import_rest_api`` reads ``info["description"]``: a document without one raises KeyError (a 500).
- D2 ``put_rest_api`` (which the import calls) rejects every document with a ``swagger`` key
  (InvalidOpenApiDocVersionException), although API Gateway imports Swagger 2.0.
- D3 ``put_rest_api`` ignores ``securityDefinitions`` and each method's ``security``: no authorizer is created
  and every method has no authorizationType (API Gateway: TOKEN/REQUEST/COGNITO_USER_POOLS authorizers, and
  CUSTOM, COGNITO_USER_POOLS, AWS_IAM or NONE on each method, apiKeyRequired for an API key).
- D4 it ignores ``x-amazon-apigateway-binary-media-types`` and ``x-amazon-apigateway-policy``.
- D5 merge mode adds a second resource for a path that already exists; overwrite mode drops every resource,
  root included, but leaves ``rootResourceId`` pointing at the dropped root. API Gateway keeps a resource
  (and its id) whose path is still in the document, and overwrite removes those that are not.
- D6 the integration's ``type`` and ``passthroughBehavior`` are stored as written (``aws_proxy``,
  ``when_no_match``); API Gateway holds them upper case (AWS_PROXY, WHEN_NO_MATCH), and moto's own
  checks of AWS_PROXY URIs are skipped for the lower-case spelling. A ``mock`` integration without ``uri``
  (Chalice's CORS preflight) raises TypeError.
- D7 method ``parameters`` are not turned into ``requestParameters``, nor response ``headers`` and
  ``schema`` into a method response's ``responseParameters`` and ``responseModels``.

One Lambda defect stops ``chalice deploy`` too, from the second deploy on:

- L1 moto 5.2.5 does not implement GetLayerVersionByArn (NotImplementedError, a 500).

Only Swagger 2.0 documents take the new path; an OpenAPI 3 document still goes through moto's own code
(with D1 fixed). ``tests/integration/test_moto_apigateway.py`` shows each defect on stock moto and checks the
import of the Swagger document Chalice generates for this app.

Not fixed, because Chalice neither reads nor depends on them: CreateDeployment ignores ``tracingEnabled`` and
replaces the stage (losing its settings) instead of pointing it at the new deployment; UpdateRestApi ignores
``/minimumCompressionSize``; ImportRestApi ignores ``endpointConfigurationTypes`` (the default, EDGE, is
Chalice's); DeleteRestApi of an unknown id is a 500 (KeyError), not NotFoundException; several status codes
differ from the API's (ImportRestApi 200 for 201, AddPermission 200 for 201, CreateEventSourceMapping 201 for
202, DeleteLayerVersion 200 for 204, DeleteRestApi 200 for 202).

``python -m devstack.moto_apigateway --port N`` runs a moto server with the fixes installed until Ctrl-C or
SIGTERM, and prints its port on the first line (``--port 0``, the default, picks a free one).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from typing import TYPE_CHECKING, Any

from moto.apigateway import exceptions as apigw_errors
from moto.apigateway import models as apigw

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

_installed = False
_originals: dict[str, Any] = {}

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
_ANY_METHOD = "x-amazon-apigateway-any-method"
_PARAMETER_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}
_AUTHORIZER = "x-amazon-apigateway-authorizer"
_AUTHTYPE = "x-amazon-apigateway-authtype"
_BINARY_TYPES = "x-amazon-apigateway-binary-media-types"
_POLICY = "x-amazon-apigateway-policy"
_INTEGRATION = "x-amazon-apigateway-integration"
# API Gateway's default authorizerResultTtlInSeconds when the document names none.
_DEFAULT_TTL = 300


def _is_swagger2(api_doc: dict[str, Any]) -> bool:
    return str(api_doc.get("swagger", "")).startswith("2")


def _import_rest_api(self: apigw.APIGatewayBackend, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
    # D1: moto 5.2.5 reads api_doc["info"]["description"]; a document need not have one (Chalice's has none).
    if fail_on_warnings:
        _validate(api_doc)
    info = api_doc["info"]
    api = self.create_rest_api(name=info["title"], description=info.get("description"))
    self.put_rest_api(api.id, api_doc, fail_on_warnings=False)
    return api


def _validate(api_doc: dict[str, Any]) -> None:
    try:
        apigw.validate(api_doc)  # type: ignore[attr-defined]
    except apigw.OpenAPIValidationError as e:  # type: ignore[attr-defined]
        raise apigw_errors.InvalidOpenAPIDocumentException(e) from e


def _put_rest_api(
    self: apigw.APIGatewayBackend,
    function_id: str,
    api_doc: dict[str, Any],
    fail_on_warnings: bool,
    mode: str = "merge",
) -> Any:
    # D2: moto 5.2.5 refuses any document with a "swagger" key; API Gateway imports Swagger 2.0.
    if not _is_swagger2(api_doc):
        return _originals["put_rest_api"][1](self, function_id, api_doc, fail_on_warnings, mode)
    if mode not in ("merge", "overwrite"):
        raise apigw_errors.InvalidOpenApiModeException()
    if fail_on_warnings:
        _validate(api_doc)
    api = self.get_rest_api(function_id)
    _SwaggerImport(self, api, api_doc, overwrite=mode == "overwrite").apply()
    return api


class _SwaggerImport:
    """Makes one REST API hold a Swagger 2.0 document, as API Gateway's import does."""

    def __init__(self, backend: apigw.APIGatewayBackend, api: Any, doc: dict[str, Any], *, overwrite: bool) -> None:
        self.backend = backend
        self.api = api
        self.doc = doc
        self.overwrite = overwrite
        self.definitions: dict[str, Any] = doc.get("securityDefinitions") or {}

    def apply(self) -> None:
        authorizers = self._authorizers()
        self._api_settings()
        kept: set[str] = {self.api.root_resource_id}
        for path in sorted(self.doc.get("paths") or {}):
            item = self.doc["paths"][path]
            resource = self._resource(path, kept)
            methods = {name: op for name, op in ((_method_name(key), op) for key, op in item.items()) if name}
            if self.overwrite:
                for stale in set(resource.resource_methods) - set(methods):
                    resource.delete_method(stale)
            for method_type, op in methods.items():
                self._method(resource, method_type, op, item.get("parameters") or [], authorizers)
        if self.overwrite:
            # D5: the resources of paths no longer in the document go; the root and every kept path stay.
            for resource_id in set(self.api.resources) - kept:
                del self.api.resources[resource_id]
            for resource_id in kept:
                resource = self.api.resources[resource_id]
                if resource.get_path() not in (self.doc.get("paths") or {}):
                    resource.resource_methods.clear()

    def _api_settings(self) -> None:
        # D4: moto 5.2.5 ignores both extensions. Overwrite replaces the list, merge adds to it; a document
        # without the extension leaves it alone (Chalice always sends it).
        if _BINARY_TYPES in self.doc:
            wanted = list(self.doc[_BINARY_TYPES] or [])
            if not self.overwrite:
                wanted = list(dict.fromkeys([*self.api.binaryMediaTypes, *wanted]))
            self.api.binaryMediaTypes = wanted
        if _POLICY in self.doc:
            self.api.policy = json.dumps(self.doc[_POLICY])

    def _authorizers(self) -> dict[str, Any]:
        """D3: create (or, by name, update in place) the authorizer of every security definition that is one."""
        existing = {a.name: a for a in self.api.authorizers.values()}
        result: dict[str, Any] = {}
        for name, definition in self.definitions.items():
            spec = definition.get(_AUTHORIZER)
            if not spec:
                continue
            authorizer = existing.get(name)
            if authorizer is None:
                authorizer = self.backend.create_authorizer(self.api.id, name, spec["type"].upper())
            _fill_authorizer(authorizer, definition, spec)
            result[name] = authorizer
        if self.overwrite:
            for authorizer_id, authorizer in list(self.api.authorizers.items()):
                if authorizer.name not in result:
                    del self.api.authorizers[authorizer_id]
        return result

    def _resource(self, path: str, kept: set[str]) -> Any:
        """The resource at ``path``, with its ancestors, reusing those that exist (D5)."""
        by_path = {r.get_path(): r for r in self.api.resources.values()}
        resource = self.api.resources[self.api.root_resource_id]
        current = ""
        for part in (p for p in path.split("/") if p):
            current += "/" + part
            found = by_path.get(current)
            if found is None:
                found = self.backend.create_resource(self.api.id, resource.id, part)
                by_path[current] = found
            resource = found
            kept.add(resource.id)
        return resource

    def _method(
        self,
        resource: Any,
        method_type: str,
        op: dict[str, Any],
        path_parameters: list[dict[str, Any]],
        authorizers: dict[str, Any],
    ) -> None:
        authorization_type, authorizer_id, scopes, api_key_required = self._security(op, authorizers)
        # D7: parameters become method request parameters (True when required), as API Gateway holds them.
        request_parameters = {
            f"method.request.{_PARAMETER_LOCATIONS[p['in']]}.{p['name']}": bool(p.get("required", False))
            for p in [*path_parameters, *(op.get("parameters") or [])]
            if p.get("in") in _PARAMETER_LOCATIONS
        }
        self.backend.put_method(
            self.api.id,
            resource.id,
            method_type,
            authorization_type,
            api_key_required=api_key_required,
            request_parameters=request_parameters or None,
            operation_name=op.get("operationId"),
            authorizer_id=authorizer_id,
            authorization_scopes=scopes,  # type: ignore[arg-type]
        )
        produces = op.get("produces") or self.doc.get("produces") or ["application/json"]
        for code, response in (op.get("responses") or {}).items():
            ref = (response.get("schema") or {}).get("$ref", "")
            models = {content_type: ref.rsplit("/", 1)[-1] for content_type in produces} if ref else None
            headers = {f"method.response.header.{h}": False for h in response.get("headers") or {}}
            self.backend.put_method_response(self.api.id, resource.id, method_type, str(code), models, headers or None)
        integration = op.get(_INTEGRATION)
        if integration:
            self._integration(resource, method_type, integration)

    def _security(
        self, op: dict[str, Any], authorizers: dict[str, Any]
    ) -> tuple[str, str | None, list[str] | None, bool]:
        # D3: an operation's own "security" wins over the document's; none means NONE, as in API Gateway.
        requirements = op.get("security", self.doc.get("security")) or []
        authorization_type, authorizer_id, scopes, api_key_required = "NONE", None, None, False
        for requirement in requirements:
            for name, requirement_scopes in requirement.items():
                definition = self.definitions.get(name) or {}
                if name in authorizers:
                    authorizer = authorizers[name]
                    authorizer_id = authorizer.id
                    if authorizer.type == "COGNITO_USER_POOLS":
                        authorization_type = "COGNITO_USER_POOLS"
                        scopes = list(requirement_scopes) or None
                    else:
                        authorization_type = "CUSTOM"
                elif str(definition.get(_AUTHTYPE, "")).lower() == "awssigv4":
                    authorization_type = "AWS_IAM"
                elif definition.get("type") == "apiKey":
                    api_key_required = True
        return authorization_type, authorizer_id, scopes, api_key_required

    def _integration(self, resource: Any, method_type: str, integration: dict[str, Any]) -> None:
        args = self.backend._build_integration_args(integration)
        # D6: API Gateway holds the type and passthrough behaviour upper case; moto's checks expect that too.
        args["integration_type"] = str(args["integration_type"] or "").upper()
        if args["passthrough_behavior"]:
            args["passthrough_behavior"] = str(args["passthrough_behavior"]).upper()
        required = {k: args.pop(k) for k in ("integration_type", "uri", "integration_method")}
        self.backend.put_integration(
            self.api.id,
            resource.id,
            method_type,
            **required,
            **{k: v for k, v in args.items() if v is not None},
        )
        stored = resource.get_integration(method_type)
        stored.cache_key_parameters = list(integration.get("cacheKeyParameters") or [])
        for response in self.backend._build_integration_responses_args(integration):
            self.backend.put_integration_response(
                self.api.id,
                resource.id,
                method_type,
                **{k: v for k, v in response.items() if v is not None},
            )


def _method_name(key: str) -> str | None:
    if key == _ANY_METHOD:
        return "ANY"
    return key.upper() if key.lower() in _HTTP_METHODS else None


def _fill_authorizer(authorizer: Any, definition: dict[str, Any], spec: dict[str, Any]) -> None:
    authorizer.type = spec["type"].upper()
    authorizer.auth_type = definition.get(_AUTHTYPE)
    authorizer.authorizer_uri = spec.get("authorizerUri")
    authorizer.authorizer_credentials = spec.get("authorizerCredentials")
    authorizer.provider_arns = spec.get("providerARNs")
    # moto's own CreateAuthorizer drops identityValidationExpression (it passes "identiy_validation_expression"),
    # so every field is set here rather than through it.
    authorizer.identity_validation_expression = spec.get("identityValidationExpression")
    authorizer.authorizer_result_ttl = int(spec.get("authorizerResultTtlInSeconds", _DEFAULT_TTL))
    identity_source = spec.get("identitySource")
    if identity_source is None and definition.get("in") == "header" and authorizer.type != "REQUEST":
        identity_source = f"method.request.header.{definition['name']}"
    authorizer.identity_source = identity_source


def _get_layer_version_by_arn(self: Any) -> str:
    # L1: moto 5.2.5 has no GetLayerVersionByArn response (NotImplementedError, a 500), though its backend can
    # look the version up; Chalice calls it on every deploy after the first, to see if its layer still exists.
    from moto.awslambda.exceptions import UnknownLayerVersionException

    arn = self._get_param("Arn")
    layer_version = self.backend.layers_versions_by_arn(arn)
    if layer_version is None:
        raise UnknownLayerVersionException([arn])
    return json.dumps(layer_version.get_layer_version())


def _patches() -> list[tuple[type, str, Any]]:
    from moto.awslambda.responses import LambdaResponse

    return [
        (apigw.APIGatewayBackend, "import_rest_api", _import_rest_api),
        (apigw.APIGatewayBackend, "put_rest_api", _put_rest_api),
        (LambdaResponse, "get_layer_version_by_arn", _get_layer_version_by_arn),
    ]


_ABSENT = object()


def install() -> None:
    """Patch moto (idempotent)."""
    global _installed
    if _installed:
        return
    for owner, name, replacement in _patches():
        _originals[name] = (owner, owner.__dict__.get(name, _ABSENT))
        setattr(owner, name, replacement)
    _installed = True


def uninstall() -> None:
    """Put moto back as it was (tests that install the patch clean up after themselves)."""
    global _installed
    if not _installed:
        return
    for name, (owner, original) in _originals.items():
        if original is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _originals.clear()
    _installed = False


def run(port: int = 0, host: str = "127.0.0.1") -> ThreadedMotoServer:
    """Start a moto server (a ThreadedMotoServer) in this process with the fixes installed; the caller stops it."""
    import logging

    from moto.server import ThreadedMotoServer

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = run(args.port, args.host)
    print(server.get_host_and_port()[1], flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
