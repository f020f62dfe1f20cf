"""local_runtime.apigateway.events: proxy events checked field by field against AWS's documented examples."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from local_runtime.apigateway import HttpRequest, RouteTable, build_event
from local_runtime.apigateway.events import is_binary
from tests.unit.local_runtime.apigateway.apigw_support import request, route

REQUEST_ID = "deef4878-7910-11e6-8f14-25afc3e9ae33"


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC).timestamp()


def _event(http: HttpRequest, table: RouteTable, account: str = "123456789012", now_s: float = 1_700_000_000.0,
           request_id: str = REQUEST_ID) -> dict:
    match = table.match(http.method, http.raw_path)
    assert match is not None
    return build_event(http, match, account_id=account, request_id=request_id, now_s=now_s)


def test_rest_payload_1_0_matches_the_documented_proxy_example() -> None:
    # AWS's "Input format of a Lambda function for proxy integration" example:
    # POST /testStage/hello/world?name=me (plus a repeated parameter) on ANY /{proxy+}.
    table = RouteTable([route("/{proxy+}", "ANY", api_id="gy415nuibc", stage="testStage",
                             stage_variables={"stageVariableName": "stageVariableValue"})])
    host = "gy415nuibc.execute-api.us-east-1.amazonaws.com"
    sent = [("Accept", "*/*"), ("Content-Type", "application/json"), ("headerName", "headerValue"), ("Host", host),
            ("User-Agent", "PostmanRuntime/2.4.5"), ("X-Forwarded-Proto", "spoofed")]
    http = HttpRequest(method="POST", raw_path="/testStage/hello/world",
                       query_string="name=me&multivalueName=you&multivalueName=me", headers=sent,
                       body=b'{\r\n\t"a": 1\r\n}', source_ip="192.168.196.186", port=443, scheme="https")
    event = _event(http, table, account="12345678912", now_s=1519166937.665)

    context = event["requestContext"]
    assert len(context.pop("resourceId")) == 6
    assert context == {
        "accountId": "12345678912",
        "apiId": "gy415nuibc",
        "domainName": host,
        "domainPrefix": "gy415nuibc",
        "extendedRequestId": REQUEST_ID,
        "httpMethod": "POST",
        "identity": {
            "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
            "principalOrgId": None, "sourceIp": "192.168.196.186", "user": None,
            "userAgent": "PostmanRuntime/2.4.5", "userArn": None,
        },
        "path": "/testStage/hello/world",
        "protocol": "HTTP/1.1",
        "requestId": REQUEST_ID,
        "requestTime": "20/Feb/2018:22:48:57 +0000",
        "requestTimeEpoch": 1519166937665,
        "resourcePath": "/{proxy+}",
        "stage": "testStage",
    }
    headers = {
        "Accept": "*/*", "Content-Type": "application/json", "headerName": "headerValue", "Host": host,
        "User-Agent": "PostmanRuntime/2.4.5", "X-Forwarded-For": "192.168.196.186", "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",  # API Gateway's, not the client's
    }
    assert event == {
        "resource": "/{proxy+}",
        "path": "/hello/world",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"name": "me", "multivalueName": "me"},
        "multiValueQueryStringParameters": {"name": ["me"], "multivalueName": ["you", "me"]},
        "pathParameters": {"proxy": "hello/world"},
        "stageVariables": {"stageVariableName": "stageVariableValue"},
        "requestContext": context,
        "body": '{\r\n\t"a": 1\r\n}',
        "isBase64Encoded": False,
    }


def test_rest_payload_1_0_absent_parts_are_null_and_last_header_value_wins() -> None:
    table = RouteTable([route("/items", "GET", stage="dev")])
    sent = [("Host", "localhost:3000"), ("X-Tag", "a"), ("X-Tag", "b"), ("Cookie", "s=1")]
    event = _event(request("GET", "/items", headers=sent), table)
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["headers"]["X-Tag"] == "b" and event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["headers"]["Cookie"] == "s=1"  # 1.0 keeps cookies in the headers
    assert "version" not in event  # REST events have no version field
    assert event["requestContext"]["path"] == "/dev/items"  # with the stage, as on an execute-api URL
    assert (event["requestContext"]["domainName"], event["requestContext"]["identity"]["userAgent"]) == (
        "localhost", None)


def test_rest_path_stays_percent_encoded_and_query_is_decoded_without_plus() -> None:
    table = RouteTable([route("/users/{id}", "GET")])
    event = _event(request("GET", "/users/a%40b", query="email=x%2By%40z&q=a+b&flag&=v"), table)
    assert event["path"] == "/users/a%40b"
    assert event["pathParameters"] == {"id": "a@b"}
    assert event["queryStringParameters"] == {"email": "x+y@z", "q": "a+b", "flag": "", "": "v"}


def test_http_api_payload_2_0_matches_the_documented_example() -> None:
    # AWS's payload format 2.0 example: a $default route, repeated header and query values, two cookies.
    table = RouteTable([route("$default", "ANY", kind="HTTP", api_id="api-id",
                             stage_variables={"stageVariable1": "value1", "stageVariable2": "value2"})])
    sent = [("Header1", "value1"), ("Header2", "value1"), ("Header2", "value2"), ("Cookie", "cookie1; cookie2"),
            ("Host", "id.execute-api.us-east-1.amazonaws.com"), ("User-Agent", "agent"),
            ("Content-Type", "text/plain")]
    http = HttpRequest(method="POST", raw_path="/my/path",
                       query_string="parameter1=value1&parameter1=value2&parameter2=value", headers=sent,
                       body=b"Hello from Lambda", source_ip="203.0.113.9", port=443, scheme="https")
    now_s = _epoch("12/Mar/2020:19:03:58 +0000") + 0.39
    event = _event(http, table, now_s=now_s, request_id="id")
    assert event == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {
            "header1": "value1", "header2": "value1,value2", "host": "id.execute-api.us-east-1.amazonaws.com",
            "user-agent": "agent", "content-type": "text/plain", "x-forwarded-for": "203.0.113.9",
            "x-forwarded-port": "443", "x-forwarded-proto": "https",
        },
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {"method": "POST", "path": "/my/path", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "agent"},
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": int(now_s * 1000),
        },
        "body": "Hello from Lambda",
        "isBase64Encoded": False,
        "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
    }


def test_http_api_payload_2_0_route_key_path_parameters_and_absent_fields() -> None:
    table = RouteTable([route("/items/{id}", "GET", kind="HTTP")])
    event = _event(request("GET", "/items/a%20b"), table)
    assert (event["routeKey"], event["requestContext"]["routeKey"]) == ("GET /items/{id}", "GET /items/{id}")
    assert event["pathParameters"] == {"id": "a b"}
    assert event["rawPath"] == "/items/a b" == event["requestContext"]["http"]["path"]  # HTTP APIs decode it
    for absent in ("cookies", "queryStringParameters", "body", "stageVariables"):
        assert absent not in event
    assert event["rawQueryString"] == "" and event["isBase64Encoded"] is False


def test_http_api_payload_1_0_has_a_version_and_lower_case_headers() -> None:
    table = RouteTable([route("/legacy", "GET", kind="HTTP", payload_format="1.0")])
    event = _event(request("GET", "/legacy", headers=[("Host", "h"), ("X-A", "1"), ("x-a", "2")]), table)
    assert event["version"] == "1.0"
    assert event["headers"]["x-a"] == "2" and event["multiValueHeaders"]["x-a"] == ["1", "2"]
    assert (event["resource"], event["requestContext"]["resourcePath"]) == ("/legacy", "/legacy")
    assert (event["requestContext"]["stage"], event["requestContext"]["path"]) == ("$default", "/legacy")
    assert event["requestContext"]["resourceId"] is None


def test_binary_bodies_arrive_base64_encoded() -> None:
    png = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0xFF, 0x00])
    rest = RouteTable([route("/up", "POST", binary_media_types=("image/png",))])
    binary = _event(request("POST", "/up", headers=[("Content-Type", "application/octet-stream")], body=png), rest)
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == png  # not UTF-8
    declared = _event(request("POST", "/up", headers=[("Content-Type", "image/png")], body=b"text"), rest)
    assert (declared["body"], declared["isBase64Encoded"]) == (base64.b64encode(b"text").decode(), True)
    text = _event(request("POST", "/up", headers=[("Content-Type", "text/plain; charset=utf-8")],
                          body="h\u00e9".encode()), rest)
    assert (text["body"], text["isBase64Encoded"]) == ("h\u00e9", False)


def test_binary_media_type_rules() -> None:
    rest = route("/", binary_media_types=("image/*",))
    assert is_binary("image/gif", b"x", rest) and not is_binary("text/html", b"x", rest)
    assert is_binary(None, b"x", route("/", binary_media_types=("*/*",)))
    http = route("/", kind="HTTP")
    for textual in ("application/json", "text/csv; charset=utf-8", "application/vnd.api+json", "application/xml"):
        assert not is_binary(textual, b"{}", http)
    # HTTP APIs pass form posts and untyped bodies base64-encoded.
    assert is_binary("application/x-www-form-urlencoded", b"a=1", http)
    assert is_binary(None, b"a", http)
