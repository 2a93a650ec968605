"""Following each pagination type across three pages, and output paths."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from apps.connectors.exceptions import InvalidParams
from apps.connectors.executor import execute_action

KEY = {"api_key": "page-key-123"}


def run(definition: dict[str, Any], params: dict[str, Any] | None = None, action: str = "list") -> Any:
    return execute_action(definition, action, params, credentials=KEY, allow_private=True)


def with_action(local_definition, action: dict[str, Any], **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return local_definition(actions={"list": action}, **extra)


def test_output_path_extracts_part_of_the_body(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(local_definition, {"method": "GET", "path": "/items", "output": {"path": "data.items"}})
    httpserver.expect_request("/v2/items").respond_with_json({"data": {"items": [1, 2]}, "meta": {}})
    assert run(definition).data == [1, 2]


def test_output_path_finds_keys_with_dots_and_list_indexes(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition, {"method": "GET", "path": "/items", "output": {"path": "value.0.@odata.id"}}
    )
    httpserver.expect_request("/v2/items").respond_with_json({"value": [{"@odata.id": "x1"}]})
    assert run(definition).data == "x1"


def test_a_missing_output_path_gives_none_and_an_empty_body_gives_none(
    httpserver: HTTPServer, local_definition
) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(local_definition, {"method": "GET", "path": "/items", "output": {"path": "nope"}})
    httpserver.expect_request("/v2/items").respond_with_json({"data": []})
    assert run(definition).data is None
    httpserver.clear()
    httpserver.expect_request("/v2/items").respond_with_data("", status=204)
    assert run(definition).data is None


def test_cursor_pagination_follows_three_pages(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/contacts",
            "output": {"path": "results"},
            "pagination": {
                "type": "cursor",
                "cursor_param": "after",
                "cursor_path": "paging.next.after",
                "results_path": "results",
                "limit_param": "limit",
                "page_size": 2,
            },
        },
    )
    base = {"limit": "2", "api_key": KEY["api_key"]}
    httpserver.expect_ordered_request("/v2/contacts", query_string=base).respond_with_json(
        {"results": [1, 2], "paging": {"next": {"after": "c2"}}}
    )
    httpserver.expect_ordered_request("/v2/contacts", query_string={**base, "after": "c2"}).respond_with_json(
        {"results": [3, 4], "paging": {"next": {"after": "c4"}}}
    )
    httpserver.expect_ordered_request("/v2/contacts", query_string={**base, "after": "c4"}).respond_with_json(
        {"results": [5]}
    )
    definition["auth"] = {"type": "api_key", "in": "query", "name": "api_key"}
    result = run(definition, {"_paginate": True})
    assert result.data == [1, 2, 3, 4, 5]
    assert result.pages == 3 and not result.truncated
    assert result.trace.pages == 3
    httpserver.check_assertions()


def test_cursor_in_the_body_from_the_last_item_with_has_more(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "POST",
            "path": "/search",
            "pagination": {
                "type": "cursor",
                "in": "body",
                "cursor_param": "page.after",
                "cursor_source": "last_item",
                "cursor_path": "id",
                "has_more_path": "has_more",
                "results_path": "data",
            },
        },
    )
    httpserver.expect_ordered_request("/v2/search", json={"q": "x"}).respond_with_json(
        {"data": [{"id": "a"}], "has_more": True}
    )
    httpserver.expect_ordered_request("/v2/search", json={"q": "x", "page": {"after": "a"}}).respond_with_json(
        {"data": [{"id": "b"}], "has_more": True}
    )
    httpserver.expect_ordered_request("/v2/search", json={"q": "x", "page": {"after": "b"}}).respond_with_json(
        {"data": [{"id": "c"}], "has_more": False}
    )
    result = run(definition, {"q": "x", "_paginate": True})
    assert [item["id"] for item in result.data] == ["a", "b", "c"]
    httpserver.check_assertions()


def test_page_pagination_counts_pages_until_a_short_one(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/tickets",
            "pagination": {
                "type": "page",
                "page_param": "page",
                "per_page_param": "per_page",
                "page_size": 2,
                "results_path": "",
            },
        },
    )
    for page, items in ((1, [1, 2]), (2, [3, 4]), (3, [5])):
        httpserver.expect_ordered_request(
            "/v2/tickets", query_string={"page": str(page), "per_page": "2"}
        ).respond_with_json(items)
    result = run(definition, {"_paginate": True})
    assert result.data == [1, 2, 3, 4, 5] and result.pages == 3
    httpserver.check_assertions()


def test_offset_pagination_advances_by_the_items_received(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/deals",
            "pagination": {
                "type": "offset",
                "offset_param": "start",
                "limit_param": "limit",
                "page_size": 2,
                "results_path": "data",
            },
        },
    )
    for start, items in ((0, ["a", "b"]), (2, ["c", "d"]), (4, [])):
        httpserver.expect_ordered_request(
            "/v2/deals", query_string={"start": str(start), "limit": "2"}
        ).respond_with_json({"data": items})
    result = run(definition, {"_paginate": True})
    assert result.data == ["a", "b", "c", "d"] and result.pages == 3
    httpserver.check_assertions()


def test_link_header_pagination_follows_rel_next(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/repos",
            "pagination": {"type": "link_header", "limit_param": "per_page", "page_size": 2},
        },
    )
    definition["auth"] = {"type": "api_key", "in": "query", "name": "key"}
    page2 = httpserver.url_for("/v2/repos") + "?per_page=2&page=2"
    page3 = "/v2/repos?per_page=2&page=3"  # relative links resolve against the request
    httpserver.expect_ordered_request(
        "/v2/repos", query_string={"per_page": "2", "key": KEY["api_key"]}
    ).respond_with_json([1, 2], headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'})
    httpserver.expect_ordered_request(
        "/v2/repos", query_string={"per_page": "2", "page": "2", "key": KEY["api_key"]}
    ).respond_with_json([3, 4], headers={"Link": f'<{page3}>; rel="next"'})
    httpserver.expect_ordered_request(
        "/v2/repos", query_string={"per_page": "2", "page": "3", "key": KEY["api_key"]}
    ).respond_with_json([5], headers={"Link": '</v2/repos?page=1>; rel="first"'})
    result = run(definition, {"_paginate": True})
    assert result.data == [1, 2, 3, 4, 5] and result.pages == 3
    assert KEY["api_key"] not in result.trace.url
    httpserver.check_assertions()


def test_next_url_pagination_follows_a_body_field(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/me/messages",
            "pagination": {"type": "next_url", "next_url_path": "@odata.nextLink", "results_path": "value"},
        },
    )
    httpserver.expect_ordered_request("/v2/me/messages").respond_with_json(
        {"value": [1], "@odata.nextLink": httpserver.url_for("/v2/me/messages") + "?$skip=1"}
    )
    httpserver.expect_ordered_request("/v2/me/messages", query_string={"$skip": "1"}).respond_with_json(
        {"value": [2], "@odata.nextLink": "/v2/me/messages?$skip=2"}
    )
    httpserver.expect_ordered_request("/v2/me/messages", query_string={"$skip": "2"}).respond_with_json({"value": [3]})
    result = run(definition, {"_paginate": True})
    assert result.data == [1, 2, 3]
    httpserver.check_assertions()


def test_next_links_to_another_origin_are_not_followed(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/items",
            "pagination": {"type": "next_url", "next_url_path": "next", "results_path": "items"},
        },
    )
    httpserver.expect_request("/v2/items").respond_with_json({"items": [1], "next": "https://collector.example/steal"})
    result = run(definition, {"_paginate": True})
    assert result.data == [1] and result.pages == 1


def test_max_pages_stops_and_says_so(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {"method": "GET", "path": "/feed", "pagination": {"type": "page", "page_param": "p", "results_path": "items"}},
    )
    httpserver.expect_request("/v2/feed").respond_with_json({"items": [0]})
    result = run(definition, {"_paginate": True, "_max_pages": 2})
    assert result.pages == 2 and result.truncated and result.data == [0, 0]


def test_a_repeated_cursor_ends_the_loop(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/loop",
            "pagination": {"type": "cursor", "cursor_param": "c", "cursor_path": "next", "results_path": "items"},
        },
    )
    httpserver.expect_request("/v2/loop").respond_with_json({"items": [1], "next": "same"})
    result = run(definition, {"_paginate": True, "_max_pages": 50})
    assert result.pages == 2 and not result.truncated


def test_without_paginate_only_one_page_is_fetched(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition,
        {
            "method": "GET",
            "path": "/contacts",
            "output": {"path": "results"},
            "pagination": {"type": "cursor", "cursor_param": "after", "cursor_path": "next", "results_path": "results"},
        },
    )
    httpserver.expect_request("/v2/contacts").respond_with_json({"results": [1], "next": "c1"})
    result = run(definition)
    assert result.data == [1] and result.pages == 1


@pytest.mark.parametrize("bad", [0, -1, "5", True, 1.5])
def test_max_pages_must_be_a_positive_integer(local_definition, bad: Any) -> None:  # type: ignore[no-untyped-def]
    definition = with_action(
        local_definition, {"method": "GET", "path": "/x", "pagination": {"type": "page", "page_param": "p"}}
    )
    with pytest.raises(InvalidParams):
        run(definition, {"_paginate": True, "_max_pages": bad})
