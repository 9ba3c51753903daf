from chalice import Blueprint

from chalicelib.api.responses import handled, json_response
from chalicelib.bootstrap import container
from chalicelib.services.local_controls import decode

campaigns = Blueprint(__name__)
BASE = "/v1/chains/{chain_id}/campaigns"
JSON_TYPES = ["application/json", "text/plain"]


def _auth() -> str | None:
    return campaigns.current_request.headers.get("authorization")


def _param(name: str) -> str | None:
    return (campaigns.current_request.query_params or {}).get(name)


@campaigns.route(BASE + "/preview", methods=["POST"], content_types=JSON_TYPES)
@handled
def preview_campaign(chain_id: str):
    return container().campaigns.preview(_auth(), chain_id, decode(campaigns.current_request.raw_body))


@campaigns.route(BASE, methods=["POST"], content_types=JSON_TYPES)
@handled
def create_campaign(chain_id: str):
    request = campaigns.current_request
    status, body = container().campaigns.create(_auth(), chain_id, decode(request.raw_body),
                                                 request.headers.get("idempotency-key"))
    return json_response(status, body)


@campaigns.route(BASE + "/{campaign_id}", methods=["GET"])
@handled
def get_campaign(chain_id: str, campaign_id: str):
    return container().campaigns.get(_auth(), chain_id, campaign_id)


@campaigns.route(BASE + "/{campaign_id}/results", methods=["GET"])
@handled
def campaign_results(chain_id: str, campaign_id: str):
    return container().campaigns.results(_auth(), chain_id, campaign_id, _param("status"), _param("cursor"),
                                         _param("limit"))


@campaigns.route(BASE + "/{campaign_id}/resend", methods=["POST"], content_types=JSON_TYPES)
@handled
def resend_campaign_failures(chain_id: str, campaign_id: str):
    return container().campaigns.resend_failures(_auth(), chain_id, campaign_id)
