"""The catalogue (issue 14): staff set a store, its services and stylists; anyone reads a store's catalogue.

Thin: the staff token (api/staff.py) and the JSON body are read here; services/catalogue.py decides and answers
(201 created, 200 updated or unchanged).
"""

from chalice import Blueprint

from chalicelib.api.responses import handled, json_response
from chalicelib.api.staff import JSON_TYPES, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

catalogue = Blueprint(__name__)


@staff_route(
    catalogue, "/v1/chains/{chain_id}/stores/{store_id}", methods=["PUT"], body=True, content_types=JSON_TYPES
)
def put_store(staff: Staff, body: dict, chain_id: str, store_id: str):
    return json_response(*container().catalogue.put_store(staff, chain_id, store_id, body))


@staff_route(
    catalogue, "/v1/stores/{store_id}/services/{code}", methods=["PUT"], body=True, content_types=JSON_TYPES
)
def put_service(staff: Staff, body: dict, store_id: str, code: str):
    return json_response(*container().catalogue.put_service(staff, store_id, code, body))


@staff_route(
    catalogue,
    "/v1/stores/{store_id}/stylists/{stylist_id}",
    methods=["PUT"],
    body=True,
    content_types=JSON_TYPES,
)
def put_stylist(staff: Staff, body: dict, store_id: str, stylist_id: str):
    return json_response(*container().catalogue.put_stylist(staff, store_id, stylist_id, body))


@catalogue.route("/v1/stores/{store_id}/catalog", methods=["GET"])
@handled
def store_catalog(store_id: str):
    """Public: no token."""
    return container().catalogue.public(store_id)
