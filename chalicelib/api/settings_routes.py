"""What owners and managers set for issue 17's features (services/store_settings.py decides and answers)."""

from chalice import Blueprint

from chalicelib.api.staff import JSON_TYPES, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

settings_routes = Blueprint(__name__)
STORE = "/v1/stores/{store_id}/settings"
CHAIN = "/v1/chains/{chain_id}/settings"


@staff_route(settings_routes, STORE, methods=["GET"])
def store_settings(staff: Staff, store_id: str):
    return container().store_settings.store(staff, store_id)


@staff_route(settings_routes, STORE, methods=["PATCH"], body=True, content_types=JSON_TYPES)
def patch_store_settings(staff: Staff, body: dict, store_id: str):
    return container().store_settings.patch_store(staff, store_id, body)


@staff_route(settings_routes, CHAIN, methods=["GET"])
def chain_settings(staff: Staff, chain_id: str):
    return container().store_settings.chain(staff, chain_id)


@staff_route(settings_routes, CHAIN, methods=["PATCH"], body=True, content_types=JSON_TYPES)
def patch_chain_settings(staff: Staff, body: dict, chain_id: str):
    return container().store_settings.patch_chain(staff, chain_id, body)
