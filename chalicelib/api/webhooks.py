from datetime import UTC, datetime

from chalice import Blueprint

from chalicelib.api.responses import handled, json_response
from chalicelib.bootstrap import container

webhooks = Blueprint(__name__)
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain"]


@webhooks.route("/v1/webhooks/bookings", methods=["POST"], content_types=JSON_TYPES)
@handled
def booking_webhook():
    request = webhooks.current_request
    answer = container().booking_events.receive(dict(request.headers), request.raw_body or b"",
                                                datetime.now(UTC))
    return json_response(answer.status_code, answer.body)
