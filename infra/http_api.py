"""Chalice's API served by an API Gateway HTTP API (payload format 1.0) instead of a REST API.

`chalice package` writes a REST API (`AWS::Serverless::Api`, a Swagger body whose every operation is an
`aws_proxy` integration of the one API handler). `as_http_api` rewrites that part of its sam.json into an
`AWS::Serverless::HttpApi` with the same routes, each a Lambda proxy integration with payload format 1.0.

Why: an HTTP API request costs $1.00 per million against a REST API's $3.50 (bench/prices.py), the largest
line of a journey's cost after DynamoDB writes, and it adds less latency. Payload format 1.0 carries what
Chalice's app reads from a REST event: `requestContext.resourcePath` (the route it dispatches on),
`httpMethod`, `headers`/`multiValueHeaders`, the query strings, `pathParameters`, `body` with
`isBase64Encoded`; and it reads Chalice's answer the same way (`statusCode`, `multiValueHeaders`, `body`,
`isBase64Encoded`). Nothing Chairside uses is REST-only: no API Gateway authorizers (staff and member tokens
are checked in the app), no API keys or usage plans, no request validation or caching, no edge endpoint.
"""

from __future__ import annotations

import json
import re
from typing import Any

Json = dict[str, Any]

REST_API = "RestAPI"  # the logical id `chalice package` gives its REST API
HTTP_API = "HttpAPI"
PAYLOAD_FORMAT_VERSION = "1.0"
# Chalice's name for the API's id (an output, and a variable in the invoke permission's Fn::Sub).
REST_API_ID, HTTP_API_ID = "RestAPIId", "HttpApiId"


def _route(operation: Json, where: str) -> Json:
    integration = operation.get("x-amazon-apigateway-integration", {})
    if integration.get("type") != "aws_proxy":
        # A mock (CORS preflight) or a non-Lambda integration has no HTTP API equivalent here: refuse to
        # build a template that would drop a route.
        raise ValueError(f"{where}: only Lambda proxy integrations can move to the HTTP API")
    return {
        "responses": {"default": {"description": "the API handler's answer"}},
        "x-amazon-apigateway-integration": {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": integration["uri"],
            "payloadFormatVersion": PAYLOAD_FORMAT_VERSION,
        },
    }


def _renamed(node: Any) -> Any:
    """`node` with every reference to the REST API pointed at the HTTP API (Ref, GetAtt, ${RestAPI}), and the
    id's name changed with it."""
    text = (
        json.dumps(node).replace(REST_API_ID, HTTP_API_ID).replace(json.dumps(REST_API), json.dumps(HTTP_API))
    )
    return json.loads(re.sub(r"\$\{" + REST_API + r"([}.])", "${" + HTTP_API + r"\1", text))


def as_http_api(sam: Json) -> Json:
    """sam.json of `chalice package` with its REST API replaced by an HTTP API serving the same routes."""
    resources = dict(sam["Resources"])
    rest = resources.pop(REST_API)
    if rest["Type"] != "AWS::Serverless::Api":
        raise ValueError(f"{REST_API} is a {rest['Type']}, not the REST API chalice package writes")
    swagger = rest["Properties"]["DefinitionBody"]
    paths = {
        path: {method: _route(operation, f"{method.upper()} {path}") for method, operation in methods.items()}
        for path, methods in swagger["paths"].items()
    }
    http_api = {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {
            # The same stage name: the endpoint stays https://<id>.execute-api.<region>.<suffix>/<stage>/.
            "StageName": rest["Properties"]["StageName"],
            "FailOnWarnings": True,
            "DefinitionBody": {"openapi": "3.0.1", "info": swagger["info"], "paths": paths},
        },
    }
    rewritten = _renamed({**sam, "Resources": resources})
    rewritten["Resources"][HTTP_API] = http_api
    return rewritten
