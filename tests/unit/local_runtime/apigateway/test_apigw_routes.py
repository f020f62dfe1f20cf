"""local_runtime.apigateway.routes: which route a request reaches, with API Gateway's precedence."""

from __future__ import annotations

from local_runtime.apigateway import RouteTable
from tests.unit.local_runtime.apigateway.apigw_support import fixture_routes, route


def _name(table: RouteTable, method: str, path: str) -> str | None:
    found = table.match(method, path)
    return found.route.event_name if found else None


def test_aws_documented_http_api_example() -> None:
    # AWS's "Routing API requests" example for HTTP APIs, request by request.
    table = RouteTable([
        route("/pets/dog/1", "GET", kind="HTTP"),
        route("/pets/dog/{id}", "GET", kind="HTTP"),
        route("/pets/{proxy+}", "GET", kind="HTTP"),
        route("/{proxy+}", "ANY", kind="HTTP"),
        route("$default", "ANY", kind="HTTP"),
    ])
    assert _name(table, "GET", "/pets/dog/1") == "/pets/dog/1"  # the static route
    assert _name(table, "GET", "/pets/dog/2") == "/pets/dog/{id}"  # a full match
    assert _name(table, "GET", "/pets/cat/1") == "/pets/{proxy+}"  # no full match: the GET greedy route
    assert _name(table, "POST", "/test/5") == "/{proxy+}"  # ANY matches every method; greedy beats $default
    assert _name(table, "POST", "/") == "$default"  # a greedy variable needs at least one segment


def test_http_api_full_match_beats_a_longer_literal_prefix_with_greedy_variable() -> None:
    table = RouteTable([route("/a/{proxy+}", "GET", kind="HTTP"), route("/{id}/x", "GET", kind="HTTP")])
    assert _name(table, "GET", "/a/x") == "/{id}/x"


def test_rest_literal_beats_parameter_beats_greedy() -> None:
    table = RouteTable([route("/{proxy+}"), route("/items/{id}"), route("/items/special"), route("/items"),
                        route("/")])
    assert _name(table, "GET", "/items/special") == "/items/special"
    assert _name(table, "GET", "/items/42") == "/items/{id}"
    assert _name(table, "GET", "/items") == "/items"
    assert _name(table, "GET", "/items/42/parts") == "/{proxy+}"
    assert _name(table, "GET", "/") == "/"
    # a REST API walks its resource tree from the root: /a's greedy child before /{id}/x
    tree = RouteTable([route("/a/{proxy+}"), route("/{id}/x")])
    assert _name(tree, "GET", "/a/x") == "/a/{proxy+}"


def test_method_beats_any_and_other_methods_do_not_match() -> None:
    table = RouteTable([route("/items", "ANY", name="any"), route("/items", "GET", name="get"),
                        route("/orders", "POST", name="post")])
    assert _name(table, "GET", "/items") == "get"
    assert _name(table, "DELETE", "/items") == "any"
    assert _name(table, "GET", "/orders") is None
    assert _name(table, "post", "/orders") == "post"


def test_path_parameters_are_decoded_and_the_path_kept_as_sent() -> None:
    table = RouteTable([route("/items/{id}"), route("/files/{proxy+}")])
    found = table.match("GET", "/items/a%20b%23c")
    assert found is not None
    assert (found.path, found.path_parameters, found.stage_prefix) == ("/items/a%20b%23c", {"id": "a b#c"}, "")
    greedy = table.match("GET", "/files/x/y%2Fz/")
    assert greedy is not None and greedy.path_parameters == {"proxy": "x/y/z"}
    assert table.match("GET", "/items/") is None  # {id} needs a non-empty segment
    assert _name(table, "GET", "/it%65ms/1") == "/items/{id}"  # literals compare decoded


def test_trailing_slash_is_ignored() -> None:
    table = RouteTable([route("/items")])
    found = table.match("GET", "/items/")
    assert found is not None and found.path == "/items/"


def test_rest_stage_prefix_is_accepted_and_stripped() -> None:
    routes = fixture_routes()
    table = RouteTable([routes["GetItem"], routes["Hello"]])  # stages "test" and "Prod"
    found = table.match("GET", "/test/items/7")
    assert found is not None
    assert (found.route.event_name, found.path, found.stage_prefix, found.path_parameters) == (
        "GetItem", "/items/7", "/test", {"id": "7"})
    assert _name(table, "GET", "/items/7") == "GetItem"
    assert _name(table, "GET", "/Prod/hello") == "Hello"
    assert table.match("GET", "/test/hello") is None  # another stage's route is not under this stage
    root = RouteTable([route("/")])
    staged_root = root.match("GET", "/Prod")
    assert staged_root is not None and (staged_root.path, staged_root.stage_prefix) == ("/", "/Prod")


def test_unmatched_answer_belongs_to_the_table_kind() -> None:
    routes = fixture_routes()
    assert RouteTable([routes["GetItem"], routes["GetOrder"]]).kind == "REST"
    assert RouteTable([routes["GetOrder"]]).kind == "HTTP"
    table = RouteTable([routes["GetOrder"], routes["Default"]])
    assert _name(table, "GET", "/orders/1") == "GetOrder"
    default = table.match("PUT", "/anything/at/all")
    assert default is not None and default.route.event_name == "Default" and default.path == "/anything/at/all"


def test_template_order_breaks_ties_between_apis() -> None:
    table = RouteTable([route("/x", name="first"), route("/x", name="second", api_logical_id="Other")])
    assert _name(table, "GET", "/x") == "first"
