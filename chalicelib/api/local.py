"""Routes that exist only in the local stack (registered when CHAIRSIDE_LOCAL_DIR is set)."""

from chalice import Blueprint

from chalicelib.api.request import body_bytes, decode
from chalicelib.api.responses import handled
from chalicelib.bootstrap import container
from chalicelib.services import local_controls

local = Blueprint(__name__)
# `curl -d` sends form-encoded by default; these routes read JSON whatever the label says.
LOCAL_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]


@local.route("/v1/_local/clock", methods=["GET"])
@handled
def get_clock():
    return {"now": container().clock.now().isoformat()}


@local.route("/v1/_local/clock", methods=["POST"], content_types=LOCAL_TYPES)
@handled
def advance_clock():
    body = decode(body_bytes(local.current_request))
    return {"now": local_controls.advance_clock(container().clock, body).isoformat()}


@local.route("/v1/_local/faults", methods=["POST"], content_types=LOCAL_TYPES)
@handled
def inject_faults():
    body = decode(body_bytes(local.current_request))
    return {"faults": local_controls.inject_faults(container().settings.local_dir, body)}


@local.route("/v1/_local/demo-users", methods=["GET"])
@handled
def demo_users():
    """One-click sign-in for the staff console under `make run`: the demo staff tokens the stack wrote."""
    return {"users": local_controls.demo_users(container().settings.local_dir)}
