from chalice import Blueprint

from chalicelib.api.request import decode_json
from chalicelib.api.responses import handled, json_response
from chalicelib.api.signed import verified_chain
from chalicelib.bootstrap import container
from chalicelib.contracts.booking_event import parse_booking_event

webhooks = Blueprint(__name__)
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain"]
MAX_BODY_BYTES = 256 * 1024


@webhooks.route("/v1/webhooks/bookings", methods=["POST"], content_types=JSON_TYPES)
@handled
def booking_webhook():
    chain_id, raw = verified_chain(webhooks.current_request, MAX_BODY_BYTES)
    event = parse_booking_event(decode_json(raw, detailed=True))
    answer = container().booking_events.receive(chain_id, event)
    return json_response(answer.status_code, answer.body)
