from chalice import Blueprint

from chalicelib.api.responses import json_response
from chalicelib.api.staff import query_param, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

campaigns = Blueprint(__name__)
BASE = "/v1/chains/{chain_id}/campaigns"


def _param(name: str) -> str | None:
    return query_param(campaigns, name)


@staff_route(campaigns, BASE + "/preview", methods=["POST"], body=True)
def preview_campaign(staff: Staff, body: dict, chain_id: str):
    return container().campaigns.preview(staff, chain_id, body)


@staff_route(campaigns, BASE, methods=["POST"], body=True)
def create_campaign(staff: Staff, body: dict, chain_id: str):
    idempotency_key = campaigns.current_request.headers.get("idempotency-key")
    status, answer = container().campaigns.create(staff, chain_id, body, idempotency_key)
    return json_response(status, answer)


@staff_route(campaigns, BASE + "/{campaign_id}", methods=["GET"])
def get_campaign(staff: Staff, chain_id: str, campaign_id: str):
    return container().campaigns.get(staff, chain_id, campaign_id)


@staff_route(campaigns, BASE + "/{campaign_id}/results", methods=["GET"])
def campaign_results(staff: Staff, chain_id: str, campaign_id: str):
    return container().campaigns.results(
        staff, chain_id, campaign_id, _param("status"), _param("cursor"), _param("limit")
    )


@staff_route(campaigns, BASE + "/{campaign_id}/resend", methods=["POST"])
def resend_campaign_failures(staff: Staff, chain_id: str, campaign_id: str):
    return container().campaigns.resend_failures(staff, chain_id, campaign_id)
